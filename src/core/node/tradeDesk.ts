import type { Clock } from '../clock';
import { InputError } from '../inputError';
import type { VaultContent } from '../vault/vaultShape';
import type { Product, SharedVaultDoc } from '../vault/vaultDocuments';
import { toHex } from '../wire/hex';
import type { CatalogDraft } from './ownShop';
import { holdsOf, REFUSAL_REASONS, ReservationIndex, type RefusalCode, type Reservation, type VaultEvents } from '../trade/reservationBook';
import {
  encodeTradeEvent,
  type EventRef,
  MAX_TAKES,
  MESSAGE_BYTES,
  type NewTradeEvent,
  NOTE_BYTES,
  putTradeEvent,
  slotId,
  type Take,
  type TradeEvent,
  vaultPrefix,
} from '../trade/tradeEvent';
import { utf8Length } from '../vault/vaultLimits';
import { isExpired, roundQuantity, sellableStock, utcDay } from '../catalog/fefo';
import { quantity as checkedQuantity } from '../catalog/catalog';
import { recordReservationMove } from './reservationMove';
import { MAX_TRADE_EVENTS } from '../vault/vaultShape';

/** The seller's rule for requests, kept in the node's settings (per device). */
export interface TradeRules {
  /** Requests up to this many units are accepted by the node at once; null: the merchant answers each. */
  autoAcceptUpTo: number | null;
  /** How long an accepted hold lasts, in minutes. */
  holdMinutes: number;
}

export const DEFAULT_TRADE_RULES: TradeRules = { autoAcceptUpTo: null, holdMinutes: 24 * 60 };
/** Answers wait this long from the first request due, so requests arriving together share one edit (one signed version). */
const ANSWER_GATHER_MS = 50;
/** The longest answers wait for the node to finish taking a burst of peers' versions. */
const ANSWER_WAIT_MS = 250;
const DAY_MS = 86_400_000;
/** Requests answered in one edit (the rest wait for the next). */
const ANSWERS_PER_EDIT = 64;
/** Messages one side may write on one reservation. */
export const MAX_MESSAGES_PER_SIDE = 50;
/** Open requests this node's buyer may have at once. */
export const MAX_OPEN_REQUESTS = 500;
/**
 * Answers the node writes by itself (acceptances, refusals, `seen`), per buyer and in all for
 * buyers that are not trusted: each answer is an event in the seller's own vault, so a flood of
 * requests (one buyer's, or many made-up buyers') must not fill it. Beyond the budget a request
 * waits, unanswered, until the budget refills; the merchant can still answer it by hand. Buyers
 * met on a link share one budget and buyers only heard of (through others) another, so vaults
 * minted and relayed in bulk cannot starve a buyer who came to the shop.
 */
export const ANSWER_BUDGET = { perBuyer: 20, all: 300, refillMs: 60 * 60_000 } as const;
/** The node stops answering by itself this close to its vault's trade-event limit. */
const OWN_EVENTS_RESERVE = 500;

/** A token bucket: `capacity` tokens, all refilled over `refillMs`. */
class Allowance {
  private tokens: number;
  private at: number;
  constructor(
    private readonly capacity: number,
    private readonly refillMs: number,
    now: number,
  ) {
    this.tokens = capacity;
    this.at = now;
  }
  available(now: number): number {
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.at) / this.refillMs) * this.capacity);
    this.at = now;
    return this.tokens;
  }
  take(now: number): boolean {
    if (this.available(now) < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** What the trade desk needs of the node. */
export interface TradeHost {
  readonly clock: Clock;
  randomBytes(n: number): Uint8Array;
  /** The shop this device belongs to, as of now. */
  shop(): { id: string; deviceKey: string; rootDevice: boolean; content: VaultContent; products: ReadonlyMap<string, Product> } | undefined;
  /** Every carried vault but the own, with its checked content where loaded. */
  carried(): Iterable<{ id: string; content: VaultContent | undefined }>;
  rules(): TradeRules;
  /** A shop the merchant marked trusted: its requests are answered without the budget. */
  trusted(vaultId: string): boolean;
  /** A shop whose device proved itself on a link to this node: its requests draw on their own budget, apart from shops only heard of. */
  met(vaultId: string): boolean;
  /** True while peers' vault versions wait to be taken: answers wait for them (a little) and go out together. */
  busy(): boolean;
  /** An edit of the shop in the node's edit queue (editShop). */
  edit<T>(edit: (draft: CatalogDraft) => { result: T; touched: string[] }, shareEdit?: (draft: SharedVaultDoc) => void): Promise<T>;
  refuse(where: string, reason: string): void;
  changed(): void;
  closed(): boolean;
}

export interface ReservationView extends Reservation {
  productName: string;
  unit: string;
  buyerName: string;
  sellerName: string;
  currency: string;
}

/**
 * Reservations as the node keeps them: the buyer's requests written into its own vault, and the
 * seller's node judging requests addressed to it, alone, in the node's edit queue — one request
 * after another, so two buyers racing for the last units get one acceptance and one refusal.
 * Every answering step sits at its derived id and is written only if its slot is empty, so a
 * request applied twice (a retry, a reconnect, the same vault heard by radio and WebRTC)
 * changes nothing. Holds expire on a timer; the shared offer leaves out what is held.
 */
export class TradeDesk {
  private index = new ReservationIndex([]);
  /** Content each vault's events were read from, to rebuild only what changed. */
  private readonly seen = new Map<string, { content: VaultContent | undefined; events: VaultEvents }>();
  private ownContent: VaultContent | undefined;
  private answering = false;
  private answerAgain = false;
  private cancelExpiry: (() => void) | undefined;
  private expiryAt = Infinity;
  private rescanQueued = false;

  constructor(private readonly host: TradeHost) {}

  /** What the seller's accepted holds keep out of a product's shared offer (OwnShop.offerOf reads it). */
  heldOf(productId: string): number {
    return this.held.get(productId) ?? 0;
  }

  private held = new Map<string, number>();
  /** Per buyer vault prefix, and for all untrusted buyers together (ANSWER_BUDGET); bounded by the carried vaults. */
  private readonly allowances = new Map<string, Allowance>();
  private allAllowance: Allowance | undefined;
  private metAllowance: Allowance | undefined;
  private cancelRefill: (() => void) | undefined;
  private warnedFull = false;

  /** Spends one answer on a request from `buyer` (a vault prefix); false when its budget (or the shared one) is spent. */
  private spendAnswer(buyer: string): boolean {
    const now = this.host.clock.now();
    const full = this.index.vaults.get(buyer);
    if (full && this.host.trusted(full)) return true;
    const shop = this.host.shop();
    const known = shop ? this.tradedWith(shop.id, buyer) : false;
    // Strangers' answers stop at half the vault's room for events: the rest is for known buyers and the merchant.
    if (!known && (this.index.eventsOf(vaultPrefix(shop?.id ?? ''))?.size ?? 0) >= MAX_TRADE_EVENTS / 2) return false;
    let own = this.allowances.get(buyer);
    if (!own) {
      if (this.allowances.size >= 4096) for (const [key, a] of this.allowances) if (a.available(now) >= ANSWER_BUDGET.perBuyer) this.allowances.delete(key);
      own = new Allowance(ANSWER_BUDGET.perBuyer, ANSWER_BUDGET.refillMs, now);
      this.allowances.set(buyer, own);
    }
    this.allAllowance ??= new Allowance(ANSWER_BUDGET.all, ANSWER_BUDGET.refillMs, now);
    this.metAllowance ??= new Allowance(ANSWER_BUDGET.all, ANSWER_BUDGET.refillMs, now);
    // A buyer this shop has sold to before does not draw on the budget strangers share.
    const shared = known ? undefined : full && this.host.met(full) ? this.metAllowance : this.allAllowance;
    if (own.available(now) < 1 || (shared && shared.available(now) < 1)) {
      // Look again once a token is back.
      this.cancelRefill ??= this.host.clock.setTimer(() => {
        this.cancelRefill = undefined;
        this.nodeChanged();
      }, Math.ceil(ANSWER_BUDGET.refillMs / ANSWER_BUDGET.perBuyer));
      return false;
    }
    own.take(now);
    shared?.take(now);
    return true;
  }

  /** Buyers (vault prefixes) this seller has fulfilled a reservation for: computed once per index. */
  private traded: { index: ReservationIndex; buyers: Set<string> } | undefined;
  private tradedWith(sellerId: string, buyer: string): boolean {
    if (this.traded?.index !== this.index) {
      const buyers = new Set<string>();
      for (const r of this.index.reservationsOf(sellerId, this.nowSeconds())) if (r.side === 'seller' && r.state === 'fulfilled') buyers.add(r.request.vault);
      this.traded = { index: this.index, buyers };
    }
    return this.traded.buyers.has(buyer);
  }

  private nowSeconds(): number {
    return Math.floor(this.host.clock.now() / 1000);
  }

  /** Called on every node change: re-reads the vaults whose content moved, then answers what is due. */
  nodeChanged(): void {
    if (this.rescanQueued) return;
    this.rescanQueued = true;
    queueMicrotask(() => {
      this.rescanQueued = false;
      if (this.host.closed()) return;
      this.rescan();
      this.answerDue();
    });
  }

  /** Rebuilds the index from the carried vaults' checked content (only vaults whose content object changed are re-read). */
  rescan(): void {
    const shop = this.host.shop();
    let moved = false;
    const present = new Set<string>();
    const entries: VaultEvents[] = [];
    const take = (id: string, content: VaultContent | undefined) => {
      present.add(id);
      const was = this.seen.get(id);
      if (was && was.content === content) {
        entries.push(was.events);
        return;
      }
      moved = true;
      const events: VaultEvents = { vaultId: id, events: content?.trade ?? was?.events.events ?? [] };
      this.seen.set(id, { content, events });
      entries.push(events);
    };
    if (shop) take(shop.id, shop.content);
    for (const { id, content } of this.host.carried()) if (id !== shop?.id) take(id, content);
    for (const id of [...this.seen.keys()]) if (!present.has(id)) {
      this.seen.delete(id);
      moved = true;
    }
    if (!moved && this.ownContent === shop?.content) return;
    this.ownContent = shop?.content;
    this.index = new ReservationIndex(entries);
    this.held = shop ? holdsOf(this.index, shop.id, this.nowSeconds()) : new Map();
    this.scheduleExpiry();
  }

  // ------------------------------------------------------------------ views

  reservations(): ReservationView[] {
    const shop = this.host.shop();
    if (!shop) return [];
    this.rescan();
    const now = this.nowSeconds();
    return this.index.reservationsOf(shop.id, now).map((r) => this.viewOf(r));
  }

  reservation(request: EventRef): ReservationView | undefined {
    const shop = this.host.shop();
    if (!shop) return undefined;
    this.rescan();
    const side = request.vault === vaultPrefix(shop.id) ? 'buyer' : 'seller';
    const r = this.index.reservation(request, side, this.nowSeconds());
    return r && this.viewOf(r);
  }

  /** An edit through the node's queue; on failure the holds are read again from what the shop holds. */
  private async edit(edit: Parameters<TradeHost['edit']>[0], shareEdit?: Parameters<TradeHost['edit']>[1]): Promise<void> {
    try {
      await this.host.edit(edit, shareEdit);
    } catch (error) {
      const shop = this.host.shop();
      this.rescan();
      this.held = shop ? holdsOf(this.index, shop.id, this.nowSeconds()) : new Map();
      throw error;
    }
  }

  /** The index as of now (for the trail and deliveries). */
  currentIndex(): ReservationIndex {
    this.rescan();
    return this.index;
  }

  private viewOf(r: Reservation): ReservationView {
    const shop = this.host.shop()!;
    const contentOf = (id: string) => (id === shop.id ? shop.content : this.seen.get(id)?.content);
    const seller = contentOf(r.seller);
    const buyer = contentOf(r.buyer);
    const own = r.side === 'seller' ? shop.products.get(r.product) : undefined;
    const offer = seller?.offers.find((o) => o.productId === r.product);
    return {
      ...r,
      steps: [...r.steps],
      productName: own?.name ?? offer?.name ?? r.product,
      unit: own?.unit ?? offer?.unit ?? '',
      buyerName: buyer?.profile.name ?? 'a buyer not carried here',
      sellerName: seller?.profile.name ?? 'a seller not carried here',
      currency: seller?.profile.currency ?? shop.content.profile.currency,
    };
  }

  // ------------------------------------------------------------------ buyer

  /**
   * Reserves `quantity` of a seller's offer: a request with an id made on this device, written
   * into this shop's own vault. Works with the seller unreachable: the request travels with the
   * vault whenever a link (WebRTC or radio) carries it.
   */
  async reserve(sellerVaultId: string, productId: string, quantity: number, note = ''): Promise<EventRef> {
    const shop = this.requireShop();
    if (!/^[0-9a-f]{64}$/.test(sellerVaultId)) throw new InputError('seller', 'That seller is not known here');
    if (sellerVaultId === shop.id) throw new InputError('seller', 'You cannot reserve from your own shop');
    const seller = [...this.host.carried()].find((v) => v.id === sellerVaultId)?.content;
    const offer = seller?.offers.find((o) => o.productId === productId);
    if (!offer) throw new InputError('offer', 'That offer is no longer listed');
    quantity = checkedQuantity('Quantity', quantity, { aboveZero: true });
    if (quantity > offer.quantity) throw new InputError('Quantity', `Only ${offer.quantity} ${offer.unit} offered`);
    if (utf8Length(note) > NOTE_BYTES) throw new InputError('Note', `A note is at most ${NOTE_BYTES} bytes`);
    this.rescan();
    const open = this.index.reservationsOf(shop.id, this.nowSeconds()).filter((r) => r.side === 'buyer' && (r.state === 'sent' || r.state === 'seen'));
    if (open.length >= MAX_OPEN_REQUESTS) throw new InputError('reservation', `You have ${open.length} requests waiting for an answer; cancel some first`);
    const id = toHex(this.host.randomBytes(8));
    const event: NewTradeEvent = {
      type: 'reservationRequested',
      time: this.nowSeconds(),
      device: shop.deviceKey.slice(0, 8),
      seller: vaultPrefix(sellerVaultId),
      product: productId,
      quantity,
      price: offer.price,
      note,
    };
    const bytes = encodeTradeEvent(event);
    await this.edit(
      () => ({ result: undefined, touched: [] }),
      (draft) => putTradeEvent(draft, id, bytes),
    );
    return { vault: vaultPrefix(shop.id), id };
  }

  /** Cancels a reservation: the buyer's own, or (as the seller) an accepted hold, which releases it. */
  async cancel(request: EventRef, text = ''): Promise<void> {
    const shop = this.requireShop();
    if (utf8Length(text) > NOTE_BYTES) throw new InputError('Reason', `At most ${NOTE_BYTES} bytes`);
    await this.edit(
      () => {
        this.rescan();
        this.held = holdsOf(this.index, shop.id, this.nowSeconds());
        const r = this.index.reservation(request, request.vault === vaultPrefix(shop.id) ? 'buyer' : 'seller', this.nowSeconds());
        if (!r) throw new InputError('reservation', 'That reservation is not known here');
        if (!['sent', 'seen', 'accepted'].includes(r.state)) throw new InputError('reservation', `That reservation is already ${r.state}`);
        if (r.side === 'seller' && !this.isSellerOf(r)) throw new InputError('reservation', 'That reservation is not one of your sales');
        if (r.side === 'seller' && r.state !== 'accepted') throw new InputError('reservation', 'Refuse the request instead');
        if (r.side === 'seller') this.releaseHold(r);
        return { result: undefined, touched: r.side === 'seller' ? [r.product] : [] };
      },
      (draft) => putTradeEvent(draft, slotId('cancel', request), encodeTradeEvent({ type: 'reservationCancelled', time: this.nowSeconds(), device: shop.deviceKey.slice(0, 8), request, text })),
    );
  }

  /** A short message on a reservation, from either side. */
  async message(request: EventRef, text: string): Promise<void> {
    const shop = this.requireShop();
    const trimmed = text.trim();
    if (!trimmed) throw new InputError('Message', 'Write a message first');
    if (utf8Length(trimmed) > MESSAGE_BYTES) throw new InputError('Message', `A message is at most ${MESSAGE_BYTES} bytes`);
    this.rescan();
    const r = this.index.reservation(request, request.vault === vaultPrefix(shop.id) ? 'buyer' : 'seller', this.nowSeconds());
    if (!r) throw new InputError('reservation', 'That reservation is not known here');
    if (r.messages.filter((m) => m.from === r.side).length >= MAX_MESSAGES_PER_SIDE) throw new InputError('Message', `At most ${MAX_MESSAGES_PER_SIDE} messages per reservation`);
    const id = toHex(this.host.randomBytes(8));
    const bytes = encodeTradeEvent({ type: 'reservationMessage', time: this.nowSeconds(), device: shop.deviceKey.slice(0, 8), request, text: trimmed });
    await this.edit(
      () => ({ result: undefined, touched: [] }),
      (draft) => putTradeEvent(draft, id, bytes),
    );
  }

  // ------------------------------------------------------------------ seller

  /** The merchant's answer to a request waiting for one. */
  async answer(request: EventRef, accept: boolean, text = ''): Promise<void> {
    if (utf8Length(text) > NOTE_BYTES) throw new InputError('Reason', `At most ${NOTE_BYTES} bytes`);
    const shop = this.requireShop();
    this.rescan();
    const event = this.index.event(request);
    if (!event) throw new InputError('reservation', 'That request has not reached this shop');
    if (event.type !== 'reservationRequested' || event.seller !== vaultPrefix(shop.id) || request.vault === vaultPrefix(shop.id)) throw new InputError('reservation', 'That request is not addressed to your shop');
    const answered = await this.answerNow([request], accept ? 'accept' : { code: 4, text });
    const outcome = answered.get(`${request.vault}:${request.id}`);
    if (!outcome) throw new InputError('reservation', 'That request is not waiting for an answer');
    if (accept && outcome !== 'accepted') throw new InputError('reservation', `Refused: ${outcome}`);
  }

  /**
   * Fulfils an accepted reservation: the sale is recorded (`inventory.offer.fulfilled` at the
   * request's closing slot) and the stock moves, in one edit — exactly once: a second call finds
   * the slot filled and changes nothing.
   */
  async fulfil(request: EventRef): Promise<void> {
    const shop = this.requireShop();
    let sale: { quantity: number; price: number; takes: Take[] } | undefined;
    await this.edit(
      (draft) => {
        this.rescan();
        this.held = holdsOf(this.index, shop.id, this.nowSeconds());
        const r = this.index.reservation(request, 'seller', this.nowSeconds());
        if (!r || !this.isSellerOf(r)) throw new InputError('reservation', 'That reservation is not one of your sales');
        if (r.state === 'fulfilled') throw new InputError('reservation', 'That reservation is already fulfilled');
        if (r.state !== 'accepted') throw new InputError('reservation', `That reservation is ${r.state}, not accepted`);
        const product = draft.products.get(r.product);
        if (!product) throw new InputError('product', 'That product no longer exists');
        const price = Math.min(r.price, product.offer?.price ?? r.price);
        // The stock moves once whichever device fulfils (a move filed under the request), from the earliest expiry first.
        const { takes } = recordReservationMove(draft, { request, productId: r.product, quantity: r.quantity, unitPrice: price, at: this.host.clock.now() });
        const receipts = new Map(product.batches.filter((b) => b.receipt).map((b) => [b.id, b.receipt!]));
        const named: Take[] = takes.flatMap((t) => (receipts.has(t.batch) ? [{ receipt: receipts.get(t.batch)!, quantity: t.quantity }] : [])).slice(0, MAX_TAKES);
        const after = draft.products.get(r.product)!;
        const offered = after.offer ? { ...after.offer, quantity: Math.max(0, roundQuantity(after.offer.quantity - r.quantity)) } : null;
        draft.put({ ...after, offer: offered, updatedAt: this.host.clock.now() });
        this.releaseHold(r);
        sale = { quantity: r.quantity, price, takes: named };
        return { result: undefined, touched: [r.product] };
      },
      (draft) => {
        const f = sale!;
        putTradeEvent(draft, slotId('close', request), encodeTradeEvent({ type: 'offerFulfilled', time: this.nowSeconds(), device: shop.deviceKey.slice(0, 8), request, quantity: f.quantity, price: f.price, takes: f.takes }));
      },
    );
  }

  /**
   * Writes `inventory.offer.created` for a product just offered (one product at a time: an
   * import's offers are not each an event), with the offer's quantity, price and earliest expiry.
   */
  writeOfferCreated(draft: SharedVaultDoc, product: Product): void {
    const shop = this.host.shop();
    if (!shop || !product.offer || product.offer.quantity <= 0) return;
    const today = utcDay(this.host.clock.now());
    const live = product.batches.filter((b) => b.quantity > 0 && !(b.expiresOn && isExpired(b.expiresOn, today)));
    const expiries = live.filter((b) => b.expiresOn).map((b) => b.expiresOn).sort();
    const receipts: Take[] = live.filter((b) => b.receipt).slice(0, MAX_TAKES).map((b) => ({ receipt: b.receipt!, quantity: b.quantity }));
    try {
      const bytes = encodeTradeEvent({
        type: 'offerCreated',
        time: this.nowSeconds(),
        device: shop.deviceKey.slice(0, 8),
        product: product.id,
        quantity: product.offer.quantity,
        price: product.offer.price,
        expiresOn: expiries[0] ?? null,
        receipts,
      });
      putTradeEvent(draft, toHex(this.host.randomBytes(8)), bytes);
    } catch {
      // An offer the codec cannot carry (an odd imported id) is still offered; its trail starts at the first sale.
    }
  }


  /** When answering started waiting for the node to take what peers sent (ms), if it is waiting. */
  private waitingSince: number | undefined;
  private cancelWait: (() => void) | undefined;

  /** Answers the requests addressed to this shop that have no answer yet, by the seller's rule. */
  private answerDue(): void {
    const shop = this.host.shop();
    // One device answers by the rule, expires holds and releases them: the shop's first (root)
    // device. Two devices judging the same stock while apart would hold it twice; the others
    // answer only by the merchant's hand.
    if (!shop || this.host.closed() || !shop.rootDevice) return;
    if (this.answering) {
      this.answerAgain = true;
      return;
    }
    // Requests arriving together are answered in one edit: gather for ANSWER_GATHER_MS from the
    // first, and longer while the node is still taking peers' versions (at most ANSWER_WAIT_MS).
    const now = this.host.clock.now();
    if (this.cancelWait) return;
    const waited = this.waitingSince === undefined ? 0 : now - this.waitingSince;
    if (waited < ANSWER_GATHER_MS || (this.host.busy() && waited < ANSWER_WAIT_MS)) {
      if (!this.dueRequests().length && !this.expiringHolds().length && !this.releasedByBuyers().length) return;
      this.waitingSince ??= now;
      this.cancelWait = this.host.clock.setTimer(() => {
        this.cancelWait = undefined;
        this.answerDue();
      }, this.waitingSince + ANSWER_GATHER_MS > now ? this.waitingSince + ANSWER_GATHER_MS - now : 20);
      return;
    }
    this.waitingSince = undefined;
    const due = this.dueRequests();
    const expiring = this.expiringHolds();
    const releasing = this.releasedByBuyers();
    if (!due.length && !expiring.length && !releasing.length) return;
    this.answering = true;
    this.answerNow(due.map((d) => d.ref), 'rule')
      .catch((error) => this.host.refuse('trade', `answering reservations failed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => {
        this.answering = false;
        if (this.answerAgain) {
          this.answerAgain = false;
          this.nodeChanged();
        }
      });
  }

  /** When this node first saw each request (ms; bounded): the order requests are answered in, whatever time a buyer claims. */
  private readonly firstSeen = new Map<string, number>();

  /**
   * Requests to this shop without an answer slot or a `seen` slot (those wait for the merchant):
   * each buyer's in the order this node first saw them, buyers taken in turn, so no buyer (or
   * swarm of made-up buyers) can push another's request back by back-dating its own.
   */
  private dueRequests(): { ref: EventRef; time: number }[] {
    const shop = this.host.shop()!;
    const own = this.index.eventsOf(vaultPrefix(shop.id));
    const now = this.host.clock.now();
    const byBuyer = new Map<string, { ref: EventRef; time: number }[]>();
    for (const { ref } of this.index.requestsTo(vaultPrefix(shop.id))) {
      if (own?.has(slotId('answer', ref))) continue;
      if (own?.has(slotId('seen', ref))) continue;
      const key = `${ref.vault}:${ref.id}`;
      let seen = this.firstSeen.get(key);
      if (seen === undefined) {
        if (this.firstSeen.size >= 65_536) this.firstSeen.delete(this.firstSeen.keys().next().value!);
        seen = now;
        this.firstSeen.set(key, seen);
      }
      const list = byBuyer.get(ref.vault);
      if (list) list.push({ ref, time: seen });
      else byBuyer.set(ref.vault, [{ ref, time: seen }]);
    }
    const queues = [...byBuyer.values()].map((list) => list.sort((a, b) => a.time - b.time || (a.ref.id < b.ref.id ? -1 : 1)));
    queues.sort((a, b) => a[0]!.time - b[0]!.time || (a[0]!.ref.vault < b[0]!.ref.vault ? -1 : 1));
    const due: { ref: EventRef; time: number }[] = [];
    for (let round = 0; due.length < ANSWERS_PER_EDIT * 4; round++) {
      let any = false;
      for (const queue of queues) {
        const next = queue[round];
        if (!next) continue;
        any = true;
        due.push(next);
      }
      if (!any) break;
    }
    return due;
  }

  private expiringHolds(): Reservation[] {
    const shop = this.host.shop()!;
    const own = this.index.eventsOf(vaultPrefix(shop.id));
    const now = this.nowSeconds();
    return this.index
      .reservationsOf(shop.id, now)
      .filter((r) => r.side === 'seller' && r.state === 'expired' && r.holdUntil !== null && !own?.has(slotId('expire', r.request)));
  }

  /** Accepted holds the buyer cancelled that this seller has not yet released in its own vault. */
  private releasedByBuyers(): Reservation[] {
    const shop = this.host.shop()!;
    const own = this.index.eventsOf(vaultPrefix(shop.id));
    return this.index
      .reservationsOf(shop.id, this.nowSeconds())
      .filter((r) => r.side === 'seller' && r.state === 'cancelled' && r.cancelledBy === 'buyer' && r.holdUntil !== null && !own?.has(slotId('cancel', r.request)) && !own?.has(slotId('close', r.request)));
  }

  /** True when this shop is the seller the request names (whatever side a caller supposed). */
  private isSellerOf(r: Reservation): boolean {
    const shop = this.host.shop();
    return !!shop && vaultPrefix(r.seller) === vaultPrefix(shop.id) && r.request.vault !== vaultPrefix(shop.id);
  }

  private releaseHold(r: Reservation): void {
    const left = roundQuantity((this.held.get(r.product) ?? 0) - r.quantity);
    if (left > 0) this.held.set(r.product, left);
    else this.held.delete(r.product);
  }

  /**
   * One edit that answers `requests` (by the rule, or the merchant's decision), writes the
   * expiry of holds past their time and the release of holds buyers cancelled. Judged one after
   * another against the stock as it stands inside the edit. Returns each request's outcome.
   */
  private async answerNow(requests: EventRef[], decision: 'rule' | 'accept' | { code: RefusalCode; text: string }): Promise<Map<string, string>> {
    const outcomes = new Map<string, string>();
    const shop = this.requireShop();
    const writes: { id: string; event: NewTradeEvent }[] = [];
    await this.edit(
      (draft) => {
        writes.length = 0;
        outcomes.clear();
        this.rescan();
        const now = this.nowSeconds();
        this.held = holdsOf(this.index, shop.id, now);
        const device = shop.deviceKey.slice(0, 8);
        const ownPrefix = vaultPrefix(shop.id);
        const own = this.index.eventsOf(ownPrefix);
        const touched = new Set<string>();
        const rules = this.host.rules();
        const ownEvents = own?.size ?? 0;
        const byRule = decision === 'rule';
        if (byRule && ownEvents + writes.length >= MAX_TRADE_EVENTS - OWN_EVENTS_RESERVE) {
          if (!this.warnedFull) this.host.refuse('trade', `Your shop holds ${ownEvents} trade events, near the limit of ${MAX_TRADE_EVENTS}: requests now wait for you to answer them by hand`);
          this.warnedFull = true;
          requests = [];
        }
        let answered = 0;
        for (const ref of requests) {
          if (answered >= ANSWERS_PER_EDIT) break;
          if (own?.has(slotId('answer', ref))) continue;
          if (byRule && own?.has(slotId('seen', ref))) continue;
          const r = this.index.reservation(ref, 'seller', now);
          if (!r || !this.isSellerOf(r)) continue;
          if (byRule && !this.spendAnswer(ref.vault)) continue;
          answered += 1;
          if (r.state === 'cancelled') {
            writes.push({ id: slotId('answer', ref), event: { type: 'reservationRefused', time: now, device, request: ref, reason: 6, text: '' } });
            outcomes.set(`${ref.vault}:${ref.id}`, REFUSAL_REASONS[6]);
            continue;
          }
          const product = draft.products.get(r.product);
          const refuse = (code: RefusalCode, text = '') => {
            writes.push({ id: slotId('answer', ref), event: { type: 'reservationRefused', time: now, device, request: ref, reason: code, text } });
            outcomes.set(`${ref.vault}:${ref.id}`, text || REFUSAL_REASONS[code]);
          };
          if (typeof decision === 'object') {
            refuse(decision.code, decision.text);
            continue;
          }
          if (!product || !product.offer) {
            refuse(2);
            continue;
          }
          if (r.price < product.offer.price) {
            refuse(3, `The price is now ${product.offer.price} (minor units)`);
            continue;
          }
          // What may be sold today: expired batches left out, then what is already held.
          const sellable = sellableStock(draft.stockOf(r.product), draft.today);
          const available = roundQuantity(Math.min(product.offer.quantity, sellable) - (this.held.get(r.product) ?? 0));
          if (r.quantity > available) {
            refuse(1, available > 0 ? `Only ${available} ${product.unit} available` : 'None available');
            continue;
          }
          if (decision === 'rule' && (rules.autoAcceptUpTo === null || r.quantity > rules.autoAcceptUpTo)) {
            writes.push({ id: slotId('seen', ref), event: { type: 'reservationSeen', time: now, device, request: ref } });
            outcomes.set(`${ref.vault}:${ref.id}`, 'seen');
            continue;
          }
          const holdUntil = now + Math.max(1, Math.round(rules.holdMinutes * 60));
          writes.push({ id: slotId('answer', ref), event: { type: 'reservationAccepted', time: now, device, request: ref, quantity: r.quantity, holdUntil, takes: [] } });
          this.held.set(r.product, roundQuantity((this.held.get(r.product) ?? 0) + r.quantity));
          touched.add(r.product);
          outcomes.set(`${ref.vault}:${ref.id}`, 'accepted');
        }
        for (const r of this.expiringHolds()) {
          writes.push({ id: slotId('expire', r.request), event: { type: 'reservationExpired', time: now, device, request: r.request } });
          touched.add(r.product);
        }
        for (const r of this.releasedByBuyers()) {
          writes.push({ id: slotId('cancel', r.request), event: { type: 'reservationCancelled', time: now, device, request: r.request, text: 'released: the buyer cancelled' } });
          touched.add(r.product);
        }
        return { result: undefined, touched: [...touched] };
      },
      (draft) => {
        for (const { id, event } of writes) putTradeEvent(draft, id, encodeTradeEvent(event));
      },
    );
    return outcomes;
  }

  private scheduleExpiry(): void {
    const shop = this.host.shop();
    if (!shop) return;
    let next = Infinity;
    for (const r of this.index.reservationsOf(shop.id, this.nowSeconds())) if (r.side === 'seller' && r.state === 'accepted' && r.holdUntil !== null) next = Math.min(next, r.holdUntil);
    if (next === this.expiryAt) return;
    this.cancelExpiry?.();
    this.cancelExpiry = undefined;
    this.expiryAt = next;
    if (next === Infinity) return;
    // Timers run at most a day ahead (setTimeout overflows past 24.8 days): a long hold is looked at again then.
    const delay = Math.min(DAY_MS, Math.max(0, next * 1000 - this.host.clock.now() + 1000));
    this.cancelExpiry = this.host.clock.setTimer(() => {
      this.cancelExpiry = undefined;
      this.expiryAt = Infinity;
      this.scheduleExpiry();
      this.held = holdsOf(this.index, shop.id, this.nowSeconds());
      this.answerDue();
    }, delay);
  }

  close(): void {
    this.cancelRefill?.();
    this.cancelExpiry?.();
    this.cancelWait?.();
  }

  private requireShop() {
    const shop = this.host.shop();
    if (!shop) throw new InputError('shop', 'Create your shop first');
    return shop;
  }
}

export type { TradeEvent };
