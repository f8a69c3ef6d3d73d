import { roundQuantity } from '../catalog/fefo';
import { isDelivered } from './deliveryBook';
import { refKey, slotId, vaultPrefix, type EventRef, type Take, type TradeEvent, type TradeEventOf } from './tradeEvent';

/**
 * Reservations as both sides see them, derived from signed events alone: the buyer's request
 * (in the buyer's vault) and the seller's steps that answer it (in the seller's vault), found at
 * their derived ids (tradeEvent.ts `slotId`). Pure: the same events give the same book on every
 * node, whichever way they arrived.
 */
export type ReservationState = 'sent' | 'seen' | 'accepted' | 'refused' | 'expired' | 'cancelled' | 'fulfilled' | 'delivered';

/** Why a seller refused (the `reason` code of a refusal). */
export const REFUSAL_REASONS = {
  1: 'not enough available',
  2: 'offer withdrawn',
  3: 'price changed',
  4: 'refused by the seller',
  5: 'over the quantity a request may hold',
  6: 'the buyer cancelled',
} as const;
export type RefusalCode = keyof typeof REFUSAL_REASONS;

/** Messages of one side read per reservation (the latest). */
export const MESSAGES_SHOWN = 50;

export interface ReservationMessage {
  from: 'buyer' | 'seller';
  text: string;
  time: number;
  id: string;
}

export interface Reservation {
  /** The request: the buyer's vault prefix and the id the buyer's device made. */
  request: EventRef;
  /** This node's part in it. */
  side: 'buyer' | 'seller';
  /** Full vault ids where this node carries them, else the 8-byte prefix. */
  buyer: string;
  seller: string;
  product: string;
  quantity: number;
  /** Unit price the buyer saw, minor units of the seller's currency. */
  price: number;
  note: string;
  requestedAt: number;
  state: ReservationState;
  /** Seconds; while accepted. */
  holdUntil: number | null;
  /** The refusal's reason and text. */
  refusal: { code: number; reason: string; text: string } | null;
  cancelledBy: 'buyer' | 'seller' | null;
  fulfilled: { quantity: number; price: number; time: number; takes: Take[] } | null;
  /** The batches the acceptance held (FEFO). */
  takes: Take[];
  messages: ReservationMessage[];
  /** When the latest step was signed (seconds). */
  updatedAt: number;
  /** Events of this reservation, oldest first (for the trail). */
  steps: TradeEvent[];
}

/** One vault's events as the book reads them. */
export interface VaultEvents {
  vaultId: string;
  events: readonly TradeEvent[];
}

export class ReservationIndex {
  /** Vault prefix → full id. */
  readonly vaults = new Map<string, string>();
  /** Vault prefix → event id → event. */
  private readonly byVault = new Map<string, Map<string, TradeEvent>>();
  /** refKey → events (any vault) that name it as `request`. */
  private readonly about = new Map<string, { vault: string; event: TradeEvent }[]>();
  /** Seller prefix → the requests addressed to it (from the buyers' vaults). */
  private readonly requests = new Map<string, { ref: EventRef; event: TradeEventOf<'reservationRequested'> }[]>();

  constructor(vaults: Iterable<VaultEvents>) {
    for (const { vaultId, events } of vaults) {
      const prefix = vaultPrefix(vaultId);
      this.vaults.set(prefix, vaultId);
      const map = new Map<string, TradeEvent>();
      for (const event of events) {
        map.set(event.id, event);
        if (event.type === 'reservationRequested' && event.seller !== prefix) {
          const list = this.requests.get(event.seller);
          const entry = { ref: { vault: prefix, id: event.id }, event };
          if (list) list.push(entry);
          else this.requests.set(event.seller, [entry]);
        }
        if ('request' in event && event.type !== 'deliveryRequested') {
          const key = refKey(event.request);
          const list = this.about.get(key);
          if (list) list.push({ vault: prefix, event });
          else this.about.set(key, [{ vault: prefix, event }]);
        }
      }
      this.byVault.set(prefix, map);
    }
  }

  event(ref: EventRef): TradeEvent | undefined {
    return this.byVault.get(ref.vault)?.get(ref.id);
  }

  eventsOf(prefix: string): ReadonlyMap<string, TradeEvent> | undefined {
    return this.byVault.get(prefix);
  }

  /** The events of one vault that name `ref` as their request. */
  answersIn(prefix: string, ref: EventRef): TradeEvent[] {
    return (this.about.get(refKey(ref)) ?? []).filter((a) => a.vault === prefix).map((a) => a.event);
  }

  /** Every request addressed to `sellerPrefix`, from any carried vault but the seller's own. */
  requestsTo(sellerPrefix: string): readonly { ref: EventRef; event: TradeEventOf<'reservationRequested'> }[] {
    return this.requests.get(sellerPrefix) ?? [];
  }

  /** The reservation a request names, as seen from `side`, or undefined if the request is not held. */
  reservation(ref: EventRef, side: 'buyer' | 'seller', now: number): Reservation | undefined {
    const request = this.event(ref);
    if (!request || request.type !== 'reservationRequested') return undefined;
    const seller = request.seller;
    const sellerEvents = this.byVault.get(seller);
    const at = (slot: string) => sellerEvents?.get(slotId(slot, ref));
    const answer = at('answer');
    const seen = at('seen');
    const close = at('close');
    const expiry = at('expire');
    const sellerCancel = at('cancel');
    const buyerCancel = this.byVault.get(ref.vault)?.get(slotId('cancel', ref));
    const steps: TradeEvent[] = [request];
    for (const step of [seen, answer, close, expiry, sellerCancel, buyerCancel]) if (step && isAbout(step, ref)) steps.push(step);
    const messages: ReservationMessage[] = [];
    for (const { vault, event } of this.about.get(refKey(ref)) ?? []) {
      if (event.type !== 'reservationMessage') continue;
      if (vault !== ref.vault && vault !== seller) continue;
      messages.push({ from: vault === ref.vault ? 'buyer' : 'seller', text: event.text, time: event.time, id: event.id });
    }
    messages.sort((a, b) => a.time - b.time || (a.id < b.id ? -1 : 1));
    // A vault may hold many messages on one request: the latest MESSAGES_SHOWN of each side are read (one pass).
    const kept = { buyer: 0, seller: 0 };
    for (let i = messages.length - 1; i >= 0; i--) {
      const from = messages[i]!.from;
      kept[from] += 1;
      if (kept[from] > MESSAGES_SHOWN) messages[i] = undefined as never;
    }
    const shown = messages.filter(Boolean);
    messages.length = 0;
    messages.push(...shown);
    steps.sort((a, b) => a.time - b.time);

    let state: ReservationState = 'sent';
    let holdUntil: number | null = null;
    let refusal: Reservation['refusal'] = null;
    let cancelledBy: Reservation['cancelledBy'] = null;
    let fulfilled: Reservation['fulfilled'] = null;
    let takes: Take[] = [];
    if (seen?.type === 'reservationSeen' && isAbout(seen, ref)) state = 'seen';
    if (answer?.type === 'reservationRefused' && isAbout(answer, ref)) {
      state = 'refused';
      refusal = { code: answer.reason, reason: refusalReason(answer.reason), text: answer.text };
    } else if (answer?.type === 'reservationAccepted' && isAbout(answer, ref)) {
      state = 'accepted';
      holdUntil = answer.holdUntil;
      takes = answer.takes;
      if (close?.type === 'offerFulfilled' && isAbout(close, ref)) {
        state = 'fulfilled';
        fulfilled = { quantity: close.quantity, price: close.price, time: close.time, takes: close.takes };
        // Delivered once the current driver of the seller's delivery chain reports it (deliveryBook.ts).
        if (isDelivered(this, seller, ref)) state = 'delivered';
      } else if (sellerCancel?.type === 'reservationCancelled' && isAbout(sellerCancel, ref)) {
        state = 'cancelled';
        cancelledBy = buyerCancel ? 'buyer' : 'seller';
      } else if (expiry?.type === 'reservationExpired' && isAbout(expiry, ref)) state = 'expired';
      else if (buyerCancel?.type === 'reservationCancelled' && isAbout(buyerCancel, ref)) {
        state = 'cancelled';
        cancelledBy = 'buyer';
      } else if (answer.holdUntil <= now) state = 'expired';
    }
    if (state === 'sent' || state === 'seen') {
      if (buyerCancel?.type === 'reservationCancelled' && isAbout(buyerCancel, ref)) {
        state = 'cancelled';
        cancelledBy = 'buyer';
      }
    }
    return {
      request: ref,
      side,
      buyer: this.vaults.get(ref.vault) ?? ref.vault,
      seller: this.vaults.get(seller) ?? seller,
      product: request.product,
      quantity: request.quantity,
      price: request.price,
      note: request.note,
      requestedAt: request.time,
      state,
      holdUntil,
      refusal,
      cancelledBy,
      fulfilled,
      takes,
      messages,
      updatedAt: steps.reduce((max, s) => Math.max(max, s.time), request.time),
      steps,
    };
  }

  private lastList: { key: string; list: Reservation[] } | undefined;

  /** Every reservation this vault takes part in: its own requests (buyer) and those addressed to it (seller). The index never changes: the answer for one second is kept. */
  reservationsOf(vaultId: string, now: number): Reservation[] {
    const key = `${vaultId}:${now}`;
    if (this.lastList?.key === key) return this.lastList.list;
    const list = this.listOf(vaultId, now);
    this.lastList = { key, list };
    return list;
  }

  private listOf(vaultId: string, now: number): Reservation[] {
    const prefix = vaultPrefix(vaultId);
    const out: Reservation[] = [];
    for (const event of this.byVault.get(prefix)?.values() ?? []) {
      if (event.type !== 'reservationRequested') continue;
      const r = this.reservation({ vault: prefix, id: event.id }, 'buyer', now);
      if (r) out.push(r);
    }
    for (const { ref } of this.requestsTo(prefix)) {
      const r = this.reservation(ref, 'seller', now);
      if (r) out.push(r);
    }
    return out.sort((a, b) => b.updatedAt - a.updatedAt || (a.request.id < b.request.id ? -1 : 1));
  }
}

function isAbout(event: TradeEvent, ref: EventRef): boolean {
  return 'request' in event && event.request.vault === ref.vault && event.request.id === ref.id;
}

export function refusalReason(code: number): string {
  return (REFUSAL_REASONS as Record<number, string>)[code] ?? `reason ${code}`;
}

/**
 * The seller's holds per product: accepted requests whose hold has not expired and that are
 * neither fulfilled, expired, nor cancelled by either side (a buyer's cancellation releases the
 * hold as soon as the seller's node sees it). Read from the seller's own events, with the
 * buyers' cancellations where carried.
 */
export function holdsOf(index: ReservationIndex, sellerVaultId: string, now: number): Map<string, number> {
  const held = new Map<string, number>();
  for (const r of index.reservationsOf(sellerVaultId, now)) {
    if (r.side !== 'seller' || r.state !== 'accepted') continue;
    held.set(r.product, roundQuantity((held.get(r.product) ?? 0) + r.quantity));
  }
  return held;
}
