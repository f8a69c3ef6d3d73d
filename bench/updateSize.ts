import * as A from '@automerge/automerge';
import { generateKeyPair } from '../src/core/crypto/ed25519';
import { deviceActor, OwnShop, type CatalogDraft } from '../src/core/node/ownShop';
import { acceptBundle, type VerifiedVault } from '../src/core/vault/acceptBundle';
import { VAULT_LIMITS } from '../src/core/vault/automergeCost';
import { decodeCompactUpdate, encodeCompactUpdate } from '../src/core/vault/compactUpdate';
import { certifyDevice, encodeDeviceCertificate } from '../src/core/vault/deviceCertificate';
import type { ShopKeys } from '../src/core/vault/shopKeys';
import type { Product, SharedVaultDoc } from '../src/core/vault/vaultDocuments';
import { toHex } from '../src/core/wire/hex';
import { seededBelow as random } from '../src/core/seededRandom';

/** A LoRa packet's payload (SF7–SF9 at 125 kHz in most regions); a compact update leaves room for the radio's envelope. */
const LORA_PACKET = 233;
const PRODUCTS = 300;
/** Edits before the measured ones in the long-lived shop: past 2^14, so seq, startOp, counters and preds take 3 LEB128 bytes. */
const HISTORY = 20_000;
const options = { limits: VAULT_LIMITS };


const next = random(2026);
const hex16 = () => Array.from({ length: 8 }, () => next(256).toString(16).padStart(2, '0')).join('');
const milli = (max: number) => next(max * 1000) / 1000;

function catalog(now: number): Product[] {
  return Array.from({ length: PRODUCTS }, (_, i) => {
    const stock = milli(1_000_000);
    const price = 1 + next(1_000_000_000);
    return {
      id: hex16(),
      name: `Product ${i}`,
      sku: `SKU-${i}`,
      unit: 'kg',
      price,
      stock,
      costPrice: null,
      supplierNotes: '',
      shelf: '',
      batches: [],
      offer: { quantity: stock, price },
      createdAt: now,
      updatedAt: now,
    };
  });
}

interface Till {
  shop: OwnShop;
  now: number;
}

/** One committed edit: its single shared change and the device's statements before and after. */
function edit(till: Till, step: (draft: CatalogDraft) => string[], share?: (draft: SharedVaultDoc) => void) {
  till.now += 61_000;
  const previous = till.shop.ownStatement;
  const heads = A.getHeads(till.shop.doc);
  const result = till.shop.edit((draft) => ({ result: undefined, touched: step(draft) }), share, till.now);
  till.shop.commit(result);
  return { changes: A.getChangesSince(till.shop.doc, heads), statement: till.shop.ownStatement!, previous };
}

/** The realistic single-field edits: prices across their range (to 1e12 minor units) and stock moves, recounts and offers to 3 decimals. */
function edits(ids: string[]): ((draft: CatalogDraft) => string[])[] {
  const price = (id: string, value: number) => (d: CatalogDraft) => (d.put({ ...d.products.get(id)!, offer: { ...d.products.get(id)!.offer!, price: value } }), [id]);
  const offerQuantity = (id: string, value: number) => (d: CatalogDraft) => (d.put({ ...d.products.get(id)!, offer: { ...d.products.get(id)!.offer!, quantity: value } }), [id]);
  const move = (id: string, delta: number) => (d: CatalogDraft) => (d.move(id, delta), [id]);
  const recount = (id: string, counted: number) => (d: CatalogDraft) => (d.recount(id, counted), [id]);
  const pick = () => ids[next(ids.length)]!;
  return [
    price(pick(), 1),
    price(pick(), 250),
    price(pick(), 123_456),
    price(pick(), 987_654_321_098),
    price(pick(), 999_999_999_999),
    price(pick(), 1_000_000_000_000),
    move(pick(), -0.125),
    move(pick(), -1),
    move(pick(), -12.345),
    (d) => {
      const id = pick();
      d.recount(id, 999_999_999.999);
      d.put({ ...d.products.get(id)!, offer: { ...d.products.get(id)!.offer!, quantity: 999_999_999.999 } });
      return [id];
    },
    recount(pick(), 0.001),
    offerQuantity(pick(), 0.5),
    ...Array.from({ length: 8 }, () => (next(2) ? price(pick(), 1 + next(1_000_000_000_000)) : move(pick(), -(0.001 + milli(50))))),
  ];
}

/** A shop with its catalog offered, and a second till of it; `history` edits first when asked. */
function shop(history: number): { first: Till; second: Till; ids: string[] } {
  const now = Date.UTC(2026, 0, 1);
  const device = generateKeyPair();
  const { shop: created } = OwnShop.create(device, { name: 'Spice Stall', area: 'Old Market', currency: 'EUR' }, 'Row 3, stall 12', now);
  const first: Till = { shop: created, now };
  const products = catalog(now);
  const ids = products.map((p) => p.id);
  edit(first, (d) => (d.putMany(products, hex16()), ids));
  if (history > 0) {
    // Earlier edits, made directly on the document (as many edits would), then signed at the counter they would have reached.
    let doc = A.clone(first.shop.doc, { actor: deviceActor(device.publicKey) });
    for (let i = 0; i < history; i++) {
      // Each product's last write is its catalog price again, so the offers stay in step with the catalog.
      const product = products[i % products.length]!;
      const price = i >= history - products.length ? product.price : product.price + 1 + (i % 997);
      doc = A.change(doc, { time: Math.floor((now + i * 1000) / 1000) }, (d) => void (d.offerFields[`${product.id}/p`] = price));
    }
    first.shop = OwnShop.fromDocuments(first.shop.keys, doc, first.shop.privateDoc, [], history).shop;
  }
  const secondKey = generateKeyPair();
  const keys: ShopKeys = { vaultId: first.shop.keys.vaultId, device: secondKey, certificate: certifyDevice(first.shop.keys.root!, secondKey.publicKey, now), catalogKey: first.shop.keys.catalogKey };
  edit(first, () => [], (d) => {
    d.devices[toHex(secondKey.publicKey)] = { name: new A.ImmutableString('Second till'), certificate: encodeDeviceCertificate(keys.certificate) };
  });
  const actor = deviceActor(secondKey.publicKey);
  const { shop: other } = OwnShop.fromDocuments(keys, A.clone(first.shop.doc, { actor }), A.clone(first.shop.privateDoc, { actor }), first.shop.statements);
  first.shop.statements = other.statements;
  return { first, second: { shop: other, now: first.now }, ids };
}

/** Sizes of the compact updates of `steps` made on `till`, each decoded and applied by a receiver (so every one measured is valid). */
function measure(till: Till, steps: ((draft: CatalogDraft) => string[])[]): number[] {
  const held = acceptBundle(undefined, { statements: till.shop.statements, snapshot: true, changes: [A.save(till.shop.doc)] }, options);
  if (!held.accepted) throw new Error(held.reason);
  let receiver: VerifiedVault = held.vault;
  const sizes: number[] = [];
  for (const step of steps) {
    const sent = edit(till, step);
    if (sent.changes.length !== 1) throw new Error(`an edit made ${sent.changes.length} changes`);
    const ops = A.decodeChange(sent.changes[0]!).ops.length;
    if (ops !== 1) throw new Error(`an edit made ${ops} operations, not one field`);
    const update = encodeCompactUpdate(sent.changes[0]!, sent.statement, sent.previous);
    const decoded = decodeCompactUpdate(update, { vault: () => ({ vaultId: receiver.statements[0]!.vaultId, statements: receiver.statements }) });
    if ('error' in decoded) throw new Error(decoded.error);
    const applied = acceptBundle(receiver, { statements: [decoded.statement], snapshot: false, changes: [decoded.change] }, options);
    if (!applied.accepted) throw new Error(applied.reason);
    receiver = applied.vault;
    sizes.push(update.length);
  }
  return sizes;
}

/** The largest compact update over realistic single stock and price changes, against a LoRa packet. */
export async function updateSize(): Promise<void> {
  const fresh = shop(0);
  const long = shop(HISTORY);
  const sizes = [
    ...measure(fresh.first, edits(fresh.ids)),
    ...measure(fresh.second, edits(fresh.ids)),
    ...measure(long.first, edits(long.ids)),
    ...measure(long.second, edits(long.ids)),
  ];
  const sorted = [...sizes].sort((a, b) => a - b);
  const largest = sorted[sorted.length - 1]!;
  console.log(
    `# update-size: compact signed updates (compactUpdate.ts) of ${sizes.length} single stock and price changes, each decoded and applied: a fresh shop and one with ${HISTORY} edits of history, on its first till and on a second till (another actor in the change); 16-hex product ids, prices up to 1e12 minor units, quantities to 3 decimals, Automerge time set; smallest ${sorted[0]} bytes, median ${sorted[Math.floor(sorted.length / 2)]}; ref = one LoRa packet`,
  );
  console.log(`BENCH update-size ${largest} bytes ref=${LORA_PACKET} ratio=${(largest / LORA_PACKET).toFixed(2)}`);
}
