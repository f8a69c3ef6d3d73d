import type { ReservationIndex } from './reservationBook';
import { deliveryRequestId, slotId, type EventRef, type TradeEvent, type TradeEventOf } from './tradeEvent';

/**
 * Deliveries as every side sees them (seller, buyer, driver), derived from signed events alone.
 * Pure: the same events and the same `now` give the same picture on every node.
 *
 * - A **driver** announces capacity in its own vault (`deliveryCapacity`: area, load, window);
 *   its latest announcement counts, while its window has not passed.
 * - The **seller** writes delivery requests into its own vault, one chain per reservation: the
 *   first at `deliveryRequestId(reservation, null)`, each replacement at
 *   `deliveryRequestId(reservation, <replaced id>)` (tradeEvent.ts), so the chain is a line
 *   whichever device writes it. The last request of the chain is the current one. A chain is a
 *   delivery only if the reservation it names is held, names the chain's vault as its seller,
 *   and that seller accepted and fulfilled it (cheap checks first: made-up chains drop at once).
 * - The named **driver** answers in its own vault at the steps' derived ids (`answer`: accepted
 *   or declined, `pickup`, `delivered`) of the delivery request's reference.
 * - A replaced request's steps never count: they are shown as late.
 * - A driver's open jobs count only the jobs it accepted (its own signed step), at most
 *   MAX_JOBS_PER_SELLER from one seller vault.
 *
 * Bounded: a chain is read at most MAX_DELIVERY_LEGS long (a longer one stops there), refs are
 * resolved within the index only.
 */
export const MAX_DELIVERY_LEGS = 8;
/** A capacity window is at most this long, and ends at most this far ahead (seconds); a longer one is ignored on receipt. */
export const MAX_CAPACITY_WINDOW = 31 * 24 * 3600;
/** Open jobs one seller vault can add to one driver's count and load. */
export const MAX_JOBS_PER_SELLER = 5;

/** One driver's turn: a delivery request of the chain and that driver's steps on it. */
export type LegState = 'proposed' | 'accepted' | 'pickedUp' | 'delivered' | 'declined' | 'silent' | 'replaced';

/** Why the seller's node handed a delivery to the next driver. */
export type HandOverReason = 'declined' | 'no answer' | 'not picked up' | 'not delivered';

export interface DeliveryLeg {
  /** The delivery request: the seller's vault prefix and its id. */
  ref: EventRef;
  /** The driver's vault: its full id where carried, else the 8-byte prefix. */
  driver: string;
  driverPrefix: string;
  requestedAt: number;
  answerBy: number;
  pickUpBy: number;
  deliverBy: number;
  /**
   * proposed (waiting for the driver's answer), accepted, pickedUp, delivered, declined,
   * silent (past the deadline of the step that was due: the seller's node replaces it), or
   * replaced (the chain moved on to the next driver).
   */
  state: LegState;
  acceptedAt: number | null;
  pickedUpAt: number | null;
  deliveredAt: number | null;
  declined: { time: number; text: string } | null;
  /** For a replaced leg: why (from the steps signed before the replacement). */
  replacedBecause: HandOverReason | null;
  /** Steps this driver signed after it was replaced: ignored, shown as late. */
  late: TradeEvent[];
}

export interface HandOver {
  from: string;
  to: string;
  at: number;
  reason: HandOverReason;
}

export interface Delivery {
  reservation: EventRef;
  /** The seller's vault prefix (the chain lives there) and the buyer's (the reservation's). */
  seller: string;
  buyer: string;
  from: string;
  to: string;
  load: number;
  /** Every driver's turn, oldest first; the last is the current one. */
  legs: DeliveryLeg[];
  current: DeliveryLeg;
  /** The current leg's state: the delivery's. */
  state: LegState;
  handOvers: HandOver[];
  updatedAt: number;
  /** The chain went on past MAX_DELIVERY_LEGS; only the first legs are read. */
  truncated: boolean;
}

export interface Capacity {
  driver: string;
  driverPrefix: string;
  area: string;
  load: number;
  from: number;
  until: number;
  announcedAt: number;
  id: string;
}

/** A vault's role by its prefix (its profile's), undefined when not carried. */
export type RoleOf = (vaultPrefix: string) => 'shop' | 'supplier' | 'driver' | undefined;

/** Area buckets match when their text is equal ignoring case and runs of spaces (no geography). */
export function areaKey(area: string): string {
  return area.normalize('NFC').trim().replace(/\s+/g, ' ').toLocaleLowerCase('en');
}

function eventAt<T extends TradeEvent['type']>(index: ReservationIndex, vault: string, id: string, type: T): TradeEventOf<T> | undefined {
  const event = index.eventsOf(vault)?.get(id);
  return event?.type === type ? (event as TradeEventOf<T>) : undefined;
}

function sameRef(a: EventRef, b: EventRef): boolean {
  return a.vault === b.vault && a.id === b.id;
}

/** The driver's step at its derived slot of `ref`, if it is of one of `types` and names `ref`. */
function stepOf(index: ReservationIndex, driver: string, slot: string, ref: EventRef, types: TradeEvent['type'][]): TradeEvent | undefined {
  const event = index.eventsOf(driver)?.get(slotId(slot, ref));
  if (!event || !types.includes(event.type)) return undefined;
  return 'delivery' in event && sameRef(event.delivery, ref) ? event : undefined;
}

/** The delivery requests of one reservation in the seller's vault, first to current, at most `max`. */
export function deliveryChain(index: ReservationIndex, seller: string, reservation: EventRef, max = MAX_DELIVERY_LEGS): { requests: TradeEventOf<'deliveryRequested'>[]; truncated: boolean } {
  const requests: TradeEventOf<'deliveryRequested'>[] = [];
  if (!isSaleOf(index, seller, reservation)) return { requests, truncated: false };
  let replaces: string | null = null;
  for (;;) {
    const next: TradeEventOf<'deliveryRequested'> | undefined = eventAt(index, seller, deliveryRequestId(reservation, replaces), 'deliveryRequested');
    if (!next || !sameRef(next.request, reservation) || next.replaces !== replaces) return { requests, truncated: false };
    if (requests.length >= max) return { requests, truncated: true };
    requests.push(next);
    replaces = next.id;
  }
}

/**
 * Whether `reservation` is a fulfilled sale of `seller`: the request is held and names the seller,
 * and the seller's vault holds its acceptance and its fulfilment. Map look-ups only.
 */
export function isSaleOf(index: ReservationIndex, seller: string, reservation: EventRef): boolean {
  const held = index.event(reservation);
  if (!held || held.type !== 'reservationRequested' || held.seller !== seller || reservation.vault === seller) return false;
  const sellerEvents = index.eventsOf(seller);
  const accepted = sellerEvents?.get(slotId('answer', reservation));
  if (accepted?.type !== 'reservationAccepted' || !sameRef(accepted.request, reservation)) return false;
  const close = sellerEvents?.get(slotId('close', reservation));
  return close?.type === 'offerFulfilled' && sameRef(close.request, reservation);
}

/** One leg's picture: its driver's steps, judged against its deadlines (current) or its replacement (replaced). */
function legOf(index: ReservationIndex, seller: string, request: TradeEventOf<'deliveryRequested'>, replacedAt: number | null, now: number): DeliveryLeg {
  const ref = { vault: seller, id: request.id };
  const driver = request.driver;
  const answer = stepOf(index, driver, 'answer', ref, ['deliveryAccepted', 'deliveryDeclined']);
  const pickup = stepOf(index, driver, 'pickup', ref, ['deliveryPickedUp']);
  const delivered = stepOf(index, driver, 'delivered', ref, ['deliveryDelivered']);
  const leg: DeliveryLeg = {
    ref,
    driver: index.vaults.get(driver) ?? driver,
    driverPrefix: driver,
    requestedAt: request.time,
    answerBy: request.answerBy,
    pickUpBy: request.pickUpBy,
    deliverBy: request.deliverBy,
    state: 'proposed',
    acceptedAt: null,
    pickedUpAt: null,
    deliveredAt: null,
    declined: null,
    replacedBecause: null,
    late: [],
  };
  // A replaced leg counts only what was signed before its replacement; the rest is late.
  const counts = (step: TradeEvent | undefined): step is TradeEvent => {
    if (!step) return false;
    if (replacedAt !== null && step.time > replacedAt) {
      leg.late.push(step);
      return false;
    }
    return true;
  };
  if (counts(answer)) {
    if (answer.type === 'deliveryDeclined') leg.declined = { time: answer.time, text: answer.text };
    else leg.acceptedAt = answer.time;
  }
  // Picked up counts only after an acceptance, delivered only after a pick-up.
  if (counts(pickup) && leg.acceptedAt !== null) leg.pickedUpAt = pickup.time;
  if (counts(delivered) && leg.pickedUpAt !== null) leg.deliveredAt = delivered.time;
  if (replacedAt !== null) {
    // The seller's node hands on only a declined leg, or one whose due step is past its deadline at
    // the seller's own replacement time: a step the driver dated before the replacement (it may
    // backdate it) but that the seller could not have seen then is late.
    if (leg.deliveredAt !== null) {
      leg.late.push(delivered!);
      leg.deliveredAt = null;
    }
    if (leg.pickedUpAt !== null && replacedAt <= leg.deliverBy) {
      leg.late.push(pickup!);
      leg.pickedUpAt = null;
    }
    if (leg.acceptedAt !== null && leg.pickedUpAt === null && replacedAt <= leg.pickUpBy) {
      leg.late.push(answer!);
      leg.acceptedAt = null;
    }
  }
  leg.late.sort((a, b) => a.time - b.time);

  if (leg.deliveredAt !== null) leg.state = 'delivered';
  else if (leg.declined) leg.state = 'declined';
  else if (leg.pickedUpAt !== null) leg.state = 'pickedUp';
  else if (leg.acceptedAt !== null) leg.state = 'accepted';
  if (replacedAt !== null) {
    leg.replacedBecause =
      leg.state === 'declined' ? 'declined' : leg.state === 'proposed' ? 'no answer' : leg.state === 'accepted' ? 'not picked up' : 'not delivered';
    leg.state = 'replaced';
    return leg;
  }
  if (overdue(leg, now)) leg.state = 'silent';
  return leg;
}

/** Whether the step due on a leg is past its deadline (seconds). */
function overdue(leg: DeliveryLeg, now: number): boolean {
  if (leg.state === 'proposed') return now > leg.answerBy;
  if (leg.state === 'accepted') return now > leg.pickUpBy;
  if (leg.state === 'pickedUp') return now > leg.deliverBy;
  return false;
}

/** The deadline of the step due next on a current leg, or null when nothing is due. */
export function nextDeadline(leg: DeliveryLeg): number | null {
  if (leg.state === 'proposed') return leg.answerBy;
  if (leg.state === 'accepted') return leg.pickUpBy;
  if (leg.state === 'pickedUp') return leg.deliverBy;
  return null;
}

/** The delivery of one reservation (its chain in the seller's vault), or undefined if there is none. */
export function deliveryOf(index: ReservationIndex, seller: string, reservation: EventRef, now: number): Delivery | undefined {
  const { requests, truncated } = deliveryChain(index, seller, reservation);
  if (!requests.length) return undefined;
  const legs = requests.map((request, i) => legOf(index, seller, request, i + 1 < requests.length ? requests[i + 1]!.time : null, now));
  const current = legs[legs.length - 1]!;
  const first = requests[0]!;
  const handOvers: HandOver[] = [];
  for (let i = 1; i < legs.length; i++) handOvers.push({ from: legs[i - 1]!.driver, to: legs[i]!.driver, at: legs[i]!.requestedAt, reason: legs[i - 1]!.replacedBecause! });
  let updatedAt = 0;
  for (const leg of legs) updatedAt = Math.max(updatedAt, leg.requestedAt, leg.acceptedAt ?? 0, leg.pickedUpAt ?? 0, leg.deliveredAt ?? 0, leg.declined?.time ?? 0);
  return {
    reservation,
    seller: index.vaults.get(seller) ?? seller,
    buyer: index.vaults.get(reservation.vault) ?? reservation.vault,
    from: first.from,
    to: first.to,
    load: first.load,
    legs,
    current,
    state: current.state,
    handOvers,
    updatedAt,
    truncated,
  };
}

/** Whether the reservation's current driver reported it delivered. */
export function isDelivered(index: ReservationIndex, seller: string, reservation: EventRef): boolean {
  return deliveryOf(index, seller, reservation, 0)?.state === 'delivered';
}

/**
 * Every delivery whose chain a carried vault holds (each chain starts at its first request's
 * derived id), or only those of `sellers` (vault prefixes). A chain whose reservation is not a
 * fulfilled sale of its vault is dropped at its first map look-ups, before any hash is computed.
 */
export function allDeliveries(index: ReservationIndex, now: number, sellers?: Iterable<string>): Delivery[] {
  const out: Delivery[] = [];
  for (const prefix of sellers ?? index.vaults.keys()) {
    for (const event of index.eventsOf(prefix)?.values() ?? []) {
      if (event.type !== 'deliveryRequested' || event.replaces !== null) continue;
      if (!isSaleOf(index, prefix, event.request)) continue;
      if (event.id !== deliveryRequestId(event.request, null)) continue;
      const delivery = deliveryOf(index, prefix, event.request, now);
      if (delivery) out.push(delivery);
    }
  }
  return out.sort((a, b) => b.updatedAt - a.updatedAt || (a.reservation.id < b.reservation.id ? -1 : 1));
}

export type OpenJobs = Map<string, { count: number; load: number }>;

/**
 * Jobs a driver accepted and has not delivered (accepted, picked up, or silent after accepting,
 * not yet replaced) per driver prefix, with their load. A request the driver never accepted counts
 * nothing (anyone may name a driver), and one seller vault adds at most MAX_JOBS_PER_SELLER jobs.
 */
export function openJobs(deliveries: readonly Delivery[]): OpenJobs {
  const jobs: OpenJobs = new Map();
  const perSeller = new Map<string, number>();
  for (const d of deliveries) {
    const leg = d.current;
    if (leg.acceptedAt === null || leg.deliveredAt !== null || leg.declined) continue;
    const key = `${leg.driverPrefix}:${leg.ref.vault}`;
    const fromSeller = perSeller.get(key) ?? 0;
    if (fromSeller >= MAX_JOBS_PER_SELLER) continue;
    perSeller.set(key, fromSeller + 1);
    const was = jobs.get(leg.driverPrefix) ?? { count: 0, load: 0 };
    jobs.set(leg.driverPrefix, { count: was.count + 1, load: Math.round((was.load + d.load) * 1000) / 1000 });
  }
  return jobs;
}

const openJobsCache = new WeakMap<ReservationIndex, { now: number; jobs: OpenJobs }>();

/** openJobs of every carried delivery, kept per index and second (an index never changes). */
export function openJobsOf(index: ReservationIndex, now: number): OpenJobs {
  const kept = openJobsCache.get(index);
  if (kept?.now === now) return kept.jobs;
  const jobs = openJobs(allDeliveries(index, now));
  openJobsCache.set(index, { now, jobs });
  return jobs;
}

/** Whether a capacity's window is acceptable on receipt: at most MAX_CAPACITY_WINDOW long, ending at most MAX_CAPACITY_WINDOW after `now`, not past. */
function capacityValid(event: TradeEventOf<'deliveryCapacity'>, now: number): boolean {
  return event.until > now && event.until > event.from && event.until - event.from <= MAX_CAPACITY_WINDOW && event.until - now <= MAX_CAPACITY_WINDOW;
}

/**
 * Each driver's latest capacity (by time, then id), only from vaults whose profile names the
 * driver role, window not past. An announcement whose window is longer than MAX_CAPACITY_WINDOW,
 * or ends more than MAX_CAPACITY_WINDOW ahead, is ignored (as if not written).
 */
export function driverCapacities(index: ReservationIndex, roleOf: RoleOf, now: number): Capacity[] {
  const out: Capacity[] = [];
  for (const prefix of index.vaults.keys()) {
    if (roleOf(prefix) !== 'driver') continue;
    let latest: TradeEventOf<'deliveryCapacity'> | undefined;
    for (const event of index.eventsOf(prefix)?.values() ?? []) {
      if (event.type !== 'deliveryCapacity' || !capacityValid(event, now)) continue;
      if (!latest || event.time > latest.time || (event.time === latest.time && event.id > latest.id)) latest = event;
    }
    if (!latest) continue;
    out.push({ driver: index.vaults.get(prefix) ?? prefix, driverPrefix: prefix, area: latest.area, load: latest.load, from: latest.from, until: latest.until, announcedAt: latest.time, id: latest.id });
  }
  return out;
}

export interface ProposedDriver extends Capacity {
  /** What the driver can still take: its load less its open jobs'. */
  free: number;
  openJobs: number;
  /** How the seller's node knows the driver: a shop it trusts, one it met, or neither. */
  known: 'trusted' | 'met' | 'unknown';
}

/** How the seller's node knows a driver (by its full vault id). */
export type KnownOf = (driverId: string) => 'trusted' | 'met' | 'unknown';

const KNOWN_RANK = { trusted: 0, met: 1, unknown: 2 } as const;

/**
 * Drivers proposed for a delivery: latest capacity in `area` (areaKey equality), a window that
 * has not passed and begins before `deliverBy`, enough free load, fewer than `maxOpen` open
 * jobs, none of `exclude` (drivers already tried on this delivery), and only known ones if
 * `knownOnly`. Trusted drivers first, then met ones, then the rest; within each, fewest open
 * jobs first, then min(free, load) (so a huge self-declared load buys nothing), then the
 * latest announcement; at most `limit`. `jobs` and `capacities`, when given, are the pass's
 * (computed once per pass, not per delivery).
 */
export function proposeDrivers(
  index: ReservationIndex,
  roleOf: RoleOf,
  want: {
    area: string;
    load: number;
    deliverBy: number;
    exclude?: ReadonlySet<string>;
    now: number;
    maxOpen: number;
    limit: number;
    known?: KnownOf;
    knownOnly?: boolean;
    jobs?: OpenJobs;
    capacities?: readonly Capacity[];
  },
): ProposedDriver[] {
  const key = areaKey(want.area);
  const jobs = want.jobs ?? openJobsOf(index, want.now);
  const out: ProposedDriver[] = [];
  for (const capacity of want.capacities ?? driverCapacities(index, roleOf, want.now)) {
    if (want.exclude?.has(capacity.driverPrefix)) continue;
    if (areaKey(capacity.area) !== key) continue;
    if (capacity.from >= want.deliverBy) continue;
    const known = want.known?.(capacity.driver) ?? 'unknown';
    if (want.knownOnly && known === 'unknown') continue;
    const open = jobs.get(capacity.driverPrefix) ?? { count: 0, load: 0 };
    if (open.count >= want.maxOpen) continue;
    const free = Math.round((capacity.load - open.load) * 1000) / 1000;
    if (free < want.load) continue;
    out.push({ ...capacity, free, openJobs: open.count, known });
  }
  const enough = (p: ProposedDriver) => Math.min(p.free, want.load);
  out.sort(
    (a, b) =>
      KNOWN_RANK[a.known] - KNOWN_RANK[b.known] ||
      a.openJobs - b.openJobs ||
      enough(b) - enough(a) ||
      b.announcedAt - a.announcedAt ||
      (a.driverPrefix < b.driverPrefix ? -1 : 1),
  );
  return out.slice(0, want.limit);
}
