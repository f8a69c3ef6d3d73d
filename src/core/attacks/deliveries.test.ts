import { afterEach, describe, expect, it, vi } from 'vitest';
import { DeliveryDesk, MAX_DRIVER_JOBS_SHOWN, MAX_UNKNOWN_DRIVERS_PER_CHAIN, STALLED_TRIES_PER_PASS, type DeliveryHost } from '../node/deliveryDesk';
import type { SoukNode } from '../node/soukNode';
import { HostileOwner } from '../test/hostileOwner';
import { ManualClock } from '../test/manualClock';
import { eventually, RawPeer } from '../test/rawPeer';
import { allDeliveries, MAX_DELIVERY_LEGS, MAX_JOBS_PER_SELLER, openJobs, proposeDrivers } from '../trade/deliveryBook';
import { ReservationIndex } from '../trade/reservationBook';
import { deliveryRequestId, encodeTradeEvent, slotId, vaultPrefix, type EventRef, type TradeEvent } from '../trade/tradeEvent';
import type { VaultContent } from '../vault/vaultShape';
import { toHex } from '../wire/hex';
import { closeAll, link, openNode, serveWants, vaultOf } from './attackKit';

/**
 * Review 10 (deliveries), ported from its reproductions: D1 one signed event from any vault took
 * a driver out of every seller's proposals; D2 per-change delivery scans were unbounded
 * (quadratic in the seller's stalled deliveries); D3 sybil drivers announcing a huge load for a
 * window to 2106 were proposed before every honest driver.
 */
afterEach(closeAll);

const NOW = 1_750_000_000;
const DEVICE = '01020304';
const SELLER = 'a1'.repeat(32);
const BUYER = 'b1'.repeat(32);
const P = vaultPrefix;

/** Made-up vault ids: n-th of a family. */
const vaultN = (family: string, n: number) => family.repeat(4) + n.toString(16).padStart(4, '0') + family.repeat(56);

/** A fulfilled sale of SELLER to BUYER (reservation `n`), with a delivery chain naming `drivers` in turn, the last one current. */
function sale(n: number, drivers: string[], requestedAt = NOW - 3600, spacing = 60): { buyer: TradeEvent[]; seller: TradeEvent[]; reservation: EventRef; requests: TradeEvent[] } {
  const reservation = { vault: P(BUYER), id: n.toString(16).padStart(16, '0') };
  const buyer = [{ type: 'reservationRequested', id: reservation.id, time: NOW - 9000, device: DEVICE, seller: P(SELLER), product: 'saffron', quantity: 3, price: 500, note: '' } as TradeEvent];
  const seller: TradeEvent[] = [
    { type: 'reservationAccepted', id: slotId('answer', reservation), time: NOW - 8000, device: DEVICE, request: reservation, quantity: 3, holdUntil: NOW + 9999, takes: [] } as TradeEvent,
    { type: 'offerFulfilled', id: slotId('close', reservation), time: NOW - 7000, device: DEVICE, request: reservation, quantity: 3, price: 1500, takes: [] } as TradeEvent,
  ];
  const requests: TradeEvent[] = [];
  let replaces: string | null = null;
  drivers.forEach((driver, i) => {
    const time = requestedAt - (drivers.length - 1 - i) * spacing;
    const id = deliveryRequestId(reservation, replaces);
    requests.push({ type: 'deliveryRequested', id, time, device: DEVICE, request: reservation, driver: P(driver), from: 'Old Town', to: 'New Town', load: 3, answerBy: time + 1800, pickUpBy: time + 7200, deliverBy: time + 86400, replaces } as TradeEvent);
    replaces = id;
  });
  seller.push(...requests);
  return { buyer, seller, reservation, requests };
}

function capacity(load: number, until: number, time = NOW - 10): TradeEvent {
  return { type: 'deliveryCapacity', id: '00000000000000c1', time, device: DEVICE, area: 'New Town', load, from: time, until } as TradeEvent;
}

function accepted(request: TradeEvent, time = NOW - 3000): TradeEvent {
  const ref = { vault: P(SELLER), id: request.id };
  return { type: 'deliveryAccepted', id: slotId('answer', ref), time, device: DEVICE, delivery: ref } as TradeEvent;
}

const content = (role: 'shop' | 'driver', name: string) => ({ profile: { name, area: role === 'driver' ? 'New Town' : 'Old Town', role }, devices: [], revocations: [], offers: [], packedBytes: 0 }) as unknown as VaultContent;

/** A delivery desk over a fixed index, as the node of `own` (SELLER by default) runs it. */
function deskOver(index: () => ReservationIndex, drivers: Set<string>, options: { own?: string; trusted?: Set<string>; met?: Set<string>; clock?: ManualClock } = {}) {
  const own = options.own ?? SELLER;
  const clock = options.clock ?? new ManualClock();
  (clock as unknown as { time: number }).time = NOW * 1000;
  const host: DeliveryHost = {
    clock,
    randomBytes: (n) => new Uint8Array(n),
    shop: () => ({ id: own, deviceKey: DEVICE.repeat(8), content: content(drivers.has(own) ? 'driver' : 'shop', 'me') }),
    contentOf: (id) => (drivers.has(id) ? content('driver', `driver ${id.slice(0, 4)}`) : id === SELLER || id === BUYER ? content('shop', id.slice(0, 4)) : undefined),
    index,
    reservation: () => undefined,
    reservations: () => [],
    edit: async () => {},
    refuse: () => {},
    closed: () => false,
    trusted: (id) => options.trusted?.has(id) ?? false,
    met: (id) => options.met?.has(id) ?? false,
  };
  const desk = new DeliveryDesk(host);
  return { desk, due: () => (desk as unknown as { dueReplacements(): { delivery: { reservation: EventRef }; driver: string }[] }).dueReplacements() };
}

function indexOf(vaults: Record<string, TradeEvent[]>): ReservationIndex {
  return new ReservationIndex(Object.entries(vaults).map(([vaultId, events]) => ({ vaultId, events })));
}

async function participant(name: string, area: string, role: 'shop' | 'driver' = 'shop'): Promise<SoukNode> {
  const node = await openNode();
  await node.createShop({ name, area, currency: 'EUR', role });
  return node;
}

describe('D1 made-up delivery requests naming an honest driver', () => {
  it('a vault that sells nothing cannot take a driver off a seller’s proposals (one signed event, through a real link)', async () => {
    const seller = await participant('Seller', 'Old Town');
    const buyer = await participant('Buyer', 'New Town');
    const driver = await participant('Driver', 'New Town', 'driver');
    const product = await seller.addProduct({ name: 'Saffron', sku: 'SAF', unit: 'g', price: 500, stock: 10 });
    await seller.setOffer(product, { quantity: 10, price: 500 });
    await seller.setTradeRules({ autoAcceptUpTo: 100, holdMinutes: 600 });
    const now = Math.floor(Date.now() / 1000);
    await driver.announceCapacity({ area: 'New Town', load: 10, from: now, until: now + 8 * 3600 });
    link(seller, buyer);
    link(seller, driver);
    await eventually(() => buyer.marketplace('Saffron').offers.length === 1, 20_000, 'offer');
    const request = await buyer.reserve(vaultOf(seller), product, 3);
    await eventually(() => seller.reservations().some((r) => r.request.id === request.id && r.state === 'accepted'), 20_000, 'accepted');
    await seller.fulfilReservation(request);
    await eventually(() => seller.proposedDrivers(request).length === 1, 20_000, 'driver proposed (control)');

    const driverPrefix = vaultOf(driver).slice(0, 16);
    const h = new HostileOwner('Mallory');
    const device = toHex(h.keys.device.publicKey).slice(0, 8);
    h.change((d) => {
      const fake = { vault: toHex(h.keys.vaultId).slice(0, 16), id: '0badc0de0badc0de' };
      d.trade = {
        [deliveryRequestId(fake, null)]: encodeTradeEvent({ type: 'deliveryRequested', time: now, device, request: fake, driver: driverPrefix, from: 'x', to: 'New Town', load: 1e9, answerBy: 0xfffffff0, pickUpBy: 0xfffffff0, deliverBy: 0xfffffff0, replaces: null }),
      };
    });
    const peer = new RawPeer(seller, 'mallory');
    await peer.hello();
    const served = serveWants(peer, [h], false);
    await peer.send({ type: 'heads', statements: [h.statement()] });
    await eventually(() => seller.trade.currentIndex().vaults.has(h.id.slice(0, 16)), 20_000, 'seller carries Mallory');
    const proposed = seller.proposedDrivers(request);
    served.stop();
    expect(proposed.map((p) => [p.name, p.free, p.openJobs])).toEqual([['Driver', 10, 0]]);
    expect(seller.deliveryList()).toEqual([]);
  }, 60_000);

  it('a chain counts only for a held, accepted and fulfilled sale of its vault; a job counts only once the driver accepted it, and at most MAX_JOBS_PER_SELLER per seller', () => {
    const driver = vaultN('d', 1);
    const sales = Array.from({ length: MAX_JOBS_PER_SELLER + 3 }, (_, i) => sale(i + 1, [driver]));
    const sellerEvents = sales.flatMap((s) => s.seller);
    const buyerEvents = sales.flatMap((s) => s.buyer);
    // Chains in a vault that is not the reservations' seller (Mallory copies the seller's requests): not deliveries.
    const mallory = vaultN('e', 1);
    const copied = sales.flatMap((s) => s.requests);
    const index = indexOf({ [SELLER]: sellerEvents, [BUYER]: buyerEvents, [mallory]: copied, [driver]: [capacity(10, NOW + 3600)] });
    const all = allDeliveries(index, NOW);
    expect(all.map((d) => d.seller)).toEqual(sales.map(() => SELLER));
    // Named on every one, accepted none: no open job, the full load free.
    expect(openJobs(all).get(P(driver))).toBeUndefined();
    const want = { area: 'New Town', load: 3, deliverBy: NOW + 86400, now: NOW, maxOpen: 20, limit: 10 };
    expect(proposeDrivers(index, () => 'driver', want).map((p) => [p.driverPrefix, p.free, p.openJobs])).toEqual([[P(driver), 10, 0]]);
    // Accepted all: one seller adds at most MAX_JOBS_PER_SELLER jobs.
    const busy = indexOf({ [SELLER]: sellerEvents, [BUYER]: buyerEvents, [driver]: [capacity(100, NOW + 3600), ...sales.map((s) => accepted(s.requests[0]!))] });
    expect(openJobs(allDeliveries(busy, NOW)).get(P(driver))).toEqual({ count: MAX_JOBS_PER_SELLER, load: 3 * MAX_JOBS_PER_SELLER });
  });
});

describe('D2 per-change delivery scans', () => {
  it('20 000 made-up chains naming a driver are not in the book, and are not on the driver’s page', () => {
    const mallory = 'ee'.repeat(32);
    const driver = 'dd'.repeat(32);
    const events: TradeEvent[] = [];
    for (let i = 0; i < 20_000; i++) {
      const fake = { vault: 'ee'.repeat(8), id: i.toString(16).padStart(16, '0') };
      events.push({ type: 'deliveryRequested', id: deliveryRequestId(fake, null), time: 1, device: DEVICE, request: fake, driver: P(driver), from: 'x', to: 'y', load: 1, answerBy: 2, pickUpBy: 3, deliverBy: 4, replaces: null } as TradeEvent);
    }
    const index = new ReservationIndex([{ vaultId: mallory, events }, { vaultId: driver, events: [] }]);
    expect(allDeliveries(index, NOW)).toEqual([]);
    const { desk } = deskOver(() => index, new Set([driver]), { own: driver });
    expect(desk.board().deliveries).toEqual([]);
  });

  it('a replacement pass reads the carried deliveries about once, not once per stalled delivery', () => {
    const unplaceable = vaultN('d', 1);
    const sales = Array.from({ length: STALLED_TRIES_PER_PASS }, (_, i) => sale(i + 1, [unplaceable]));
    const index = indexOf({ [SELLER]: sales.flatMap((s) => s.seller), [BUYER]: sales.flatMap((s) => s.buyer), [unplaceable]: [] });
    const spy = vi.spyOn(ReservationIndex.prototype, 'eventsOf');
    allDeliveries(index, NOW);
    const oneScan = spy.mock.calls.length;
    spy.mockClear();
    const { due } = deskOver(() => index, new Set([unplaceable]));
    expect(due()).toEqual([]);
    const pass = spy.mock.calls.length;
    spy.mockRestore();
    // The seller's own chains once, every carried chain once (open jobs), capacities once: not one scan per stalled delivery.
    expect(pass).toBeLessThan(4 * oneScan);
  });

  it('stalled deliveries with no driver: at most STALLED_TRIES_PER_PASS looked at per pass, each remembered until the drivers change', () => {
    const gone = vaultN('d', 1);
    const fresh = vaultN('d', 2);
    const stalled = 3 * STALLED_TRIES_PER_PASS;
    const sales = Array.from({ length: stalled }, (_, i) => sale(i + 1, [gone]));
    const base = { [SELLER]: sales.flatMap((s) => s.seller), [BUYER]: sales.flatMap((s) => s.buyer), [gone]: [] as TradeEvent[] };
    let index = indexOf(base);
    const { desk, due } = deskOver(() => index, new Set([gone, fresh]));
    const remembered = () => (desk as unknown as { noDriver: Set<string> }).noDriver.size;
    expect(due()).toEqual([]);
    expect(remembered()).toBe(STALLED_TRIES_PER_PASS);
    expect(due()).toEqual([]);
    expect(remembered()).toBe(2 * STALLED_TRIES_PER_PASS);
    due();
    due();
    expect(remembered()).toBe(stalled);
    // A driver announces capacity: the stalls are looked at again, and handed on (REPLACEMENTS_PER_PASS at a time).
    index = indexOf({ ...base, [fresh]: [capacity(1000, NOW + 3600)] });
    const handed = due();
    expect(handed.length).toBe(STALLED_TRIES_PER_PASS);
    expect(new Set(handed.map((h) => h.driver))).toEqual(new Set([P(fresh)]));
  });

  it('a driver’s page lists at most MAX_DRIVER_JOBS_SHOWN jobs, and says how many more', () => {
    const driver = vaultN('d', 1);
    const sales = Array.from({ length: MAX_DRIVER_JOBS_SHOWN + 25 }, (_, i) => sale(i + 1, [driver]));
    const index = indexOf({ [SELLER]: sales.flatMap((s) => s.seller), [BUYER]: sales.flatMap((s) => s.buyer), [driver]: [] });
    const board = deskOver(() => index, new Set([driver]), { own: driver }).desk.board();
    expect(board.deliveries).toHaveLength(MAX_DRIVER_JOBS_SHOWN);
    expect(board.more).toBe(25);
  });
});

describe('D3 sybil drivers with a huge self-declared load', () => {
  it('do not push an honest driver out of the first MAX_DELIVERY_LEGS proposals (window to 2106 ignored on receipt)', () => {
    const vaults = [{ vaultId: 'aa'.repeat(32), events: [capacity(20, NOW + 8 * 3600)] }];
    for (let i = 0; i < MAX_DELIVERY_LEGS; i++) vaults.push({ vaultId: (0xb0 + i).toString(16).repeat(32), events: [capacity(1e9, 0xffffffff)] });
    const index = new ReservationIndex(vaults);
    const proposed = proposeDrivers(index, () => 'driver', { area: 'New Town', load: 3, deliverBy: NOW + 86_400, now: NOW, maxOpen: 20, limit: MAX_DELIVERY_LEGS });
    expect(proposed.map((p) => p.driverPrefix)).toEqual(['aa'.repeat(8)]);
  });

  it('a huge load within a valid window buys nothing over a known driver; after MAX_UNKNOWN_DRIVERS_PER_CHAIN unknown drivers, the node hands on to known drivers only', () => {
    const honest = vaultN('c', 1);
    const sybils = Array.from({ length: MAX_DELIVERY_LEGS }, (_, i) => vaultN('f', i + 1));
    const vaults: Record<string, TradeEvent[]> = { [honest]: [capacity(5, NOW + 8 * 3600, NOW - 100)] };
    for (const s of sybils) vaults[s] = [capacity(1e9, NOW + 8 * 3600, NOW - 1)];
    const all = new Set([honest, ...sybils]);
    const want = { area: 'New Town', load: 3, deliverBy: NOW + 86_400, now: NOW, maxOpen: 20, limit: 1 };
    // Met beats a huge load and a later announcement.
    const met = new Set([honest]);
    expect(proposeDrivers(indexOf(vaults), () => 'driver', { ...want, known: (id) => (met.has(id) ? 'met' : 'unknown') })[0]!.driver).toBe(honest);

    // A chain whose unknown drivers (sybils) went silent one after another: the node stops at MAX_UNKNOWN_DRIVERS_PER_CHAIN.
    const stalledAfter = (tried: number, known: Set<string>) => {
      const s = sale(1, sybils.slice(0, tried));
      const index = indexOf({ ...vaults, [SELLER]: s.seller, [BUYER]: s.buyer });
      return deskOver(() => index, all, { met: known }).due().map((d) => d.driver);
    };
    expect(stalledAfter(MAX_UNKNOWN_DRIVERS_PER_CHAIN - 1, new Set())).toHaveLength(1);
    expect(stalledAfter(MAX_UNKNOWN_DRIVERS_PER_CHAIN, new Set())).toEqual([]);
    expect(stalledAfter(MAX_UNKNOWN_DRIVERS_PER_CHAIN, new Set([honest]))).toEqual([P(honest)]);
  });
});

describe('steps a driver cannot fake', () => {
  it('delivered counts only after a pick-up; a replaced driver backdating its steps does not change the hand-over reason', () => {
    const d1 = vaultN('d', 1);
    const d2 = vaultN('d', 2);
    // Replaced 2000 s after the first request: past answerBy (1800 s), before pickUpBy (7200 s).
    const s = sale(1, [d1, d2], NOW - 100, 2000);
    const [first, second] = s.requests as [TradeEvent, TradeEvent];
    const ref = { vault: P(SELLER), id: first.id };
    const step = (type: 'deliveryAccepted' | 'deliveryPickedUp' | 'deliveryDelivered', slot: string, time: number) => ({ type, id: slotId(slot, ref), time, device: DEVICE, delivery: ref }) as TradeEvent;
    // d1 never answered and was replaced after answerBy; later it signs steps dated before the replacement.
    const backdated = [step('deliveryAccepted', 'answer', first.time + 1), step('deliveryPickedUp', 'pickup', first.time + 2), step('deliveryDelivered', 'delivered', first.time + 3)];
    const index = indexOf({ [SELLER]: s.seller, [BUYER]: s.buyer, [d1]: backdated, [d2]: [] });
    const [delivery] = allDeliveries(index, NOW);
    expect(delivery!.handOvers.map((h) => h.reason)).toEqual(['no answer']);
    expect(delivery!.legs[0]!.late).toHaveLength(3);
    expect(second.id).toBe(delivery!.current.ref.id);
    // On a current leg, delivered without a pick-up is not delivered.
    const only = sale(2, [d1]);
    const r = { vault: P(SELLER), id: only.requests[0]!.id };
    const steps = [
      { type: 'deliveryAccepted', id: slotId('answer', r), time: NOW - 3000, device: DEVICE, delivery: r },
      { type: 'deliveryDelivered', id: slotId('delivered', r), time: NOW - 2000, device: DEVICE, delivery: r },
    ] as TradeEvent[];
    const noPickUp = indexOf({ [SELLER]: only.seller, [BUYER]: only.buyer, [d1]: steps });
    expect(allDeliveries(noPickUp, NOW)[0]!.current.deliveredAt).toBeNull();
  });
});
