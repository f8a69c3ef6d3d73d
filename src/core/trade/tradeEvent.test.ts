import { describe, expect, it } from 'vitest';
import * as A from '@automerge/automerge';
import { decodeTradeEvent, derivedFrom, encodeTradeEvent, slotId, TRADE_EVENT_TYPES, type NewTradeEvent, type TradeEvent } from './tradeEvent';
import { WireError } from '../wire/wireError';
import { fromHex, toHex } from '../wire/hex';
import { readVaultContent, tradeValues } from '../vault/vaultShape';
import { OwnShop } from '../node/ownShop';
import { generateKeyPair } from '../crypto/ed25519';

const device = 'a1b2c3d4';
const ref = { vault: '0102030405060708', id: '1112131415161718' };

/** One event of every type, as an author writes it. */
const samples: NewTradeEvent[] = [
  { type: 'offerCreated', time: 1_764_000_000, device, product: '00112233aabbccdd', quantity: 12.5, price: 700, expiresOn: '2026-12-01', receipts: [{ receipt: '2122232425262728', quantity: 12.5 }] },
  { type: 'reservationRequested', time: 1_764_000_001, device, seller: '0102030405060708', product: '00112233aabbccdd', quantity: 3, price: 700, note: 'Friday' },
  { type: 'reservationAccepted', time: 1_764_000_002, device, request: ref, quantity: 3, holdUntil: 1_764_086_402, takes: [] },
  { type: 'reservationRefused', time: 1_764_000_003, device, request: ref, reason: 1, text: 'Only 2 left' },
  { type: 'reservationExpired', time: 1_764_000_004, device, request: ref },
  { type: 'reservationCancelled', time: 1_764_000_005, device, request: ref, text: '' },
  { type: 'offerFulfilled', time: 1_764_000_006, device, request: ref, quantity: 3, price: 700, takes: [{ receipt: '2122232425262728', quantity: 3 }] },
  { type: 'reservationMessage', time: 1_764_000_007, device, request: ref, text: 'مرحبا — noon?' },
  { type: 'batchReceipt', time: 1_764_000_008, device, product: 'SKU_imported-7', quantity: 40, expiresOn: '2027-01-31', receivedOn: '2026-11-24', invoice: 'ab'.repeat(32), supplier: '0a0b0c0d0e0f1011' },
  { type: 'deliveryCapacity', time: 1_764_000_009, device, area: 'Old Town', load: 80, from: 1_764_000_000, until: 1_764_030_000 },
  { type: 'deliveryRequested', time: 1_764_000_010, device, request: ref, driver: '3132333435363738', from: 'Old Town', to: 'Harbour', load: 5, answerBy: 1_764_001_000, pickUpBy: 1_764_008_000, deliverBy: 1_764_020_000, replaces: null },
  { type: 'deliveryAccepted', time: 1_764_000_011, device, delivery: ref },
  { type: 'deliveryDeclined', time: 1_764_000_012, device, delivery: ref, text: 'van broke' },
  { type: 'deliveryPickedUp', time: 1_764_000_013, device, delivery: ref },
  { type: 'deliveryDelivered', time: 1_764_000_014, device, delivery: ref },
  { type: 'reservationSeen', time: 1_764_000_015, device, request: ref },
];

describe('trade event codec', () => {
  it('specifies a request byte by byte', () => {
    const bytes = encodeTradeEvent(samples[1]!);
    expect(toHex(bytes)).toBe(
      [
        '01', // version
        '02', // type: request
        '69248101', // time 1764000001
        'a1b2c3d4', // device prefix
        '0102030405060708', // seller vault prefix
        'ff00112233aabbccdd', // product: packed hex id
        'b817', // quantity 3.000 as thousandths (3000, uLEB128)
        'bc05', // price 700
        '06467269646179', // note "Friday"
      ].join(''),
    );
  });

  it('specifies an acceptance and a delivery request byte by byte', () => {
    expect(toHex(encodeTradeEvent(samples[2]!))).toBe('0103692481' + '02a1b2c3d4' + '01020304050607081112131415161718' + 'b817' + '6925d282' + '00');
    expect(toHex(encodeTradeEvent(samples[10]!))).toBe(
      '010b6924810aa1b2c3d4' + '01020304050607081112131415161718' + '3132333435363738' + '084f6c6420546f776e' + '07486172626f7572' + '8827' + '692484e8' + '6924a040' + '6924cf20' + '00',
    );
  });

  it('every type round-trips, and every type has a distinct code', () => {
    const codes = Object.values(TRADE_EVENT_TYPES).map((t) => t.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect(samples.map((s) => s.type).sort()).toEqual(Object.keys(TRADE_EVENT_TYPES).sort());
    for (const sample of samples) {
      const bytes = encodeTradeEvent(sample);
      expect(decodeTradeEvent('00000000000000ff', bytes)).toEqual({ ...sample, id: '00000000000000ff' });
    }
  });

  it('refuses malformed bytes with a WireError, never anything else', () => {
    const good = encodeTradeEvent(samples[1]!);
    const cases: [string, Uint8Array][] = [
      ['truncated', good.subarray(0, good.length - 1)],
      ['trailing', Uint8Array.of(...good, 0)],
      ['version', Uint8Array.of(2, ...good.subarray(1))],
      ['type', Uint8Array.of(1, 99, ...good.subarray(2))],
      ['oversize', new Uint8Array(513)],
      // The product as text though it is a hex id (two encodings of one product are not allowed).
      ['hex as text', fromHex('010269248101a1b2c3d40102030405060708' + '10' + toHex(new TextEncoder().encode('00112233aabbccdd')) + 'b817bc0500')],
      // A quantity with a non-minimal uLEB128.
      ['overlong', fromHex('010269248101a1b2c3d40102030405060708ff00112233aabbccdd' + 'b89700' + 'bc0500')],
      ['zero quantity', fromHex('010269248101a1b2c3d40102030405060708ff00112233aabbccdd' + '00' + 'bc0500')],
      ['bad utf-8', fromHex('010269248101a1b2c3d40102030405060708ff00112233aabbccdd' + 'b817bc05' + '02c328')],
      ['note too long', fromHex('010269248101a1b2c3d40102030405060708ff00112233aabbccdd' + 'b817bc05' + '79' + '61'.repeat(121))],
    ];
    for (const [what, bytes] of cases) expect(() => decodeTradeEvent('00000000000000ff', bytes), what).toThrow(WireError);
    expect(() => decodeTradeEvent('not-an-id', good)).toThrow(WireError);
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let i = 0; i < 20_000; i++) {
      const bytes = Uint8Array.from({ length: random() % 80 }, random);
      if (i % 2) bytes.set(good.subarray(0, Math.min(good.length, bytes.length)));
      try {
        decodeTradeEvent('00000000000000ff', bytes);
      } catch (error) {
        expect(error).toBeInstanceOf(WireError);
      }
    }
  });

  it('refuses to write what it could not read back', () => {
    expect(() => encodeTradeEvent({ ...samples[1]!, quantity: 0 } as NewTradeEvent)).toThrow(/above 0/);
    expect(() => encodeTradeEvent({ ...samples[1]!, quantity: 1.0001 } as NewTradeEvent)).toThrow(/three decimals/);
    expect(() => encodeTradeEvent({ ...samples[1]!, note: 'x'.repeat(121) } as NewTradeEvent)).toThrow(/limit 120/);
    expect(() => encodeTradeEvent({ ...samples[1]!, product: 'no spaces' } as NewTradeEvent)).toThrow(/product id/);
    expect(() => encodeTradeEvent({ ...samples[1]!, device: 'zz' } as NewTradeEvent)).toThrow(/device/);
  });

  it('names what an event derives from', () => {
    const fulfilled = decodeTradeEvent('00000000000000ff', encodeTradeEvent(samples[6]!));
    expect(derivedFrom(fulfilled, 'aaaaaaaaaaaaaaaa')).toEqual([ref, { vault: 'aaaaaaaaaaaaaaaa', id: '2122232425262728' }]);
  });

  it('derives answering ids from what they answer (SHA-256 vector)', () => {
    expect(slotId('answer', ref)).toBe(slotId('answer', { ...ref }));
    expect(slotId('answer', ref)).not.toBe(slotId('close', ref));
    // hashlib.sha256(b'souk-trade-slot-v1' + b'answer' + b'\x00' + vault + id).hexdigest()[:16]
    expect(slotId('answer', ref)).toBe('51747f72a73f599c');
  });
});

describe('trade events in a vault', () => {
  function vaultWith(events: Record<string, Uint8Array>, mutate?: (doc: Record<string, unknown>) => void) {
    const { shop } = OwnShop.create(generateKeyPair(), { name: 'Stall', area: 'Old Town', currency: 'EUR' }, '', Date.now());
    const deviceKey = shop.deviceKey;
    const doc = A.change(shop.doc, (d) => {
      for (const [id, bytes] of Object.entries(events)) d.trade![id] = bytes;
      mutate?.(d as never);
    });
    return { doc, vaultId: fromHex(shop.id), deviceKey };
  }
  const event = (deviceKey: string, sample: NewTradeEvent) => encodeTradeEvent({ ...sample, device: deviceKey.slice(0, 8) } as NewTradeEvent);

  it('reads every event checked into the content', () => {
    const { shop } = OwnShop.create(generateKeyPair(), { name: 'Stall', area: 'Old Town', currency: 'EUR' }, '', Date.now());
    const prefix = shop.deviceKey.slice(0, 8);
    const request = event(shop.deviceKey, samples[1]!);
    const answer = event(shop.deviceKey, samples[2]!);
    const doc = A.change(shop.doc, (d) => {
      d.trade!['00000000000000aa'] = request;
      d.trade![slotId('answer', ref)] = answer;
    });
    const content = readVaultContent(doc, fromHex(shop.id));
    expect(content.trade!.map((e: TradeEvent) => [e.type, e.device])).toEqual([
      ['reservationRequested', prefix],
      ['reservationAccepted', prefix],
    ]);
  });

  it('refuses an event from a device the vault does not list, an answer away from its derived id, a malformed one, a bad key', () => {
    const stranger = 'ffffffff' + '0'.repeat(56);
    const { doc: a, vaultId: va } = vaultWith({ '00000000000000aa': event(stranger, samples[1]!) });
    expect(() => readVaultContent(a, va)).toThrow(/device the vault does not list/);
    const { deviceKey } = vaultWith({});
    const b = vaultWith({}, (d) => {
      const trade = d.trade as Record<string, Uint8Array>;
      trade['00000000000000aa'] = encodeTradeEvent({ ...samples[2]!, device: (d.devices && Object.keys(d.devices as object)[0]!.slice(0, 8)) || deviceKey.slice(0, 8) } as NewTradeEvent);
    });
    expect(() => readVaultContent(b.doc, b.vaultId)).toThrow(/derived id/);
    const c = vaultWith({}, (d) => {
      (d.trade as Record<string, Uint8Array>)['00000000000000aa'] = Uint8Array.of(1, 2, 3);
    });
    expect(() => readVaultContent(c.doc, c.vaultId)).toThrow(/trade event 00000000000000aa/);
    const e = vaultWith({}, (d) => {
      (d.trade as Record<string, Uint8Array>)['XYZ'] = Uint8Array.of(1);
    });
    expect(() => readVaultContent(e.doc, e.vaultId)).toThrow(/16 hex digits/);
  });
});

describe('trade events written concurrently', () => {
  const make = () => OwnShop.create(generateKeyPair(), { name: 'Stall', area: 'Old Town', currency: 'EUR' }, '', Date.now()).shop;

  it('a derived step written on two devices apart keeps both values and reads the smallest, the same everywhere', () => {
    const shop = make();
    const device = shop.deviceKey.slice(0, 8);
    const slot = slotId('expire', ref);
    const a = A.change(A.clone(shop.doc, { actor: 'aa'.repeat(16) }), (d) => {
      d.trade![slot] = encodeTradeEvent({ type: 'reservationExpired', time: 1_764_000_100, device, request: ref });
    });
    const b = A.change(A.clone(shop.doc, { actor: 'bb'.repeat(16) }), (d) => {
      d.trade![slot] = encodeTradeEvent({ type: 'reservationExpired', time: 1_764_000_050, device, request: ref });
    });
    const ab = A.merge(A.clone(a), b);
    const ba = A.merge(A.clone(b), a);
    const read = (doc: A.Doc<unknown>) => readVaultContent(doc, fromHex(shop.id)).trade!.find((e) => e.id === slot)!;
    expect(read(ab)).toEqual(read(ba));
    expect(read(ab).time).toBe(1_764_000_050);
  });

  it('an event under an id its author made, written twice with different values, makes the vault invalid', () => {
    const shop = make();
    const device = shop.deviceKey.slice(0, 8);
    const a = A.change(A.clone(shop.doc, { actor: 'aa'.repeat(16) }), (d) => {
      d.trade!['00000000000000aa'] = encodeTradeEvent({ ...samples[1]!, device } as NewTradeEvent);
    });
    const b = A.change(A.clone(shop.doc, { actor: 'bb'.repeat(16) }), (d) => {
      d.trade!['00000000000000aa'] = encodeTradeEvent({ ...samples[1]!, device, quantity: 9 } as NewTradeEvent);
    });
    expect(() => readVaultContent(A.merge(A.clone(a), b), fromHex(shop.id))).toThrow(/written twice/);
  });
});

describe('a shop made before trade, on two devices', () => {
  it('each device creating the trade map while apart loses no event: both maps are read, and a rewrite check sees both', () => {
    const shop = OwnShop.create(generateKeyPair(), { name: 'Stall', area: 'Old Town', currency: 'EUR' }, '', Date.now()).shop;
    const device = shop.deviceKey.slice(0, 8);
    // As a shop made before this version: no trade map.
    const old = A.change(shop.doc, (d) => {
      delete (d as { trade?: unknown }).trade;
    });
    const a = A.change(A.clone(old, { actor: 'aa'.repeat(16) }), (d) => {
      d.trade = { '00000000000000a1': encodeTradeEvent({ ...samples[1]!, device } as NewTradeEvent) };
    });
    const b = A.change(A.clone(old, { actor: 'bb'.repeat(16) }), (d) => {
      d.trade = { '00000000000000b1': encodeTradeEvent({ ...samples[0]!, device } as NewTradeEvent) };
    });
    const merged = A.merge(A.clone(a), b);
    const ids = readVaultContent(merged, fromHex(shop.id)).trade!.map((e) => e.id).sort();
    expect(ids).toEqual(['00000000000000a1', '00000000000000b1']);
    expect(tradeValues(merged, '00000000000000a1')).toHaveLength(1);
    expect(tradeValues(merged, '00000000000000b1')).toHaveLength(1);
  });
});
