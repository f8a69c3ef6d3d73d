import * as A from '@automerge/automerge';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { generateKeyPair, keyPairFromSecret, sign } from '../crypto/ed25519';
import { deviceActor, OwnShop } from '../node/ownShop';
import { bytesEqual, concatBytes, fromHex, toHex } from '../wire/hex';
import type { Product, SharedVaultDoc } from './vaultDocuments';
import { acceptBundle, type VerifiedVault } from './acceptBundle';
import { VAULT_LIMITS } from './automergeCost';
import {
  CompactUpdateError,
  decodeCompactUpdate,
  encodeCompactUpdate,
  MAX_COMPACT_UPDATE_BYTES,
  type CompactUpdateLookup,
} from './compactUpdate';
import { certifyDevice, encodeDeviceCertificate } from './deviceCertificate';
import { signHeads, signedHeadsStatement, type SignedHeads } from './signedHeads';
import type { ShopKeys } from './shopKeys';

const options = { limits: VAULT_LIMITS };
const T0 = 1767225600; // 2026-01-01T00:00:00Z, seconds (Automerge change time)
const PRODUCT = '0123456789abcdef';

/** A lookup over the verified vaults a receiver holds, by the first 8 bytes of the vault id. */
function lookupOf(...vaults: VerifiedVault[]): CompactUpdateLookup & { calls: number } {
  const lookup = {
    calls: 0,
    vault(prefix: Uint8Array) {
      lookup.calls += 1;
      const vault = vaults.find((v) => bytesEqual(v.statements[0]!.vaultId.subarray(0, 8), prefix));
      return vault && { vaultId: vault.statements[0]!.vaultId, statements: vault.statements };
    },
  };
  return lookup;
}

function accepted(outcome: ReturnType<typeof acceptBundle>): VerifiedVault {
  if (!outcome.accepted) throw new Error(outcome.reason);
  return outcome.vault;
}

/** The test vector: fixed keys, a fixed first document, one price change at a fixed time. */
function vector() {
  const root = keyPairFromSecret(new Uint8Array(32).fill(1));
  const device = keyPairFromSecret(new Uint8Array(32).fill(2));
  const certificate = certifyDevice(root, device.publicKey, T0 * 1000);
  const actor = deviceActor(device.publicKey);
  const first = A.change(A.init<SharedVaultDoc>({ actor }), { time: T0 }, (d) => {
    d.schema = 2;
    d.profile = { name: new A.ImmutableString('Vector Stall'), area: new A.ImmutableString('Old Market'), currency: new A.ImmutableString('EUR') };
    d.devices = { [toHex(device.publicKey)]: { name: new A.ImmutableString('Till'), certificate: encodeDeviceCertificate(certificate) } };
    d.revocations = {};
    d.offerSets = {};
    d.offerFields = {
      [`${PRODUCT}/n`]: new A.ImmutableString('Saffron'),
      [`${PRODUCT}/s`]: new A.ImmutableString('SAF-1'),
      [`${PRODUCT}/u`]: new A.ImmutableString('g'),
      [`${PRODUCT}/q`]: 250.5,
      [`${PRODUCT}/p`]: 1200,
      [`${PRODUCT}/e`]: null,
    };
  });
  const previous = signHeads(device, certificate, 1, A.getHeads(first));
  const second = A.change(A.clone(first, { actor }), { time: T0 + 60 }, (d) => void (d.offerFields[`${PRODUCT}/p`] = 1350));
  const statement = signHeads(device, certificate, 2, A.getHeads(second));
  const [change] = A.getChanges(first, second);
  return { root, device, certificate, first, second, previous, statement, change: change! };
}

function receiverOf(first: A.Doc<SharedVaultDoc>, previous: SignedHeads): VerifiedVault {
  return accepted(acceptBundle(undefined, { statements: [previous], snapshot: true, changes: [A.save(first)] }, options));
}

/** The change chunk Automerge 3.5 writes for the vector's price change (127 bytes). */
const VECTOR_CHANGE =
  '856f4a83' + '5c86311a' + '01' + '75' + // magic, checksum, change chunk, body length 117
  '01' + '989c3b5a5b3a74b4381050bd7172bdcdc930bc812b4251360c0d11c4af59656d' + // 1 dep: the previous statement's head
  '10' + '8139770ea87d175f56a35466c34c7ecc' + // actor: the first 16 bytes of the device key
  '02' + '13' + 'bcf2d6ca06' + '00' + '00' + // seq 2, startOp 19, time 1767225660, no message, no other actors
  '0a' + '0102' + '0202' + '1514' + '3401' + '4202' + '5602' + '5702' + '7002' + '7102' + '7302' + // 10 op columns (spec, length)
  '7f00' + '7f0c' + '7f12' + '303132333435363738396162636465662f70' + '01' + '7f01' + '7f24' + 'c60a' + '7f01' + '7f00' + '7f0f';
// obj 12@actor0 (offerFields), key "0123456789abcdef/p", not an insert, action set, int of 2 bytes, 1350, 1 pred: 15@actor0

/** The compact update of that change (146 bytes). */
const VECTOR_UPDATE =
  '01' + '8a88e3dd7409f195' + '8139770e' + '02' + '03' + // version, vault prefix, device prefix, counter 2, deps and actor elided
  '0213bcf2d6ca060000' + '0a01020202151434014202560257027002710273027f007f0c7f12303132333435363738396162636465662f70017f017f24c60a7f017f007f0f' +
  'decafb655c5bd30ad08508351e9a645eda2f955ac2bdd772a283f944557a2ef96233e067142560bc92a1c892db37d7c2df6bc9fe98a14dc4156917ebb8a4000e';

describe('compact update: the test vector', () => {
  it('is built on the change Automerge writes, whose hash is SHA-256 over type | length | body', () => {
    const v = vector();
    expect(toHex(v.change)).toBe(VECTOR_CHANGE);
    const hash = sha256(v.change.subarray(8));
    expect(toHex(hash)).toBe(A.decodeChange(v.change).hash);
    expect(toHex(hash)).toBe(v.statement.heads[0]);
    expect(toHex(hash.subarray(0, 4))).toBe(toHex(v.change.subarray(4, 8)));
    expect(v.previous.heads).toEqual(['989c3b5a5b3a74b4381050bd7172bdcdc930bc812b4251360c0d11c4af59656d']);
    expect(deviceActor(v.device.publicKey)).toBe('8139770ea87d175f56a35466c34c7ecc');
  });

  it('encodes a price change to the documented bytes: header, the change without what the receiver rebuilds, signature', () => {
    const v = vector();
    const update = encodeCompactUpdate(v.change, v.statement, v.previous);
    expect(toHex(update)).toBe(VECTOR_UPDATE);
    expect(update.length).toBe(146);
    // The elided body is the change's body after deps (33 bytes) and actor (17 bytes).
    expect(toHex(update.subarray(15, 15 + 67))).toBe(toHex(v.change.subarray(10 + 33 + 17)));
    expect(toHex(update.subarray(1, 9))).toBe(toHex(v.statement.vaultId.subarray(0, 8)));
    expect(toHex(update.subarray(9, 13))).toBe(toHex(v.device.publicKey.subarray(0, 4)));
    // The signature is the device's over the ordinary signed-heads statement, as full sync carries it.
    expect(toHex(update.subarray(update.length - 64))).toBe(toHex(sign(signedHeadsStatement(v.statement.vaultId, 2, v.statement.heads), v.device.secretKey)));
  });

  it('decodes back to the exact change and statement', () => {
    const v = vector();
    const receiver = receiverOf(v.first, v.previous);
    const decoded = decodeCompactUpdate(fromHex(VECTOR_UPDATE), lookupOf(receiver));
    if ('error' in decoded) throw new Error(decoded.error);
    expect(toHex(decoded.change)).toBe(VECTOR_CHANGE);
    expect(decoded.statement).toEqual(v.statement);
  });

  it('applied through acceptBundle, reaches exactly the state full sync reaches', () => {
    const v = vector();
    const receiver = receiverOf(v.first, v.previous);
    const decoded = decodeCompactUpdate(encodeCompactUpdate(v.change, v.statement, v.previous), lookupOf(receiver));
    if ('error' in decoded) throw new Error(decoded.error);
    const compact = accepted(acceptBundle(receiver, { statements: [decoded.statement], snapshot: false, changes: [decoded.change] }, options));
    const full = accepted(acceptBundle(receiver, { statements: [v.statement], snapshot: false, changes: [v.change] }, options));
    expect(A.getHeads(compact.doc)).toEqual(A.getHeads(full.doc));
    expect(A.getHeads(compact.doc)).toEqual(A.getHeads(v.second));
    expect(compact.statements).toEqual(full.statements);
    expect(toHex(A.save(compact.doc))).toBe(toHex(A.save(full.doc)));
    expect(compact.content.offers[0]!.price).toBe(1350);
  });
});

const NOW = T0 * 1000;

function product(id: string, stock: number, price: number): Product {
  return {
    id,
    name: `Product ${id.slice(0, 4)}`,
    sku: `SKU-${id.slice(0, 6)}`,
    unit: 'kg',
    price,
    stock,
    costPrice: null,
    supplierNotes: '',
    shelf: '',
    batches: [],
    offer: { quantity: stock, price },
    createdAt: NOW,
    updatedAt: NOW,
  };
}

/** One edit of a real shop, committed: its shared changes, the device's statement before and after. */
function editShop(shop: OwnShop, now: number, edit: (draft: Parameters<Parameters<OwnShop['edit']>[0]>[0]) => string[], share?: (draft: SharedVaultDoc) => void) {
  const previous = shop.ownStatement;
  const heads = A.getHeads(shop.doc);
  const result = shop.edit((draft) => ({ result: undefined, touched: edit(draft) }), share, now);
  shop.commit(result);
  return { changes: A.getChangesSince(shop.doc, heads), statement: shop.ownStatement!, previous };
}

/** A shop with one offered product, and a receiver holding its vault by full sync. */
function realShop() {
  const { shop } = OwnShop.create(generateKeyPair(), { name: 'Spice Stall', area: 'Old Market', currency: 'EUR' }, 'Row 3, stall 12', NOW);
  const ids = ['a1b2c3d4e5f60718', '0f1e2d3c4b5a6978'];
  editShop(shop, NOW + 1000, (draft) => {
    draft.put(product(ids[0]!, 1250.75, 99_999_999_999));
    draft.put(product(ids[1]!, 40, 350));
    return ids;
  });
  const receiver = accepted(acceptBundle(undefined, { statements: shop.statements, snapshot: true, changes: [A.save(shop.doc)] }, options));
  return { shop, ids, receiver };
}

/** Sends one edit both ways, compact and by full sync, and checks both reach the same state. */
function both(receiver: VerifiedVault, sent: ReturnType<typeof editShop>) {
  expect(sent.changes).toHaveLength(1);
  const update = encodeCompactUpdate(sent.changes[0]!, sent.statement, sent.previous);
  expect(update.length).toBeLessThanOrEqual(MAX_COMPACT_UPDATE_BYTES);
  const decoded = decodeCompactUpdate(update, lookupOf(receiver));
  if ('error' in decoded) throw new Error(decoded.error);
  expect(toHex(decoded.change)).toBe(toHex(sent.changes[0]!));
  expect(decoded.statement).toEqual(sent.statement);
  const compact = accepted(acceptBundle(receiver, { statements: [decoded.statement], snapshot: false, changes: [decoded.change] }, options));
  const full = accepted(acceptBundle(receiver, { statements: [sent.statement], snapshot: false, changes: sent.changes }, options));
  expect(A.getHeads(compact.doc)).toEqual(A.getHeads(full.doc));
  expect(compact.statements).toEqual(full.statements);
  expect(toHex(A.save(compact.doc))).toBe(toHex(A.save(full.doc)));
  return { update, vault: compact };
}

describe('compact update: a real shop', () => {
  it('carries price and stock changes, one after another, to exactly the state full sync reaches', () => {
    const { shop, ids, receiver } = realShop();
    let held = receiver;
    const sizes: number[] = [];
    const steps: ((draft: Parameters<Parameters<OwnShop['edit']>[0]>[0]) => string[])[] = [
      (d) => (d.put({ ...d.products.get(ids[0]!)!, offer: { quantity: 1250.75, price: 999_999_999_999 } }), [ids[0]!]),
      (d) => (d.move(ids[0]!, -0.125), [ids[0]!]),
      (d) => (d.move(ids[1]!, -3), [ids[1]!]),
      (d) => (d.put({ ...d.products.get(ids[1]!)!, offer: { quantity: 37, price: 375 } }), [ids[1]!]),
      (d) => (d.recount(ids[0]!, 1198.333), [ids[0]!]),
    ];
    steps.forEach((step, i) => {
      const sent = editShop(shop, NOW + 60_000 * (i + 2), step);
      const { update, vault } = both(held, sent);
      sizes.push(update.length);
      held = vault;
    });
    expect(held.content.offers.find((o) => o.productId === ids[0])).toMatchObject({ quantity: 1198.333, price: 999_999_999_999 });
    expect(held.content.offers.find((o) => o.productId === ids[1])).toMatchObject({ quantity: 37, price: 375 });
    expect(A.getHeads(held.doc)).toEqual(A.getHeads(shop.doc));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_COMPACT_UPDATE_BYTES);
  });

  it("carries a second device's change (another actor named in it) and elides that device's own actor", () => {
    const { shop, ids } = realShop();
    const secondKey = generateKeyPair();
    const keys: ShopKeys = { ...shop.keys, device: secondKey, certificate: certifyDevice(shop.keys.root!, secondKey.publicKey, NOW) };
    delete (keys as { root?: unknown }).root;
    editShop(shop, NOW + 2000, () => [], (d) => {
      d.devices[toHex(secondKey.publicKey)] = { name: new A.ImmutableString('Second till'), certificate: encodeDeviceCertificate(keys.certificate) };
    });
    const actor = deviceActor(secondKey.publicKey);
    const { shop: second } = OwnShop.fromDocuments(keys, A.clone(shop.doc, { actor }), A.clone(shop.privateDoc, { actor }), shop.statements);
    const receiver = accepted(acceptBundle(undefined, { statements: second.statements, snapshot: true, changes: [A.save(second.doc)] }, options));
    const sent = editShop(second, NOW + 120_000, (d) => (d.put({ ...d.products.get(ids[0]!)!, offer: { quantity: 1000.5, price: 123_456_789_012 } }), [ids[0]!]));
    expect(A.decodeChange(sent.changes[0]!).ops[0]!.obj).toContain(deviceActor(shop.keys.device.publicKey));
    const { update, vault } = both(receiver, sent);
    expect(update[14]).toBe(0x03);
    expect(vault.content.offers.find((o) => o.productId === ids[0])).toMatchObject({ quantity: 1000.5, price: 123_456_789_012 });
  });

  it('carries the deps when the receivers cannot rebuild them (no previous statement given)', () => {
    const { shop, ids, receiver } = realShop();
    const sent = editShop(shop, NOW + 60_000, (d) => (d.move(ids[1]!, -1), [ids[1]!]));
    const elided = encodeCompactUpdate(sent.changes[0]!, sent.statement, sent.previous);
    const update = encodeCompactUpdate(sent.changes[0]!, sent.statement, undefined);
    expect(update[14]).toBe(0x02);
    expect(update.length).toBe(elided.length + 33);
    const decoded = decodeCompactUpdate(update, lookupOf(receiver));
    if ('error' in decoded) throw new Error(decoded.error);
    expect(decoded.statement).toEqual(sent.statement);
    expect(toHex(decoded.change)).toBe(toHex(sent.changes[0]!));
  });
});

describe('compact update: refusals', () => {
  function sample() {
    const v = vector();
    return { ...v, update: encodeCompactUpdate(v.change, v.statement, v.previous), receiver: receiverOf(v.first, v.previous) };
  }

  it('refuses every single-byte change (signature, hash, prefix or parse), never throwing', () => {
    const { update, receiver } = sample();
    const lookup = lookupOf(receiver);
    for (let i = 0; i < update.length; i++) {
      for (const mask of [0x01, 0x80, 0xff]) {
        const tampered = update.slice();
        tampered[i] = tampered[i]! ^ mask;
        let result: ReturnType<typeof decodeCompactUpdate> | undefined;
        expect(() => (result = decodeCompactUpdate(tampered, lookup)), `byte ${i} ^ ${mask}`).not.toThrow();
        expect(result, `byte ${i} ^ ${mask}`).toHaveProperty('error');
      }
    }
  });

  it('refuses truncated updates and inserted bytes', () => {
    const { update, receiver } = sample();
    const lookup = lookupOf(receiver);
    for (let n = 0; n < update.length; n++) expect(decodeCompactUpdate(update.subarray(0, n), lookup)).toHaveProperty('error');
    for (let at = 0; at <= update.length; at++) {
      const longer = concatBytes(update.subarray(0, at), Uint8Array.of(0), update.subarray(at));
      expect(decodeCompactUpdate(longer, lookup), `0 inserted at ${at}`).toHaveProperty('error');
    }
    const padded = concatBytes(update.subarray(0, update.length - 64), Uint8Array.of(0), update.subarray(update.length - 64));
    expect(decodeCompactUpdate(padded, lookup)).toEqual({ error: "compact update refused: 1 bytes after the change's columns" });
  });

  it('refuses unknown versions and flags', () => {
    const { update, receiver } = sample();
    const lookup = lookupOf(receiver);
    const version = update.slice();
    version[0] = 2;
    expect(decodeCompactUpdate(version, lookup)).toEqual({ error: 'compact update refused: unknown version 2' });
    const flags = update.slice();
    flags[14] = 0x07;
    expect(decodeCompactUpdate(flags, lookup)).toEqual({ error: 'compact update refused: unknown flags 0x07' });
  });

  it('refuses a stale counter: the same update again, once applied', () => {
    const { update, receiver } = sample();
    const decoded = decodeCompactUpdate(update, lookupOf(receiver));
    if ('error' in decoded) throw new Error(decoded.error);
    const after = accepted(acceptBundle(receiver, { statements: [decoded.statement], snapshot: false, changes: [decoded.change] }, options));
    expect(decodeCompactUpdate(update, lookupOf(after))).toEqual({ error: 'compact update refused: stale: counter 2, already holding 2' });
  });

  it('refuses an unknown vault or device prefix', () => {
    const { update, receiver } = sample();
    expect(decodeCompactUpdate(update, lookupOf())).toEqual({ error: 'compact update refused: unknown vault' });
    const noDevice: CompactUpdateLookup = { vault: () => ({ vaultId: receiver.statements[0]!.vaultId, statements: [] }) };
    expect(decodeCompactUpdate(update, noDevice)).toEqual({ error: 'compact update refused: unknown device (no statement held from it)' });
  });

  it('refuses an update whose elided deps the receiver cannot rebuild (it missed the statement before)', () => {
    const v = vector();
    const receiver = receiverOf(v.first, v.previous);
    const third = A.change(A.clone(v.second, { actor: deviceActor(v.device.publicKey) }), { time: T0 + 120 }, (d) => void (d.offerFields[`${PRODUCT}/q`] = 249.5));
    const statement = signHeads(v.device, v.certificate, 3, A.getHeads(third));
    const update = encodeCompactUpdate(A.getChanges(v.second, third)[0]!, statement, v.statement);
    expect(decodeCompactUpdate(update, lookupOf(receiver))).toEqual({
      error: 'compact update refused: signature does not verify the rebuilt change (it may not follow the statement held from the device)',
    });
  });

  it('an update for the very next counter whose signature fails is forged, not "may not follow"', () => {
    const { update, receiver } = sample();
    const forged = update.slice();
    forged[forged.length - 1]! ^= 0x01;
    expect(decodeCompactUpdate(forged, lookupOf(receiver))).toEqual({ error: 'compact update refused: signature does not verify the rebuilt change' });
  });

  it('refuses anything over 200 bytes before parsing it', () => {
    const { update, receiver } = sample();
    const lookup = lookupOf(receiver);
    const big = new Uint8Array(MAX_COMPACT_UPDATE_BYTES + 1);
    big.set(update);
    expect(decodeCompactUpdate(big, lookup)).toEqual({ error: 'compact update refused: 201 bytes, over 200' });
    expect(lookup.calls).toBe(0);
  });

  it('will not encode a change that does not fit: a long value, deps it cannot elide, a statement that is not its hash', () => {
    const v = vector();
    const actor = deviceActor(v.device.publicKey);
    const named = A.change(A.clone(v.second, { actor }), { time: T0 + 120 }, (d) => void (d.offerFields[`${PRODUCT}/n`] = new A.ImmutableString('Saffron threads, '.repeat(5))));
    const namedChange = A.getChanges(v.second, named)[0]!;
    expect(() => encodeCompactUpdate(namedChange, signHeads(v.device, v.certificate, 3, A.getHeads(named)), v.statement)).toThrow(/over 200/);

    // Two heads (a merge with another actor's concurrent change): two deps that are not the previous statement's heads.
    const other = A.change(A.clone(v.second, { actor: 'ff'.repeat(16) }), { time: T0 + 90 }, (d) => void (d.offerFields[`${PRODUCT}/u`] = new A.ImmutableString('kg')));
    const merged = A.merge(A.clone(v.second, { actor }), other);
    const after = A.change(merged, { time: T0 + 120 }, (d) => void (d.offerFields[`${PRODUCT}/p`] = 1400));
    const [, change] = A.getChanges(v.second, after);
    expect(A.decodeChange(change!).deps).toHaveLength(2);
    expect(() => encodeCompactUpdate(change!, signHeads(v.device, v.certificate, 3, A.getHeads(after)), v.statement)).toThrow(CompactUpdateError);
    expect(() => encodeCompactUpdate(change!, signHeads(v.device, v.certificate, 3, A.getHeads(after)), v.statement)).toThrow(/2 dependencies not the previous statement's heads/);

    expect(() => encodeCompactUpdate(v.change, v.previous, undefined)).toThrow(/not exactly this change's hash/);
    expect(() => encodeCompactUpdate(A.save(v.first), v.previous, undefined)).toThrow(/not an uncompressed change/);
  });
});
