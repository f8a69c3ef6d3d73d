import { describe, expect, it } from 'vitest';
import { WireError } from '../wire/wireError';
import { allDeliveries, areaKey, deliveryOf, driverCapacities, MAX_DELIVERY_LEGS, proposeDrivers, type RoleOf } from './deliveryBook';
import { ReservationIndex } from './reservationBook';
import {
  decodeTradeEvent,
  deliveryRequestId,
  encodeTradeEvent,
  requiredId,
  slotId,
  vaultPrefix,
  type EventRef,
  type NewTradeEvent,
  type TradeEvent,
  type TradeEventOf,
} from './tradeEvent';

const vault = (digit: string) => digit.repeat(64);
const SELLER = vault('a');
const BUYER = vault('b');
const D1 = vault('1');
const D2 = vault('2');
const D3 = vault('3');
const P = vaultPrefix;
const DEVICE = 'dddddddd';
const T0 = 1_700_000_000;

const ROLES: Record<string, 'shop' | 'driver'> = { [P(D1)]: 'driver', [P(D2)]: 'driver', [P(D3)]: 'driver', [P(SELLER)]: 'shop', [P(BUYER)]: 'shop' };
const roles: RoleOf = (prefix) => ROLES[prefix];

/** An event as the vault holds it: encoded and decoded, so every fixture passes the codec's checks. */
function ev(id: string, event: NewTradeEvent): TradeEvent {
  return decodeTradeEvent(id, encodeTradeEvent(event));
}

const reservation: EventRef = { vault: P(BUYER), id: '0101010101010101' };
const requestEvent = ev(reservation.id, { type: 'reservationRequested', time: T0, device: DEVICE, seller: P(SELLER), product: 'saffron', quantity: 3, price: 500, note: '' });
const fulfilled = ev(slotId('close', reservation), { type: 'offerFulfilled', time: T0 + 10, device: DEVICE, request: reservation, quantity: 3, price: 500, takes: [] });
const accepted = ev(slotId('answer', reservation), { type: 'reservationAccepted', time: T0 + 5, device: DEVICE, request: reservation, quantity: 3, holdUntil: T0 + 9999, takes: [] });
/** The seller's side of the sale: a chain counts only for a held reservation its vault accepted and fulfilled. */
const sale = [accepted, fulfilled];

function deliveryRequest(driver: string, time: number, replaces: string | null, load = 3): TradeEventOf<'deliveryRequested'> {
  const event = ev(deliveryRequestId(reservation, replaces), {
    type: 'deliveryRequested',
    time,
    device: DEVICE,
    request: reservation,
    driver: P(driver),
    from: 'Old Town',
    to: 'New Town',
    load,
    answerBy: time + 1800,
    pickUpBy: time + 7200,
    deliverBy: time + 86400,
    replaces,
  });
  return event as TradeEventOf<'deliveryRequested'>;
}

function step(type: 'deliveryAccepted' | 'deliveryPickedUp' | 'deliveryDelivered', of: TradeEvent, time: number): TradeEvent {
  const ref = { vault: P(SELLER), id: of.id };
  const slot = type === 'deliveryAccepted' ? 'answer' : type === 'deliveryPickedUp' ? 'pickup' : 'delivered';
  return ev(slotId(slot, ref), { type, time, device: DEVICE, delivery: ref });
}

function capacity(id: string, area: string, load: number, time: number, until = time + 8 * 3600): TradeEvent {
  return ev(id, { type: 'deliveryCapacity', time, device: DEVICE, area, load, from: time, until });
}

function indexOf(events: Record<string, TradeEvent[]>): ReservationIndex {
  return new ReservationIndex(Object.entries(events).map(([vaultId, list]) => ({ vaultId, events: list })));
}

describe('delivery events', () => {
  it('round-trip with every field, and the request sits at its derived id', () => {
    const first = deliveryRequest(D1, T0 + 20, null);
    expect(first).toMatchObject({ type: 'deliveryRequested', driver: P(D1), load: 3, answerBy: T0 + 1820, pickUpBy: T0 + 7220, deliverBy: T0 + 86420, replaces: null });
    expect(requiredId(first)).toBe(deliveryRequestId(reservation, null));
    const second = deliveryRequest(D2, T0 + 2000, first.id);
    expect(second.replaces).toBe(first.id);
    expect(requiredId(second)).toBe(deliveryRequestId(reservation, first.id));
    expect(requiredId(second)).not.toBe(requiredId(first));
    const accept = step('deliveryAccepted', first, T0 + 30);
    expect(requiredId(accept)).toBe(slotId('answer', { vault: P(SELLER), id: first.id }));
    const cap = capacity('0202020202020202', 'New Town', 12.5, T0);
    expect(cap).toMatchObject({ type: 'deliveryCapacity', area: 'New Town', load: 12.5 });
  });

  it('refuses malformed delivery events', () => {
    const base = { time: T0, device: DEVICE };
    expect(() => encodeTradeEvent({ ...base, type: 'deliveryCapacity', area: 'x'.repeat(121), load: 1, from: T0, until: T0 + 1 })).toThrow(/limit 120/);
    expect(() => encodeTradeEvent({ ...base, type: 'deliveryCapacity', area: 'x', load: 0, from: T0, until: T0 + 1 })).toThrow(/above 0/);
    expect(() => encodeTradeEvent({ ...base, type: 'deliveryCapacity', area: 'x', load: 1.0001, from: T0, until: T0 + 1 })).toThrow(/three decimals/);
    expect(() => encodeTradeEvent({ ...base, type: 'deliveryCapacity', area: 'x', load: 1, from: -1, until: T0 + 1 })).toThrow(/seconds/);
    expect(() =>
      encodeTradeEvent({ ...base, type: 'deliveryRequested', request: reservation, driver: 'zz', from: 'a', to: 'b', load: 1, answerBy: 0, pickUpBy: 0, deliverBy: 0, replaces: null }),
    ).toThrow(/vault prefix/);
    expect(() => encodeTradeEvent({ ...base, type: 'deliveryAccepted', delivery: { vault: P(SELLER), id: 'nothex' } })).toThrow(/event reference/);
    expect(() => encodeTradeEvent({ ...base, type: 'deliveryDeclined', delivery: { vault: P(SELLER), id: '0'.repeat(15) + '1' }, text: 'é'.repeat(61) })).toThrow(/limit 120/);
    // Truncated and padded bytes are refused when read.
    const bytes = encodeTradeEvent({ ...base, type: 'deliveryPickedUp', delivery: { vault: P(SELLER), id: '0'.repeat(15) + '1' } });
    expect(() => decodeTradeEvent('0'.repeat(15) + '2', bytes.subarray(0, bytes.length - 1))).toThrow(WireError);
    expect(() => decodeTradeEvent('0'.repeat(15) + '2', Uint8Array.of(...bytes, 0))).toThrow(WireError);
  });
});

describe('deliveryBook', () => {
  const first = deliveryRequest(D1, T0 + 20, null);
  const second = deliveryRequest(D2, T0 + 2000, first.id);

  it('a current leg moves proposed → accepted → picked up → delivered, and the reservation becomes delivered', () => {
    const seller = [accepted, fulfilled, first];
    const at = (driverEvents: TradeEvent[], now: number) => deliveryOf(indexOf({ [SELLER]: seller, [BUYER]: [requestEvent], [D1]: driverEvents }), P(SELLER), reservation, now)!;
    expect(at([], T0 + 100).state).toBe('proposed');
    expect(at([step('deliveryAccepted', first, T0 + 50)], T0 + 100).state).toBe('accepted');
    expect(at([step('deliveryAccepted', first, T0 + 50), step('deliveryPickedUp', first, T0 + 60)], T0 + 100).state).toBe('pickedUp');
    const done = [step('deliveryAccepted', first, T0 + 50), step('deliveryPickedUp', first, T0 + 60), step('deliveryDelivered', first, T0 + 70)];
    expect(at(done, T0 + 100).state).toBe('delivered');
    // Picked up or delivered without an acceptance does not count; delivered without a pick-up neither.
    expect(at([step('deliveryDelivered', first, T0 + 70)], T0 + 100).state).toBe('proposed');
    expect(at([step('deliveryAccepted', first, T0 + 50), step('deliveryDelivered', first, T0 + 70)], T0 + 100).state).toBe('accepted');
    const index = indexOf({ [SELLER]: seller, [BUYER]: [requestEvent], [D1]: done });
    expect(index.reservation(reservation, 'buyer', T0 + 100)!.state).toBe('delivered');
    expect(indexOf({ [SELLER]: seller, [BUYER]: [requestEvent], [D1]: done.slice(0, 2) }).reservation(reservation, 'buyer', T0 + 100)!.state).toBe('fulfilled');
  });

  it('a leg past the deadline of its due step is silent', () => {
    const index = (driver: TradeEvent[]) => indexOf({ [SELLER]: [...sale, first], [BUYER]: [requestEvent], [D1]: driver });
    expect(deliveryOf(index([]), P(SELLER), reservation, first.answerBy)!.state).toBe('proposed');
    expect(deliveryOf(index([]), P(SELLER), reservation, first.answerBy + 1)!.state).toBe('silent');
    const acceptedStep = [step('deliveryAccepted', first, T0 + 50)];
    expect(deliveryOf(index(acceptedStep), P(SELLER), reservation, first.answerBy + 1)!.state).toBe('accepted');
    expect(deliveryOf(index(acceptedStep), P(SELLER), reservation, first.pickUpBy + 1)!.state).toBe('silent');
    const picked = [...acceptedStep, step('deliveryPickedUp', first, T0 + 60)];
    expect(deliveryOf(index(picked), P(SELLER), reservation, first.deliverBy + 1)!.state).toBe('silent');
  });

  it('a chain: the replaced leg is ignored, its late steps shown, the hand-over named with its reason', () => {
    const index = indexOf({
      [SELLER]: [...sale, first, second],
      [BUYER]: [requestEvent],
      // Driver 1 accepts after it was replaced; driver 2 delivers.
      [D1]: [step('deliveryAccepted', first, T0 + 2500), step('deliveryPickedUp', first, T0 + 2600)],
      [D2]: [step('deliveryAccepted', second, T0 + 2100), step('deliveryPickedUp', second, T0 + 2200), step('deliveryDelivered', second, T0 + 2300)],
    });
    const d = deliveryOf(index, P(SELLER), reservation, T0 + 3000)!;
    expect(d.legs.map((l) => l.state)).toEqual(['replaced', 'delivered']);
    expect(d.legs[0]!.replacedBecause).toBe('no answer');
    expect(d.legs[0]!.acceptedAt).toBeNull();
    expect(d.legs[0]!.late.map((e) => e.type)).toEqual(['deliveryAccepted', 'deliveryPickedUp']);
    expect(d.current.driver).toBe(D2);
    expect(d.handOvers).toEqual([{ from: D1, to: D2, at: T0 + 2000, reason: 'no answer' }]);
    expect(allDeliveries(index, T0 + 3000)).toHaveLength(1);
    // A replaced leg that had accepted before it was replaced, and was replaced after its pick-up deadline, was replaced for not picking up.
    const afterPickUpBy = deliveryRequest(D2, first.pickUpBy + 60, first.id);
    const late = indexOf({ [SELLER]: [...sale, first, afterPickUpBy], [BUYER]: [requestEvent], [D1]: [step('deliveryAccepted', first, T0 + 100)] });
    expect(deliveryOf(late, P(SELLER), reservation, T0 + 9000)!.legs[0]!.replacedBecause).toBe('not picked up');
    // A driver's steps on a leg that names another driver do not count (its slot is that leg's, in the wrong vault).
    const wrongVault = indexOf({ [SELLER]: [...sale, first], [BUYER]: [requestEvent], [D2]: [step('deliveryAccepted', first, T0 + 100)] });
    expect(deliveryOf(wrongVault, P(SELLER), reservation, T0 + 200)!.state).toBe('proposed');
  });

  it('chains are bounded, and a chain for another seller’s reservation is not read', () => {
    const chain: TradeEventOf<'deliveryRequested'>[] = [];
    let replaces: string | null = null;
    for (let i = 0; i < MAX_DELIVERY_LEGS + 3; i++) {
      const r = deliveryRequest(i % 2 ? D2 : D1, T0 + i * 100, replaces);
      chain.push(r);
      replaces = r.id;
    }
    const d = deliveryOf(indexOf({ [SELLER]: [...sale, ...chain], [BUYER]: [requestEvent] }), P(SELLER), reservation, T0)!;
    expect(d.legs).toHaveLength(MAX_DELIVERY_LEGS);
    expect(d.truncated).toBe(true);
    // The buyer's request names SELLER: a chain in another vault for it is not a delivery.
    const other = vault('c');
    expect(deliveryOf(indexOf({ [other]: [first], [BUYER]: [requestEvent] }), P(other), reservation, T0)).toBeUndefined();
    // A request at the wrong id (not derived) is not part of the chain.
    const misplaced = { ...second, id: '0303030303030303' } as TradeEvent;
    expect(deliveryOf(indexOf({ [SELLER]: [...sale, first, misplaced], [BUYER]: [requestEvent] }), P(SELLER), reservation, T0)!.legs).toHaveLength(1);
    // A chain counts only for a held reservation its vault accepted and fulfilled.
    expect(deliveryOf(indexOf({ [SELLER]: [...sale, first] }), P(SELLER), reservation, T0)).toBeUndefined();
    expect(deliveryOf(indexOf({ [SELLER]: [accepted, first], [BUYER]: [requestEvent] }), P(SELLER), reservation, T0)).toBeUndefined();
    expect(deliveryOf(indexOf({ [SELLER]: [fulfilled, first], [BUYER]: [requestEvent] }), P(SELLER), reservation, T0)).toBeUndefined();
    expect(allDeliveries(indexOf({ [SELLER]: [first], [BUYER]: [requestEvent] }), T0)).toEqual([]);
  });

  it('capacity: the latest per driver vault, only drivers, window not past; matched by area text ignoring case and spaces', () => {
    const index = indexOf({
      [D1]: [capacity('1000000000000001', 'Harbour', 2, T0 - 100), capacity('1000000000000002', '  new   TOWN ', 10, T0)],
      [D2]: [capacity('2000000000000001', 'New Town', 4, T0, T0 + 10)],
      [D3]: [capacity('3000000000000001', 'New Town', 8, T0 - 7200, T0 - 1)],
      [BUYER]: [capacity('4000000000000001', 'New Town', 50, T0)],
    });
    expect(areaKey(' New\tTown ')).toBe('new town');
    const caps = driverCapacities(index, roles, T0 + 1);
    expect(caps.map((c) => [c.driver, c.load]).sort()).toEqual([
      [D1, 10],
      [D2, 4],
    ]);
    const want = { area: 'New Town', load: 3, deliverBy: T0 + 86400, now: T0 + 1, maxOpen: 20, limit: 10 };
    expect(proposeDrivers(index, roles, want).map((p) => p.driver)).toEqual([D1, D2]);
    expect(proposeDrivers(index, roles, { ...want, load: 5 }).map((p) => p.driver)).toEqual([D1]);
    expect(proposeDrivers(index, roles, { ...want, exclude: new Set([P(D1)]) }).map((p) => p.driver)).toEqual([D2]);
    expect(proposeDrivers(index, roles, { ...want, area: 'Harbour' })).toEqual([]);
    expect(proposeDrivers(index, roles, { ...want, now: T0 + 11 }).map((p) => p.driver)).toEqual([D1]);
    expect(proposeDrivers(index, roles, { ...want, limit: 1 })).toHaveLength(1);
    // Open jobs (accepted by the driver) take from a driver's free load and count against its limit.
    const job = deliveryRequest(D1, T0, null, 8);
    const busy = indexOf({
      [D1]: [capacity('1000000000000002', 'New Town', 10, T0), step('deliveryAccepted', job, T0 + 1)],
      [D2]: [capacity('2000000000000001', 'New Town', 4, T0)],
      [SELLER]: [...sale, job],
      [BUYER]: [requestEvent],
    });
    expect(proposeDrivers(busy, roles, want).map((p) => [p.driver, p.free, p.openJobs])).toEqual([[D2, 4, 0]]);
    expect(proposeDrivers(busy, roles, { ...want, load: 2 }).map((p) => p.driver)).toEqual([D2, D1]);
    expect(proposeDrivers(busy, roles, { ...want, load: 2, maxOpen: 1 }).map((p) => p.driver)).toEqual([D2]);
    // A job the driver has not accepted counts nothing: anyone can name a driver.
    const named = indexOf({
      [D1]: [capacity('1000000000000002', 'New Town', 10, T0)],
      [D2]: [capacity('2000000000000001', 'New Town', 4, T0)],
      [SELLER]: [...sale, job],
      [BUYER]: [requestEvent],
    });
    expect(proposeDrivers(named, roles, want).map((p) => [p.driver, p.free, p.openJobs])).toEqual([
      [D1, 10, 0],
      [D2, 4, 0],
    ]);
  });

  it('ranking: known drivers first, then fewest open jobs; a huge declared load buys nothing; a window longer than 31 days or ending later is ignored', () => {
    const D4 = vault('4');
    const index = indexOf({
      [D1]: [capacity('1000000000000001', 'New Town', 1e9, T0)],
      [D2]: [capacity('2000000000000001', 'New Town', 4, T0)],
      [D3]: [capacity('3000000000000001', 'New Town', 4, T0)],
      [D4]: [capacity('4000000000000001', 'New Town', 4, T0, 0xffffffff)],
    });
    const roles4: RoleOf = (prefix) => (prefix === P(D4) ? 'driver' : roles(prefix));
    const want = { area: 'New Town', load: 3, deliverBy: T0 + 86400, now: T0 + 1, maxOpen: 20, limit: 10 };
    // D4's window ends more than 31 days ahead: not read. A load of 1e9 ranks like any load that suffices (then by prefix).
    expect(driverCapacities(index, roles4, T0 + 1).map((c) => c.driver)).not.toContain(D4);
    expect(proposeDrivers(index, roles4, want).map((p) => p.driver)).toEqual([D1, D2, D3]);
    const known = (id: string) => (id === D3 ? 'trusted' : id === D2 ? 'met' : 'unknown') as 'trusted' | 'met' | 'unknown';
    expect(proposeDrivers(index, roles4, { ...want, known }).map((p) => [p.driver, p.known])).toEqual([
      [D3, 'trusted'],
      [D2, 'met'],
      [D1, 'unknown'],
    ]);
    expect(proposeDrivers(index, roles4, { ...want, known, knownOnly: true }).map((p) => p.driver)).toEqual([D3, D2]);
    // A window longer than 31 days is ignored as if not written: the driver's earlier announcement counts.
    const long = indexOf({ [D2]: [capacity('2000000000000001', 'New Town', 4, T0), ev('2000000000000002', { type: 'deliveryCapacity', time: T0 + 5, device: DEVICE, area: 'Harbour', load: 4, from: T0 - 40 * 86400, until: T0 + 3600 })] });
    expect(driverCapacities(long, roles, T0 + 10).map((c) => c.area)).toEqual(['New Town']);
  });

  it('a replaced driver cannot change the hand-over reason by dating its steps before the replacement', () => {
    // Driver 1 never answered; the seller's node handed on after answerBy (and before pickUpBy).
    const index = indexOf({
      [SELLER]: [...sale, first, second],
      [BUYER]: [requestEvent],
      // Signed later, dated early: accepted, picked up and delivered "before" the replacement.
      [D1]: [step('deliveryAccepted', first, T0 + 30), step('deliveryPickedUp', first, T0 + 40), step('deliveryDelivered', first, T0 + 50)],
    });
    const d = deliveryOf(index, P(SELLER), reservation, T0 + 2100)!;
    expect(d.legs[0]!.replacedBecause).toBe('no answer');
    expect(d.legs[0]!.acceptedAt).toBeNull();
    expect(d.legs[0]!.late).toHaveLength(3);
    expect(d.handOvers.map((h) => h.reason)).toEqual(['no answer']);
  });
});
