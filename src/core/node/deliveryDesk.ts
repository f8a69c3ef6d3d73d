import type { Clock } from '../clock';
import { InputError } from '../inputError';
import type { SharedVaultDoc } from '../vault/vaultDocuments';
import type { VaultContent } from '../vault/vaultShape';
import { MAX_QUANTITY, utf8Length } from '../vault/vaultLimits';
import { toHex } from '../wire/hex';
import type { ReservationIndex } from '../trade/reservationBook';
import {
  allDeliveries,
  deliveryChain,
  deliveryOf,
  driverCapacities,
  MAX_CAPACITY_WINDOW,
  MAX_DELIVERY_LEGS,
  nextDeadline,
  openJobsOf,
  proposeDrivers,
  type Capacity,
  type Delivery,
  type DeliveryLeg,
  type HandOver,
  type KnownOf,
  type OpenJobs,
  type ProposedDriver,
  type RoleOf,
} from '../trade/deliveryBook';
import {
  AREA_BYTES,
  deliveryRequestId,
  encodeTradeEvent,
  type EventRef,
  type NewTradeEvent,
  NOTE_BYTES,
  putTradeEvent,
  slotId,
  vaultPrefix,
} from '../trade/tradeEvent';
import type { ReservationView } from './tradeDesk';

/** Drivers proposed for one delivery. */
export const MAX_PROPOSED_DRIVERS = 10;
/** Jobs one driver may have open (offered, accepted, picked up) before it is proposed no more, and accepts no more. */
export const MAX_OPEN_JOBS_PER_DRIVER = 20;
/** Replacements the seller's node writes in one pass (the rest in the next). */
export const REPLACEMENTS_PER_PASS = 16;
/** Stalled deliveries the seller's node looks for a driver for in one pass, placed or not (the rest in the next). */
export const STALLED_TRIES_PER_PASS = 16;
/** Drivers neither trusted nor met that the node itself hands one chain to; after that it hands on to known drivers only, or waits for the merchant. */
export const MAX_UNKNOWN_DRIVERS_PER_CHAIN = 3;
/** Deliveries a view lists per side (seller, buyer); a driver's jobs. The rest are counted ("and N more"). */
export const MAX_DELIVERIES_SHOWN = 200;
export const MAX_DRIVER_JOBS_SHOWN = 100;
/** Default windows of a delivery request, from when it is written (seconds). */
export const DEFAULT_DELIVERY_WINDOWS = { answer: 30 * 60, pickUp: 2 * 3600, deliver: 24 * 3600 };
/** A delivery is asked for at most this far ahead (the same 31 days as a driver's capacity window). */
const MAX_DELIVERY_WINDOW = MAX_CAPACITY_WINDOW;

/** What the delivery desk needs of the node. */
export interface DeliveryHost {
  readonly clock: Clock;
  randomBytes(n: number): Uint8Array;
  shop(): { id: string; deviceKey: string; content: VaultContent } | undefined;
  /** A carried vault's checked content, by full id. */
  contentOf(vaultId: string): VaultContent | undefined;
  /** Every event this node carries, as of now (TradeDesk.currentIndex). */
  index(): ReservationIndex;
  /** A reservation as this node sees it (TradeDesk.reservation). */
  reservation(request: EventRef): ReservationView | undefined;
  /** The shop's reservations (TradeDesk.reservations). */
  reservations(): ReservationView[];
  /** An edit of the shared document in the node's edit queue; `check` runs first, inside the queue, and may throw. */
  edit(check: () => void, shareEdit: (draft: SharedVaultDoc) => void): Promise<void>;
  refuse(where: string, reason: string): void;
  closed(): boolean;
  /** Whether the merchant marked this vault (full id) trusted. */
  trusted(vaultId: string): boolean;
  /** Whether this node met this vault's shop (full id) directly. */
  met(vaultId: string): boolean;
}

export interface DeliveryLegView extends DeliveryLeg {
  driverName: string;
}

export interface DeliveryView extends Omit<Delivery, 'legs' | 'current' | 'handOvers'> {
  /** This node's part: the seller (its chain), the buyer (its reservation), or a driver (named on a leg). */
  side: 'seller' | 'buyer' | 'driver';
  legs: DeliveryLegView[];
  current: DeliveryLegView;
  handOvers: (HandOver & { fromName: string; toName: string })[];
  sellerName: string;
  buyerName: string;
  productName: string;
  quantity: number;
  unit: string;
  /** For a driver: its own leg (the latest naming it) and whether it is the current one. */
  mine: DeliveryLegView | null;
  mineIsCurrent: boolean;
}

export interface ProposedDriverView extends ProposedDriver {
  name: string;
}

/** Everything the Deliveries page shows, in one call. */
export interface DeliveryBoard {
  role: 'shop' | 'supplier' | 'driver';
  /** A driver's own latest capacity (window not past), if any. */
  capacity: Capacity | null;
  deliveries: DeliveryView[];
  /** Deliveries not listed (past MAX_DELIVERIES_SHOWN per side, MAX_DRIVER_JOBS_SHOWN jobs): "and N more". */
  more: number;
  /** A seller's fulfilled sales with no delivery yet. */
  awaiting: ReservationView[];
}

/**
 * Deliveries as the node runs them (docs/trade.md "Deliveries"). A driver announces capacity
 * and answers the jobs it is named on; the seller asks for delivery of a fulfilled sale, and its
 * node alone hands a job that stalls — declined, or its step not signed by the step's deadline —
 * to the next proposed driver, on a timer of the node's clock. Every step is written only if its
 * slot is empty, inside the node's edit queue.
 */
export class DeliveryDesk {
  private queued = false;
  private replacing = false;
  private again = false;
  private cancelTimer: (() => void) | undefined;
  private timerAt = Infinity;
  /** Stalled deliveries (their current request) for which no driver was found, while the drivers are as `noDriverKey` says. */
  private noDriver = new Set<string>();
  private noDriverKey = '';

  constructor(private readonly host: DeliveryHost) {}

  private now(): number {
    return Math.floor(this.host.clock.now() / 1000);
  }

  private requireShop() {
    const shop = this.host.shop();
    if (!shop) throw new InputError('shop', 'Create your shop first');
    return shop;
  }

  private roleOf(): RoleOf {
    const shop = this.host.shop();
    // One index for every lookup of the pass: taking it reads every carried vault.
    const index = this.host.index();
    return (prefix) => {
      if (shop && prefix === vaultPrefix(shop.id)) return shop.content.profile.role ?? 'shop';
      const full = index.vaults.get(prefix);
      const content = full ? this.host.contentOf(full) : undefined;
      return content ? (content.profile.role ?? 'shop') : undefined;
    };
  }

  private known(): KnownOf {
    return (id) => (this.host.trusted(id) ? 'trusted' : this.host.met(id) ? 'met' : 'unknown');
  }

  private nameOf(id: string, index = this.host.index()): string {
    const shop = this.host.shop();
    if (shop && (id === shop.id || id === vaultPrefix(shop.id))) return shop.content.profile.name;
    const full = id.length === 64 ? id : index.vaults.get(id);
    return (full && this.host.contentOf(full)?.profile.name) || `not carried here (${id.slice(0, 8)})`;
  }

  // ------------------------------------------------------------------ views

  /** Every delivery this node takes part in, with its side, newest first (not bounded: for counts and checks). */
  private involved(): { d: Delivery; side: DeliveryView['side'] }[] {
    const shop = this.host.shop();
    if (!shop) return [];
    const own = vaultPrefix(shop.id);
    const out: { d: Delivery; side: DeliveryView['side'] }[] = [];
    for (const d of allDeliveries(this.host.index(), this.now())) {
      const side = vaultPrefix(d.seller) === own ? 'seller' : d.reservation.vault === own ? 'buyer' : d.legs.some((l) => l.driverPrefix === own) ? 'driver' : undefined;
      if (side) out.push({ d, side });
    }
    return out;
  }

  /** The deliveries this node takes part in, newest first: at most MAX_DELIVERIES_SHOWN per side, MAX_DRIVER_JOBS_SHOWN jobs. */
  deliveries(): DeliveryView[] {
    return this.listed(this.involved()).shown;
  }

  private listed(all: { d: Delivery; side: DeliveryView['side'] }[]): { shown: DeliveryView[]; more: number } {
    const shop = this.host.shop();
    if (!shop) return { shown: [], more: 0 };
    const own = vaultPrefix(shop.id);
    const index = this.host.index();
    const bound = { seller: MAX_DELIVERIES_SHOWN, buyer: MAX_DELIVERIES_SHOWN, driver: MAX_DRIVER_JOBS_SHOWN };
    const count = { seller: 0, buyer: 0, driver: 0 };
    const shown: DeliveryView[] = [];
    let more = 0;
    for (const { d, side } of all) {
      if (count[side] >= bound[side]) {
        more += 1;
        continue;
      }
      count[side] += 1;
      shown.push(this.viewOf(d, side, own, index));
    }
    return { shown, more };
  }

  private viewOf(d: Delivery, side: DeliveryView['side'], own: string, index = this.host.index()): DeliveryView {
    const nameOf = (id: string) => this.nameOf(id, index);
    const legs = d.legs.map((leg) => ({ ...leg, late: [...leg.late], driverName: nameOf(leg.driver) }));
    const r = this.host.reservation(d.reservation);
    const sellerContent = this.host.contentOf(d.seller);
    const offer = sellerContent?.offers.find((o) => o.productId === r?.product);
    let mine: DeliveryLegView | null = null;
    for (const leg of legs) if (leg.driverPrefix === own) mine = leg;
    return {
      ...d,
      side,
      legs,
      current: legs[legs.length - 1]!,
      handOvers: d.handOvers.map((h) => ({ ...h, fromName: nameOf(h.from), toName: nameOf(h.to) })),
      sellerName: nameOf(d.seller),
      buyerName: nameOf(d.buyer),
      productName: r?.productName ?? offer?.name ?? 'goods',
      quantity: r?.quantity ?? d.load,
      unit: r?.unit ?? offer?.unit ?? '',
      mine,
      mineIsCurrent: mine !== null && mine === legs[legs.length - 1],
    };
  }

  /** The Deliveries page in one call: role, own capacity, deliveries, and the seller's sales waiting for a delivery. */
  board(): DeliveryBoard {
    const shop = this.host.shop();
    const role = shop?.content.profile.role ?? 'shop';
    if (!shop) return { role, capacity: null, deliveries: [], more: 0, awaiting: [] };
    const own = vaultPrefix(shop.id);
    const capacity = role === 'driver' ? (driverCapacities(this.host.index(), this.roleOf(), this.now()).find((c) => c.driverPrefix === own) ?? null) : null;
    const all = this.involved();
    const { shown, more } = this.listed(all);
    const delivering = new Set(all.map(({ d }) => `${d.reservation.vault}:${d.reservation.id}`));
    const awaiting = this.host.reservations().filter((r) => r.side === 'seller' && r.state === 'fulfilled' && !delivering.has(`${r.request.vault}:${r.request.id}`));
    return { role, capacity, deliveries: shown, more, awaiting };
  }

  // ------------------------------------------------------------------ driver

  /** A driver says where it drives, how much it can carry, and when (seconds). Its latest announcement counts. */
  async announceCapacity(input: { area: string; load: number; from: number; until: number }): Promise<void> {
    const shop = this.requireShop();
    if ((shop.content.profile.role ?? 'shop') !== 'driver') throw new InputError('Role', 'Only a driver announces capacity: choose the driver role in your profile first');
    const area = typeof input.area === 'string' ? input.area.trim().replace(/\s+/g, ' ') : '';
    if (!area) throw new InputError('Area', 'Say which area you deliver in');
    if (utf8Length(area) > AREA_BYTES) throw new InputError('Area', `An area is at most ${AREA_BYTES} bytes`);
    checkLoad(input.load);
    const now = this.now();
    const from = checkTime(input.from, 'From');
    const until = checkTime(input.until, 'Until');
    if (until <= from) throw new InputError('Until', 'Until must be after From');
    if (until <= now) throw new InputError('Until', 'That window is already over');
    if (until - from > MAX_CAPACITY_WINDOW) throw new InputError('Until', 'A window is at most 31 days; announce again later');
    // Other nodes ignore a window that ends further ahead (deliveryBook.ts capacityValid): say so here.
    if (until - now > MAX_CAPACITY_WINDOW) throw new InputError('Until', 'A window ends at most 31 days from now; announce again later');
    const bytes = encodeTradeEvent({ type: 'deliveryCapacity', time: now, device: shop.deviceKey.slice(0, 8), area, load: input.load, from, until });
    const id = toHex(this.host.randomBytes(8));
    await this.host.edit(
      () => {},
      (draft) => putTradeEvent(draft, id, bytes),
    );
  }

  /** The driver's job on `ref` (a delivery request), if this driver is named on it. */
  private jobOf(ref: EventRef): { delivery: Delivery; leg: DeliveryLeg; current: boolean } {
    const shop = this.requireShop();
    const own = vaultPrefix(shop.id);
    const index = this.host.index();
    const request = index.event(ref);
    if (!request || request.type !== 'deliveryRequested') throw new InputError('delivery', 'That delivery job is not known here');
    if (request.driver !== own) throw new InputError('delivery', 'That job is for another driver');
    const delivery = deliveryOf(index, ref.vault, request.request, this.now());
    const i = delivery?.legs.findIndex((l) => l.ref.id === ref.id && l.ref.vault === ref.vault) ?? -1;
    if (!delivery || i < 0) throw new InputError('delivery', 'That delivery job is not known here');
    return { delivery, leg: delivery.legs[i]!, current: i === delivery.legs.length - 1 };
  }

  /** A driver accepts or declines a job it is offered (while the seller has not handed it to another driver). */
  async answerDelivery(ref: EventRef, accept: boolean, text = ''): Promise<void> {
    const shop = this.requireShop();
    if (utf8Length(text) > NOTE_BYTES) throw new InputError('Reason', `At most ${NOTE_BYTES} bytes`);
    let event: NewTradeEvent | undefined;
    await this.host.edit(
      () => {
        const { leg, current } = this.jobOf(ref);
        if (!current) throw new InputError('delivery', 'Too late: the seller gave this job to another driver');
        if (leg.acceptedAt !== null || leg.declined) throw new InputError('delivery', `You already ${leg.declined ? 'declined' : 'accepted'} this job`);
        if (accept) {
          // Only jobs this driver accepted count (anyone may name it on a request).
          const own = vaultPrefix(shop.id);
          const accepted = this.involved().filter(({ d }) => d.current.driverPrefix === own && d.current.acceptedAt !== null && d.current.deliveredAt === null).length;
          if (accepted >= MAX_OPEN_JOBS_PER_DRIVER) throw new InputError('delivery', `You have ${accepted} jobs open; deliver some first`);
        }
        const base = { time: this.now(), device: shop.deviceKey.slice(0, 8), delivery: ref };
        event = accept ? { type: 'deliveryAccepted', ...base } : { type: 'deliveryDeclined', ...base, text: text.trim() };
      },
      (draft) => putTradeEvent(draft, slotId('answer', ref), encodeTradeEvent(event!)),
    );
  }

  /** The driver has the goods. */
  reportPickedUp(ref: EventRef): Promise<void> {
    return this.report(ref, 'pickup');
  }

  /** The driver handed the goods to the buyer: the reservation becomes delivered. */
  reportDelivered(ref: EventRef): Promise<void> {
    return this.report(ref, 'delivered');
  }

  private async report(ref: EventRef, slot: 'pickup' | 'delivered'): Promise<void> {
    const shop = this.requireShop();
    let bytes: Uint8Array | undefined;
    await this.host.edit(
      () => {
        const { leg, current } = this.jobOf(ref);
        if (!current) throw new InputError('delivery', 'Too late: the seller gave this job to another driver');
        if (leg.acceptedAt === null) throw new InputError('delivery', leg.declined ? 'You declined this job' : 'Accept the job first');
        if (leg.deliveredAt !== null) throw new InputError('delivery', 'You already reported this job delivered');
        if (slot === 'pickup' && leg.pickedUpAt !== null) throw new InputError('delivery', 'You already reported the pick-up');
        if (slot === 'delivered' && leg.pickedUpAt === null) throw new InputError('delivery', 'Report the pick-up first');
        const base = { time: this.now(), device: shop.deviceKey.slice(0, 8), delivery: ref };
        bytes = encodeTradeEvent(slot === 'pickup' ? { type: 'deliveryPickedUp', ...base } : { type: 'deliveryDelivered', ...base });
      },
      (draft) => putTradeEvent(draft, slotId(slot, ref), bytes!),
    );
  }

  // ------------------------------------------------------------------ seller

  /** The seller's own fulfilled sale behind `request`, with the buyer's area (its profile's). */
  private ownSale(request: EventRef): { sale: ReservationView; to: string } {
    const shop = this.requireShop();
    if (!request || typeof request.vault !== 'string' || typeof request.id !== 'string') throw new InputError('reservation', 'That reservation is not known here');
    const sale = this.host.reservation(request);
    if (!sale || sale.side !== 'seller' || vaultPrefix(sale.seller) !== vaultPrefix(shop.id)) throw new InputError('reservation', 'That reservation is not one of your sales');
    if (sale.state === 'delivered') throw new InputError('reservation', 'That sale is already delivered');
    if (sale.state !== 'fulfilled') throw new InputError('reservation', `Only a fulfilled sale is delivered; this one is ${sale.state}`);
    const buyer = this.host.contentOf(sale.buyer);
    if (!buyer) throw new InputError('reservation', "The buyer's shop is not carried here, so its area is unknown; wait until it syncs");
    return { sale, to: buyer.profile.area };
  }

  /** Drivers with capacity in the buyer's area and enough free load, not yet tried on this delivery. */
  proposedDrivers(request: EventRef, deliverBy?: number): ProposedDriverView[] {
    const shop = this.requireShop();
    const { sale, to } = this.ownSale(request);
    const index = this.host.index();
    const tried = new Set(deliveryChain(index, vaultPrefix(shop.id), request).requests.map((r) => r.driver));
    const now = this.now();
    return proposeDrivers(index, this.roleOf(), {
      area: to,
      load: sale.quantity,
      deliverBy: deliverBy === undefined ? now + DEFAULT_DELIVERY_WINDOWS.deliver : checkTime(deliverBy, 'Deliver by'),
      exclude: tried,
      now,
      maxOpen: MAX_OPEN_JOBS_PER_DRIVER,
      limit: MAX_PROPOSED_DRIVERS,
      known: this.known(),
    }).map((p) => ({ ...p, name: this.nameOf(p.driver) }));
  }

  /**
   * Asks a driver to deliver a fulfilled sale: `driver` (a full vault id), or the first
   * proposed. `deliverBy` in seconds (default a day from now). A delivery whose driver stalled
   * or declined and that the node could not hand on (no driver left) is asked again this way,
   * as the next request of its chain.
   */
  async requestDelivery(request: EventRef, options: { driver?: string; deliverBy?: number } = {}): Promise<EventRef> {
    const shop = this.requireShop();
    const own = vaultPrefix(shop.id);
    let written: { id: string; bytes: Uint8Array } | undefined;
    await this.host.edit(
      () => {
        const now = this.now();
        const { sale, to } = this.ownSale(request);
        const index = this.host.index();
        const existing = deliveryOf(index, own, request, now);
        if (existing && existing.state !== 'declined' && existing.state !== 'silent') {
          throw new InputError('delivery', `${this.nameOf(existing.current.driver)} is on this delivery (${existing.state})`);
        }
        if (existing && existing.legs.length >= MAX_DELIVERY_LEGS) throw new InputError('delivery', `${MAX_DELIVERY_LEGS} drivers were tried on this delivery; deliver it another way`);
        let windows = DEFAULT_DELIVERY_WINDOWS;
        if (options.deliverBy !== undefined) {
          const deliverBy = checkTime(options.deliverBy, 'Deliver by');
          if (deliverBy - now < 2 * 3600) throw new InputError('Deliver by', 'Give the driver at least two hours');
          if (deliverBy - now > MAX_DELIVERY_WINDOW) throw new InputError('Deliver by', 'At most 31 days ahead');
          windows = { answer: DEFAULT_DELIVERY_WINDOWS.answer, pickUp: Math.min(DEFAULT_DELIVERY_WINDOWS.pickUp, Math.floor((deliverBy - now) / 2)), deliver: deliverBy - now };
        } else if (existing) windows = windowsOf(existing);
        let driver: string;
        if (options.driver !== undefined) {
          if (typeof options.driver !== 'string' || !/^[0-9a-f]{64}$/.test(options.driver)) throw new InputError('Driver', 'That driver is not known here');
          const content = options.driver === shop.id ? undefined : this.host.contentOf(options.driver);
          if (!content) throw new InputError('Driver', 'That driver is not known here');
          if (content.profile.role !== 'driver') throw new InputError('Driver', `${content.profile.name} is not a driver`);
          driver = vaultPrefix(options.driver);
          if (existing?.legs.some((l) => l.driverPrefix === driver)) throw new InputError('Driver', `${content.profile.name} was already asked for this delivery`);
        } else {
          const first = this.proposedDrivers(request, now + windows.deliver)[0];
          if (!first) throw new InputError('Driver', `No driver has announced capacity for ${sale.quantity} ${sale.unit} in ${to} yet`);
          driver = first.driverPrefix;
        }
        written = this.requestEvent(shop, request, driver, sale.quantity, to, now, windows, existing?.current.ref.id ?? null);
      },
      (draft) => putTradeEvent(draft, written!.id, written!.bytes),
    );
    return { vault: own, id: written!.id };
  }

  private requestEvent(
    shop: { id: string; deviceKey: string; content: VaultContent },
    request: EventRef,
    driver: string,
    load: number,
    to: string,
    now: number,
    windows: { answer: number; pickUp: number; deliver: number },
    replaces: string | null,
  ): { id: string; bytes: Uint8Array } {
    const event: NewTradeEvent = {
      type: 'deliveryRequested',
      time: now,
      device: shop.deviceKey.slice(0, 8),
      request,
      driver,
      from: shop.content.profile.area,
      to,
      load,
      answerBy: now + windows.answer,
      pickUpBy: now + windows.pickUp,
      deliverBy: now + windows.deliver,
      replaces,
    };
    return { id: deliveryRequestId(request, replaces), bytes: encodeTradeEvent(event) };
  }

  // ------------------------------------------------------------------ the seller's node: replacement

  /** Called on every node change: hands on stalled deliveries, and keeps the deadline timer. */
  nodeChanged(): void {
    if (this.queued) return;
    this.queued = true;
    queueMicrotask(() => {
      this.queued = false;
      if (this.host.closed()) return;
      this.replaceDue();
    });
  }

  /**
   * The seller's deliveries whose current driver declined or went silent, with a driver to hand
   * on to. Bounded per pass: only the seller's own vault is read for its chains; open jobs and
   * capacities are computed once; at most STALLED_TRIES_PER_PASS stalled deliveries are looked at
   * (placed or not); one found with no driver is remembered and not looked at again until the
   * drivers (capacities, open jobs, who is known) change. After MAX_UNKNOWN_DRIVERS_PER_CHAIN
   * drivers neither trusted nor met, a chain is handed on to known drivers only.
   */
  private dueReplacements(): { delivery: Delivery; driver: string }[] {
    const shop = this.host.shop();
    if (!shop) return [];
    const own = vaultPrefix(shop.id);
    const now = this.now();
    const index = this.host.index();
    const mine = allDeliveries(index, now, [own]);
    const due: { delivery: Delivery; driver: string }[] = [];
    let next = Infinity;
    const roleOf = this.roleOf();
    const known = this.known();
    let pass: { jobs: OpenJobs; capacities: Capacity[] } | undefined;
    const drivers = () => {
      if (pass) return pass;
      const jobs = openJobsOf(index, now);
      const capacities = driverCapacities(index, roleOf, now);
      const key = [
        capacities.map((c) => `${c.id}:${c.driverPrefix}:${known(c.driver)}`).join(','),
        [...jobs].map(([driver, j]) => `${driver}:${j.count}:${j.load}`).join(','),
      ].join('|');
      if (key !== this.noDriverKey || this.noDriver.size > 4096) {
        this.noDriverKey = key;
        this.noDriver.clear();
      }
      pass = { jobs, capacities };
      return pass;
    };
    let tries = 0;
    for (const d of mine) {
      if (d.state === 'declined' || d.state === 'silent') {
        if (d.legs.length >= MAX_DELIVERY_LEGS || d.truncated) continue;
        const { jobs, capacities } = drivers();
        const stall = `${d.current.ref.vault}:${d.current.ref.id}`;
        if (this.noDriver.has(stall)) continue;
        if (due.length >= REPLACEMENTS_PER_PASS || tries >= STALLED_TRIES_PER_PASS) {
          // The rest in the next pass, in a second.
          next = Math.min(next, now);
          continue;
        }
        tries += 1;
        const windows = windowsOf(d);
        const tried = new Set(d.legs.map((l) => l.driverPrefix));
        const unknownTried = d.legs.filter((l) => known(l.driver) === 'unknown').length;
        const [driver] = proposeDrivers(index, roleOf, {
          area: d.to,
          load: d.load,
          deliverBy: now + windows.deliver,
          exclude: tried,
          now,
          maxOpen: MAX_OPEN_JOBS_PER_DRIVER,
          limit: 1,
          known,
          knownOnly: unknownTried >= MAX_UNKNOWN_DRIVERS_PER_CHAIN,
          jobs,
          capacities,
        });
        if (driver) due.push({ delivery: d, driver: driver.driverPrefix });
        else this.noDriver.add(stall);
      } else {
        const deadline = nextDeadline(d.current);
        if (deadline !== null) next = Math.min(next, deadline);
      }
    }
    this.schedule(next);
    return due;
  }

  private replaceDue(): void {
    if (this.replacing) {
      this.again = true;
      return;
    }
    if (!this.dueReplacements().length) return;
    this.replacing = true;
    const writes: { id: string; bytes: Uint8Array }[] = [];
    this.host
      .edit(
        () => {
          writes.length = 0;
          const shop = this.requireShop();
          const now = this.now();
          for (const { delivery, driver } of this.dueReplacements()) {
            writes.push(this.requestEvent(shop, delivery.reservation, driver, delivery.load, delivery.to, now, windowsOf(delivery), delivery.current.ref.id));
          }
        },
        (draft) => {
          for (const { id, bytes } of writes) putTradeEvent(draft, id, bytes);
        },
      )
      .catch((error) => this.host.refuse('delivery', `handing on deliveries failed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => {
        this.replacing = false;
        if (this.again) {
          this.again = false;
          this.nodeChanged();
        }
      });
  }

  /** A timer for the next deadline of the seller's current legs (seconds): then the node looks again. */
  private schedule(at: number): void {
    if (at === this.timerAt) return;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.timerAt = at;
    if (at === Infinity) return;
    const delay = Math.max(0, at * 1000 - this.host.clock.now() + 1000);
    this.cancelTimer = this.host.clock.setTimer(() => {
      this.cancelTimer = undefined;
      this.timerAt = Infinity;
      this.nodeChanged();
    }, delay);
  }

  close(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }
}

/** A replacement gets the same windows as the chain's first request, from when it is written. */
function windowsOf(d: Delivery): { answer: number; pickUp: number; deliver: number } {
  const first = d.legs[0]!;
  return { answer: Math.max(60, first.answerBy - first.requestedAt), pickUp: Math.max(60, first.pickUpBy - first.requestedAt), deliver: Math.max(60, first.deliverBy - first.requestedAt) };
}

function checkLoad(load: number): void {
  if (typeof load !== 'number' || !Number.isFinite(load) || load <= 0) throw new InputError('Load', 'Load must be above 0');
  if (load > MAX_QUANTITY) throw new InputError('Load', `Load is at most ${MAX_QUANTITY}`);
  if (Math.round(load * 1000) / 1000 !== load) throw new InputError('Load', 'Load has at most three decimals');
}

function checkTime(value: number, field: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 0xffffffff) throw new InputError(field, `${field} is not a date and time`);
  return Math.floor(value);
}
