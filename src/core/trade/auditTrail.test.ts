import * as A from '@automerge/automerge';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeAll, link, shopNode, vaultOf } from '../attacks/attackKit';
import { generateKeyPair } from '../crypto/ed25519';
import { MemoryStorage } from '../storage/memoryStorage';
import { shopKeysKey, deviceActor } from '../node/ownShop';
import type { SoukNode } from '../node/soukNode';
import { certifyDevice } from '../vault/deviceCertificate';
import { decodeSignedHeads, encodeSignedHeads, signHeads } from '../vault/signedHeads';
import { decodeShopKeys } from '../vault/shopKeys';
import type { SharedVaultDoc } from '../vault/vaultDocuments';
import { fromBase64, toBase64 } from '../wire/base64';
import { toHex } from '../wire/hex';
import { actorOfDevice, indexTrail, MAX_TRAIL_EXPORT_BYTES, MAX_WALK_STEPS, verifyTrailExport } from './auditTrail';
import type { VaultContent } from '../vault/vaultShape';
import { deliveryRequestId, encodeTradeEvent, refKey, slotId, vaultPrefix, type EventRef, type NewTradeEvent } from './tradeEvent';

afterEach(closeAll);

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const T0 = 1_790_000_000;
const deviceOf = (node: SoukNode) => toHex(node.nodeId).slice(0, 8);
const id = (n: number) => n.toString(16).padStart(16, '0');

/**
 * Three real shops on three nodes: a seller with a batch receipt and an offer, a buyer's
 * request, the seller's acceptance, fulfilment and delivery request, and the driver's steps;
 * each writes only its own vault, and the seller's node carries the other two.
 */
async function market() {
  const sellerStorage = new MemoryStorage();
  const seller = await shopNode('Ada Groceries', { storage: sellerStorage });
  const buyer = await shopNode('Bilal Cafe');
  const driver = await shopNode('Chidi Moves');
  const [S, B, D] = [seller, buyer, driver].map((n) => vaultPrefix(vaultOf(n))) as [string, string, string];
  const receipt: EventRef = { vault: S, id: id(1) };
  const offer: EventRef = { vault: S, id: id(2) };
  const request: EventRef = { vault: B, id: id(3) };
  // A delivery request sits at its derived id (deliveryRequestId), like every answering step.
  const delivery: EventRef = { vault: S, id: deliveryRequestId(request, null) };
  const accepted: EventRef = { vault: S, id: slotId('answer', request) };
  const fulfilled: EventRef = { vault: S, id: slotId('close', request) };
  const driverAccepted: EventRef = { vault: D, id: slotId('answer', delivery) };
  const delivered: EventRef = { vault: D, id: slotId('delivered', delivery) };
  const ev = (node: SoukNode, at: EventRef, event: Record<string, unknown>) => ({ id: at.id, event: { device: deviceOf(node), ...event } as NewTradeEvent });
  await seller.recordTradeEvents([
    ev(seller, receipt, { type: 'batchReceipt', time: T0, product: 'honey', quantity: 10, expiresOn: '2027-01-10', receivedOn: '2026-11-20', invoice: 'ab'.repeat(32), supplier: null }),
    ev(seller, offer, { type: 'offerCreated', time: T0 + 10, product: 'honey', quantity: 10, price: 700, expiresOn: '2027-01-10', receipts: [{ receipt: receipt.id, quantity: 10 }] }),
  ]);
  await buyer.recordTradeEvents([ev(buyer, request, { type: 'reservationRequested', time: T0 + 100, seller: S, product: 'honey', quantity: 3, price: 700, note: 'for Friday' })]);
  await seller.recordTradeEvents([
    ev(seller, accepted, { type: 'reservationAccepted', time: T0 + 200, request, quantity: 3, holdUntil: T0 + 3600, takes: [{ receipt: receipt.id, quantity: 3 }] }),
    ev(seller, fulfilled, { type: 'offerFulfilled', time: T0 + 300, request, quantity: 3, price: 2100, takes: [{ receipt: receipt.id, quantity: 3 }] }),
    ev(seller, delivery, { type: 'deliveryRequested', time: T0 + 400, request, driver: D, from: 'Old Town', to: 'Harbour', load: 3, answerBy: T0 + 1000, pickUpBy: T0 + 3600, deliverBy: T0 + 7200, replaces: null }),
  ]);
  await driver.recordTradeEvents([
    ev(driver, driverAccepted, { type: 'deliveryAccepted', time: T0 + 500, delivery }),
    ev(driver, delivered, { type: 'deliveryDelivered', time: T0 + 900, delivery }),
  ]);
  link(seller, buyer);
  link(seller, driver);
  await until(async () => (await seller.trail()).total === 8, 'the seller to carry the buyer’s and driver’s events');
  const keys = decodeShopKeys((await sellerStorage.load(shopKeysKey))!);
  return { seller, buyer, driver, keys, refs: { receipt, offer, request, delivery, accepted, fulfilled, driverAccepted, delivered } };
}

type TrailFile = {
  shop: string;
  events: { vault: string; id: string; type: string; fields: Record<string, unknown>; bytes: string }[];
  vaults: { vaultId: string; document: string; statements: string[]; revocations: string[] }[];
};

const expectInvalid = (json: string, problem: RegExp) => {
  const verdict = verifyTrailExport(json);
  expect(verdict.valid).toBe(false);
  expect(verdict.problems.join('\n')).toMatch(problem);
  return verdict;
};

describe('the audit trail', () => {
  it('shows who signed each event and walks back from a delivery and a fulfilment to the offer and the batch receipt', async () => {
    const { seller, refs } = await market();
    const { entries } = await seller.trail();
    const fulfilment = entries.find((e) => e.name === 'inventory.offer.fulfilled')!;
    expect(fulfilment).toMatchObject({ shop: 'Ada Groceries', own: true, device: deviceOf(seller), deviceName: expect.any(String), time: T0 + 300 });
    expect(fulfilment.derivesFrom.map((d) => [d.name, d.held])).toEqual([
      ['inventory.offer.reserved.request', true],
      ['batch.receipt.attested', true],
    ]);
    const request = entries.find((e) => e.name === 'inventory.offer.reserved.request')!;
    expect(request).toMatchObject({ shop: 'Bilal Cafe', own: false });
    expect(request.derivedBy.map((d) => d.name).sort()).toEqual(['inventory.offer.fulfilled', 'inventory.offer.reserved.acceptance', 'delivery.assignment.request'].sort());

    const names = async (ref: EventRef) => (await seller.walkBack(ref)).steps.map((s) => s.entry?.name ?? `missing ${s.key}`);
    expect(await names(refs.fulfilled)).toEqual([
      'inventory.offer.fulfilled',
      'inventory.offer.reserved.request',
      'batch.receipt.attested',
      'inventory.offer.reserved.acceptance',
      'inventory.offer.created',
    ]);
    const fromDelivery = await names(refs.delivered);
    expect(fromDelivery[0]).toBe('delivery.assignment.delivered');
    expect(fromDelivery).toEqual(expect.arrayContaining(['delivery.assignment.request', 'inventory.offer.reserved.request', 'inventory.offer.created', 'batch.receipt.attested']));
    // A ref nobody holds is a missing step, not a failure.
    expect((await seller.walkBack({ vault: refs.request.vault, id: id(99) })).steps).toEqual([{ key: refKey({ vault: refs.request.vault, id: id(99) }), ref: { vault: refs.request.vault, id: id(99) }, depth: 0 }]);
  });

  it('exports a period that verifies with the public keys alone, origins outside the period included', async () => {
    const { seller, buyer, driver } = await market();
    // Only the fulfilment's minute: its request, acceptance, offer and receipt come along.
    const json = await seller.exportTrail(T0 + 300, T0 + 301);
    const file = JSON.parse(json) as TrailFile;
    expect(file.events.map((e) => e.type).sort()).toEqual(['batchReceipt', 'offerCreated', 'offerFulfilled', 'reservationAccepted', 'reservationRequested']);
    expect(file.vaults.map((v) => v.vaultId).sort()).toEqual([vaultOf(seller), vaultOf(buyer)].sort());
    const verdict = verifyTrailExport(json, [vaultOf(seller)]);
    expect(verdict.problems).toEqual([]);
    expect(verdict.valid).toBe(true);
    expect(verdict.events.find((e) => e.type === 'offerFulfilled')).toMatchObject({ shop: 'Ada Groceries', inPeriod: true, deviceKey: toHex(seller.nodeId) });
    expect(verdict.events.find((e) => e.type === 'batchReceipt')).toMatchObject({ inPeriod: false });
    // The whole period, every vault: valid too; the node's own verify says the same.
    const all = await seller.exportTrail(0, 2 ** 32);
    expect(JSON.parse(all).events).toHaveLength(8);
    expect(seller.verifyTrail(all)).toMatchObject({ valid: true, problems: [] });
    expect(verifyTrailExport(all, [vaultOf(driver)]).valid).toBe(true);
    expect(verifyTrailExport(all, ['ff'.repeat(32)]).problems.join()).toMatch(/you expected is not in the file/);
    // The actor a verifier expects is the one the node writes with.
    expect(actorOfDevice(toHex(seller.nodeId))).toBe(deviceActor(seller.nodeId));
  });

  it('verifies the steps the reservation engine writes: a real request, auto-acceptance and fulfilment, from both sides', async () => {
    const seller = await shopNode('Seller');
    const product = await seller.addProduct({ name: 'Saffron', sku: 'SAF', unit: 'g', price: 500, stock: 10 });
    await seller.setOffer(product, { quantity: 10, price: 500 });
    await seller.setTradeRules({ autoAcceptUpTo: 100, holdMinutes: 60 });
    const buyer = await shopNode('Buyer');
    link(seller, buyer);
    await until(async () => buyer.marketplace('Saffron').offers.some((o) => o.vaultId === vaultOf(seller)), 'the buyer to see the offer');
    const request = await buyer.reserve(vaultOf(seller), product, 3, 'for Friday');
    await until(async () => seller.reservations().some((r) => r.request.id === request.id && r.state === 'accepted'), 'the acceptance');
    await seller.fulfilReservation(request);
    await until(async () => (await buyer.trail()).entries.some((e) => e.name === 'inventory.offer.fulfilled'), 'the buyer to carry the fulfilment');
    const chain = (await seller.walkBack({ vault: vaultPrefix(vaultOf(seller)), id: slotId('close', request) })).steps.map((s) => s.entry?.name);
    // Down to the offer the seller's node signed when the product was offered.
    expect(chain).toEqual(['inventory.offer.fulfilled', 'inventory.offer.reserved.request', 'inventory.offer.reserved.acceptance', 'inventory.offer.created']);
    for (const node of [seller, buyer]) {
      const json = await node.exportTrail(0, 2 ** 32);
      const verdict = verifyTrailExport(json, [vaultOf(seller), vaultOf(buyer)]);
      expect(verdict.problems).toEqual([]);
      expect(verdict.events.map((e) => e.name).sort()).toEqual(['inventory.offer.created', 'inventory.offer.fulfilled', 'inventory.offer.reserved.acceptance', 'inventory.offer.reserved.request']);
      expect(verdict.events.find((e) => e.type === 'reservationRequested')).toMatchObject({ shop: 'Buyer', deviceKey: toHex(buyer.nodeId) });
    }
  });

  it('leads a request to the seller’s offer of its product as it stood then, never to a later one; walks are cycle-safe and bounded', () => {
    const [S, B] = ['aa'.repeat(8), 'bb'.repeat(8)];
    const content = (name: string, trade: unknown[]) => ({ profile: { name }, devices: [], trade }) as unknown as VaultContent;
    const offerEvent = (n: number, time: number, product: string) => ({ type: 'offerCreated', id: id(n), time, device: '01020304', product, quantity: 1, price: 1, expiresOn: null, receipts: [] });
    const request = { type: 'reservationRequested', id: id(9), time: 500, device: '05060708', seller: S, product: 'honey', quantity: 1, price: 1, note: '' };
    const index = indexTrail([
      { vaultId: S.padEnd(64, '0'), content: content('Seller', [offerEvent(1, 100, 'honey'), offerEvent(2, 400, 'honey'), offerEvent(3, 450, 'figs'), offerEvent(4, 600, 'honey')]) },
      { vaultId: B.padEnd(64, '0'), content: content('Buyer', [request]) },
    ]);
    expect(index.get({ vault: B, id: id(9) })!.context).toEqual([refKey({ vault: S, id: id(2) })]);
    // A cycle of refs (only a hostile vault could hold one) is walked once; a long chain stops at the bound.
    const loop = [
      { type: 'reservationMessage', id: id(20), time: 1, device: '01020304', request: { vault: S, id: id(21) }, text: '' },
      { type: 'reservationMessage', id: id(21), time: 2, device: '01020304', request: { vault: S, id: id(20) }, text: '' },
    ];
    const chain = Array.from({ length: 400 }, (_, n) => ({ type: 'reservationMessage', id: id(1000 + n), time: n, device: '01020304', request: { vault: S, id: id(1000 + n + 1) }, text: '' }));
    const hostile = indexTrail([{ vaultId: S.padEnd(64, '0'), content: content('Seller', [...loop, ...chain]) }]);
    expect(hostile.walkBack({ vault: S, id: id(20) }).steps.map((step) => step.key)).toEqual([refKey({ vault: S, id: id(20) }), refKey({ vault: S, id: id(21) })]);
    const long = hostile.walkBack({ vault: S, id: id(1000) });
    expect(long.steps).toHaveLength(MAX_WALK_STEPS);
    expect(long.truncated).toBe(true);
  });

  it('a fuzzed export never makes the verifier throw', async () => {
    const { seller } = await market();
    const json = await seller.exportTrail(0, 2 ** 32);
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 60; round++) {
      const chars = [...json];
      for (let n = 0; n < 3; n++) chars[Math.floor(random() * chars.length)] = String.fromCharCode(32 + Math.floor(random() * 95));
      expect(() => verifyTrailExport(chars.join(''))).not.toThrow();
    }
  });

  describe('refuses a tampered or hostile export with the reason, never throwing', () => {
    let json = '';
    let seller = '';
    let sellerDevice = '';
    let keys: Awaited<ReturnType<typeof market>>['keys'];
    beforeAll(async () => {
      const made = await market();
      json = await made.seller.exportTrail(0, 2 ** 32);
      seller = vaultOf(made.seller);
      sellerDevice = deviceOf(made.seller);
      keys = made.keys;
      expect(verifyTrailExport(json).valid).toBe(true);
    }, 30_000);
    const edit = (change: (file: TrailFile) => void) => {
      const file = JSON.parse(json) as TrailFile;
      change(file);
      return JSON.stringify(file);
    };
    const own = (file: TrailFile) => file.vaults.find((v) => v.vaultId === seller)!;
    const ownDoc = (file: TrailFile) => A.load<SharedVaultDoc>(fromBase64(own(file).document)!);

    it('an event field changed in the listing', () => {
      expectInvalid(
        edit((f) => {
          f.events.find((e) => e.type === 'offerFulfilled')!.fields.quantity = 30;
        }),
        /offer\.fulfilled|listed fields differ/,
      );
    });
    it('an event byte changed in the listing', () => {
      expectInvalid(
        edit((f) => {
          const e = f.events.find((e) => e.type === 'offerFulfilled')!;
          e.bytes = e.bytes.slice(0, -2) + (e.bytes.endsWith('00') ? '01' : '00');
        }),
        /bytes differ from the signed document/,
      );
    });
    it('a byte of a document changed', () => {
      for (const at of [0.3, 0.6, 0.9]) {
        expectInvalid(
          edit((f) => {
            const bytes = fromBase64(own(f).document)!;
            bytes[Math.floor(bytes.length * at)]! ^= 0x40;
            own(f).document = toBase64(bytes);
          }),
          new RegExp(`vault ${seller.slice(0, 8)}`),
        );
      }
    });
    it('a statement dropped', () => {
      expectInvalid(
        edit((f) => {
          own(f).statements = [];
        }),
        /0 statements/,
      );
    });
    it('a statement signature forged', () => {
      expectInvalid(
        edit((f) => {
          const bytes = fromBase64(own(f).statements[0]!)!;
          bytes[bytes.length - 1]! ^= 1;
          own(f).statements[0] = toBase64(bytes);
        }),
        /heads signature does not verify/,
      );
    });
    it('the device certificate swapped for one another key signed', () => {
      expectInvalid(
        edit((f) => {
          const statement = decodeSignedHeads(fromBase64(own(f).statements[0]!)!);
          const forged = certifyDevice(generateKeyPair(), statement.certificate.devicePublicKey, statement.certificate.issuedAt);
          own(f).statements[0] = toBase64(encodeSignedHeads({ ...statement, certificate: { ...forged, vaultId: statement.vaultId } }));
        }),
        /not signed by the vault root key/,
      );
    });
    it('a statement of another vault passed off as this one’s', () => {
      expectInvalid(
        edit((f) => {
          own(f).statements = [f.vaults.find((v) => v.vaultId !== seller)!.statements[0]!];
        }),
        /statement is for another vault/,
      );
    });
    it('an event written by an uncertified key in a certified device’s name, signed over by the shop’s device', () => {
      const intruder = toHex(generateKeyPair().publicKey).slice(0, 32);
      const forgedId = id(77);
      const forged = edit((f) => {
        const fake: NewTradeEvent = { type: 'batchReceipt', time: T0 + 350, device: sellerDevice, product: 'honey', quantity: 500, expiresOn: null, receivedOn: null, invoice: null, supplier: null };
        let doc = A.clone(ownDoc(f), { actor: intruder });
        doc = A.change(doc, (d) => {
          d.trade![forgedId] = encodeTradeEvent(fake);
        });
        const statement = decodeSignedHeads(fromBase64(own(f).statements[0]!)!);
        own(f).document = toBase64(A.save(doc));
        own(f).statements = [toBase64(encodeSignedHeads(signHeads(keys.device, keys.certificate, statement.counter + 1, A.getHeads(doc))))];
        const { type, time, device, ...fields } = fake;
        f.events.push({ vault: seller, id: forgedId, type, name: 'batch.receipt.attested', time, device, bytes: toHex(encodeTradeEvent(fake)), fields } as never);
      });
      const verdict = expectInvalid(forged, new RegExp(`event ${forgedId} .*written by ${intruder.slice(0, 8)}, not by the device ${sellerDevice}`));
      // Only that event fails (and so it is not counted as listed): the vault itself is signed and covered.
      expect(verdict.problems.every((problem) => problem.includes(forgedId))).toBe(true);
    });
    it('a change no device signed', () => {
      const intruder = toHex(generateKeyPair().publicKey).slice(0, 32);
      expectInvalid(
        edit((f) => {
          const doc = A.change(A.clone(ownDoc(f), { actor: intruder }), (d) => {
            d.profile.name = new A.ImmutableString('Ada Groceries!');
          });
          own(f).document = toBase64(A.save(doc));
        }),
        /changes no device signed/,
      );
    });
    it('a ref that points outside the export', () => {
      expectInvalid(
        edit((f) => {
          f.events = f.events.filter((e) => e.type !== 'reservationRequested');
        }),
        /derives from .*which the file does not hold/,
      );
    });
    it('one of the exporting shop’s own events in the period left out', () => {
      expectInvalid(
        edit((f) => {
          f.events = f.events.filter((e) => !['deliveryRequested', 'deliveryAccepted', 'deliveryDelivered'].includes(e.type));
        }),
        /delivery\.assignment\.request .* is in the period but not listed/,
      );
    });
    it('an event its vault does not hold', () => {
      expectInvalid(
        edit((f) => {
          f.events[0]!.id = id(4242);
        }),
        /holds no such event/,
      );
    });
    it('garbage, oversized, deep or malformed files', () => {
      expectInvalid('not json', /not JSON/);
      expectInvalid('null', /not a souk-audit-trail/);
      expectInvalid(' '.repeat(MAX_TRAIL_EXPORT_BYTES + 1), /over 64 MiB/);
      expectInvalid('['.repeat(100_000), /nests deeper/);
      expectInvalid(edit((f) => ((f as unknown as { version: number }).version = 2)), /version 2/);
      expectInvalid(edit((f) => (own(f).document = '!!!')), /not base64/);
      expectInvalid(edit((f) => (own(f).document = toBase64(new Uint8Array(64).fill(7)))), /vault /);
      expectInvalid(edit((f) => (own(f).statements = ['AAAA'])), /statement does not decode/);
      expectInvalid(edit((f) => ((f.vaults as unknown[])[0] = 5)), /not an object/);
      expectInvalid(edit((f) => ((f.events as unknown[])[0] = { vault: 1 })), /no vault id or event id/);
      expectInvalid(edit((f) => ((own(f) as unknown as { shop: string }).shop = 'Someone Else')), /shop name listed is not the signed profile/);
    });
  });

  it('has a command a third party runs on the file: the verdict and exit code', async () => {
    const { seller } = await market();
    const json = await seller.exportTrail(0, 2 ** 32);
    const dir = mkdtempSync(join(tmpdir(), 'souk-trail-'));
    const good = join(dir, 'trail.json');
    const bad = join(dir, 'tampered.json');
    writeFileSync(good, json);
    writeFileSync(bad, json.replace('"quantity":3', '"quantity":4'));
    const run = (file: string, ...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'scripts/verify-trail.ts', file, ...args], { encoding: 'utf8' });
    const valid = run(good, '--expect', vaultOf(seller));
    expect(valid.stdout).toMatch(/VALID: 8 events verified/);
    expect(valid.stdout).toMatch(/inventory\.offer\.fulfilled .* by "Ada Groceries" device/);
    expect(valid.status).toBe(0);
    const invalid = run(bad);
    expect(invalid.stdout).toMatch(/PROBLEM: .*listed fields differ/);
    expect(invalid.stdout).toMatch(/INVALID/);
    expect(invalid.status).toBe(1);
  }, 30_000);
});
