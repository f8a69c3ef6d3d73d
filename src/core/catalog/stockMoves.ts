import { taggedId } from '../crypto/taggedId';
import type { Batch } from '../vault/vaultDocuments';
import { MAX_MINOR_UNITS, MAX_QUANTITY } from '../vault/vaultLimits';
import { fromHex } from '../wire/hex';
import { roundQuantity } from './fefo';

/**
 * Named stock moves: the private history of what moved a product's stock and why. Each move is
 * one immutable entry in the private document's `moves` map (move id, 16 hex digits → these
 * bytes; docs/vault-format.md), written in the same edit that moves the stock, so the history and
 * the stock never part. Entries are never rewritten — an undo is a new entry that names the move
 * it reverses — so the shop's devices merge their histories entry by entry.
 *
 * Bytes: UTF-8 JSON of one object, at most MAX_MOVE_BYTES, `"v": 1` first:
 *   v        1 (the format version)
 *   kind     "sale" | "received" | "correction" | "waste" | "reservation" | "undo"
 *   product  the product id
 *   delta    the signed change to the stock (three decimals)
 *   takes    [[batch id, quantity], …] at most MAX_MOVE_TAKES: what the move took from each batch
 *            (an undo's are negative: put back)
 *   at       time, milliseconds since 1970 (the device's clock)
 *   device   the first 8 bytes of the device key (hex), as in stockMoves' keys
 *   price    (sale, reservation) unit price, minor units
 *   total    (sale, reservation) what the move took in, minor units
 *   note     (optional) the merchant's words, at most MOVE_NOTE_BYTES
 *   undoes   (undo) the move id it reverses
 *   request  (reservation) "vaultPrefix:eventId", the reservation request it fulfils
 *   before, after  (correction) the stock before and after the recount
 *   batch    (received, optional) the batch it brought, with supplier, dates, invoice, receipt
 */
export const MOVE_VERSION = 1;
export const MAX_MOVE_BYTES = 2048;
export const MAX_MOVE_TAKES = 64;
export const MOVE_NOTE_BYTES = 200;
export const SUPPLIER_BYTES = 120;
export const MOVE_KINDS = ['sale', 'received', 'correction', 'waste', 'reservation', 'undo'] as const;
export type MoveKind = (typeof MOVE_KINDS)[number];

export interface StockMove {
  kind: MoveKind;
  product: string;
  delta: number;
  takes: { batch: string; quantity: number }[];
  at: number;
  device: string;
  price?: number;
  total?: number;
  note?: string;
  undoes?: string;
  request?: string;
  before?: number;
  after?: number;
  batch?: Batch;
}

const PRODUCT_ID = /^[0-9a-z_-]{1,64}$/i;
// Batch ids are 16 hex digits when made here; older versions' may be any short text.
const BATCH_ID = /^[^\u0000-\u001f]{1,64}$/;
const HEX8 = /^[0-9a-f]{16}$/;
const HEX32 = /^[0-9a-f]{64}$/;
const REQUEST = /^[0-9a-f]{16}:[0-9a-f]{16}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const KEYS = new Set(['v', 'kind', 'product', 'delta', 'takes', 'at', 'device', 'price', 'total', 'note', 'undoes', 'request', 'before', 'after', 'batch']);
const BATCH_KEYS = new Set(['id', 'quantity', 'expiresOn', 'supplier', 'receivedOn', 'invoice', 'invoiceFile', 'receipt']);
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function isMoveId(id: string): boolean {
  return HEX8.test(id);
}

function fail(what: string): never {
  throw new Error(`stock move: ${what}`);
}

function quantityOf(value: unknown, what: string, signed: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > MAX_QUANTITY || (!signed && value < 0)) fail(`${what} is not a quantity`);
  if (Math.abs(roundQuantity(value) - value) > 1e-9) fail(`${what} has more than three decimals`);
  return value;
}

function money(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > MAX_MINOR_UNITS) fail(`${what} is not a whole amount`);
  return value;
}

function textOf(value: unknown, what: string, maxBytes: number): string {
  if (typeof value !== 'string' || value.length > maxBytes || encoder.encode(value).length > maxBytes) fail(`${what} is not text of at most ${maxBytes} bytes`);
  return value;
}

/** A batch record, every field checked (a product's stored batches and a received move's). Throws naming the problem. */
export function checkBatch(value: unknown, maxQuantity = MAX_QUANTITY): Batch {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('a batch is malformed');
  const b = value as Record<string, unknown>;
  for (const key of Object.keys(b)) if (!BATCH_KEYS.has(key)) throw new Error(`a batch has an unknown field "${key.slice(0, 32)}"`);
  if (typeof b.id !== 'string' || !BATCH_ID.test(b.id)) throw new Error('a batch id is malformed');
  if (typeof b.quantity !== 'number' || !Number.isFinite(b.quantity) || b.quantity < 0 || b.quantity > maxQuantity) throw new Error('a batch quantity is out of range');
  if (typeof b.expiresOn !== 'string' || (b.expiresOn !== '' && !DATE.test(b.expiresOn))) throw new Error('a batch expiry is not a date');
  if (b.supplier !== undefined) textOf(b.supplier, 'a batch supplier', SUPPLIER_BYTES);
  if (b.receivedOn !== undefined && (typeof b.receivedOn !== 'string' || (b.receivedOn !== '' && !DATE.test(b.receivedOn)))) throw new Error('a batch received date is not a date');
  if (b.invoice !== undefined && (typeof b.invoice !== 'string' || !HEX32.test(b.invoice))) throw new Error('a batch invoice is not a 32-byte hash');
  if (b.invoiceFile !== undefined && b.invoiceFile !== true) throw new Error('a batch invoice file flag is malformed');
  if (b.receipt !== undefined && (typeof b.receipt !== 'string' || !HEX8.test(b.receipt))) throw new Error('a batch receipt is not an event id');
  return b as unknown as Batch;
}

/** The bytes of a move (throws if it would not read back). */
export function encodeMove(move: StockMove): Uint8Array {
  const { kind, product, delta, takes, at, device, ...rest } = move;
  const bytes = encoder.encode(JSON.stringify({ v: MOVE_VERSION, kind, product, delta, takes: takes.map((t) => [t.batch, t.quantity]), at, device, ...rest }));
  decodeMove(bytes);
  return bytes;
}

/** A move from its bytes, every field checked against its kind (throws naming the problem). */
export function decodeMove(bytes: unknown): StockMove {
  if (!(bytes instanceof Uint8Array)) fail('is not bytes');
  if (bytes.length > MAX_MOVE_BYTES) fail(`is ${bytes.length} bytes, limit ${MAX_MOVE_BYTES}`);
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(bytes));
  } catch {
    fail('is not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail('is not an object');
  const o = raw as Record<string, unknown>;
  for (const key of Object.keys(o)) if (!KEYS.has(key)) fail(`has an unknown field "${key.slice(0, 32)}"`);
  if (o.v !== MOVE_VERSION) fail(`version ${String(o.v).slice(0, 8)} is not ${MOVE_VERSION}`);
  if (typeof o.kind !== 'string' || !(MOVE_KINDS as readonly string[]).includes(o.kind)) fail('kind is unknown');
  const kind = o.kind as MoveKind;
  if (typeof o.product !== 'string' || !PRODUCT_ID.test(o.product)) fail('product id is malformed');
  const delta = quantityOf(o.delta, 'delta', true);
  if (!Array.isArray(o.takes) || o.takes.length > MAX_MOVE_TAKES) fail(`takes are not a list of at most ${MAX_MOVE_TAKES}`);
  const takes = o.takes.map((t: unknown) => {
    if (!Array.isArray(t) || t.length !== 2 || typeof t[0] !== 'string' || !BATCH_ID.test(t[0])) fail('a take is malformed');
    const quantity = quantityOf(t[1], 'a take', true);
    if (quantity === 0) fail('a take is zero');
    return { batch: t[0] as string, quantity };
  });
  if (typeof o.at !== 'number' || !Number.isSafeInteger(o.at) || o.at < 0) fail('time is malformed');
  if (typeof o.device !== 'string' || !HEX8.test(o.device)) fail('device is malformed');
  const move: StockMove = { kind, product: o.product, delta, takes, at: o.at, device: o.device };
  if (o.note !== undefined) move.note = textOf(o.note, 'note', MOVE_NOTE_BYTES);
  const takenOut = takes.reduce((sum, t) => sum + t.quantity, 0);
  const priced = kind === 'sale' || kind === 'reservation';
  if (!priced && (o.price !== undefined || o.total !== undefined)) fail(`a ${kind} has no price`);
  if (priced && (o.price !== undefined || kind === 'sale')) {
    move.price = money(o.price, 'price');
    move.total = money(o.total, 'total');
  }
  if ((kind === 'undo') !== (o.undoes !== undefined)) fail('only an undo names the move it undoes');
  if (o.undoes !== undefined) {
    if (typeof o.undoes !== 'string' || !HEX8.test(o.undoes)) fail('undoes is not a move id');
    move.undoes = o.undoes;
  }
  if ((kind === 'reservation') !== (o.request !== undefined)) fail('only a reservation names a request');
  if (o.request !== undefined) {
    if (typeof o.request !== 'string' || !REQUEST.test(o.request)) fail('request is malformed');
    move.request = o.request;
  }
  if ((kind === 'correction') !== (o.before !== undefined && o.after !== undefined) || (kind !== 'correction' && (o.before !== undefined || o.after !== undefined))) fail('only a correction records before and after');
  if (kind === 'correction') {
    move.before = quantityOf(o.before, 'before', true);
    move.after = quantityOf(o.after, 'after', false);
    if (Math.abs(roundQuantity(move.after - move.before) - delta) > 1e-9) fail('a correction moves by after − before');
  }
  if (o.batch !== undefined) {
    if (kind !== 'received') fail('only a received move brings a batch');
    move.batch = checkBatch(o.batch);
    if (Math.abs(move.batch.quantity - delta) > 1e-9) fail('a received batch is the quantity received');
  }
  switch (kind) {
    case 'sale':
    case 'waste':
    case 'reservation':
      if (!(delta < 0)) fail(`a ${kind} takes stock away`);
      if (takes.some((t) => t.quantity < 0) || takenOut > -delta + 1e-9) fail(`a ${kind} takes at most what it moves`);
      break;
    case 'received':
      if (!(delta > 0) || takes.length) fail('a received move adds stock and takes nothing');
      break;
    case 'correction':
      if (takes.some((t) => t.quantity < 0) || takenOut > Math.max(0, -delta) + 1e-9) fail('a correction takes at most what it removes');
      break;
    case 'undo':
      break;
  }
  return move;
}

/** One move as listed: its id, and the undo that reversed it, if any. */
export type LedgerMove = StockMove & { id: string; undoneBy: string | null };

/**
 * The moves history, read: every entry decoded once (entries never change, so a later read only
 * decodes ids it has not seen), what each product's moves took from each batch, the batches
 * received moves brought, and which moves were undone.
 */
export class MoveLedger {
  private readonly entries = new Map<string, StockMove>();
  private readonly takenBy = new Map<string, Map<string, number>>();
  private readonly receivedBy = new Map<string, Map<string, { move: string; batch: Batch }>>();
  private readonly undone = new Map<string, string>();

  get size(): number {
    return this.entries.size;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  get(id: string): StockMove | undefined {
    return this.entries.get(id);
  }

  /** The ledger of a document's moves; `previous` (immutable entries) saves decoding those it holds. */
  static read(moves: Record<string, Uint8Array> | undefined, previous?: MoveLedger): MoveLedger {
    const ledger = new MoveLedger();
    for (const [id, bytes] of Object.entries(moves ?? {})) {
      let move = previous?.entries.get(id);
      if (!move) {
        try {
          move = decodeMove(bytes);
        } catch {
          continue; // a device's checks refuse malformed entries; one that slipped in is not counted
        }
      }
      ledger.add(id, move);
    }
    return ledger;
  }

  /** Adds an entry; an id already held is left as it is (false). */
  add(id: string, move: StockMove): boolean {
    if (this.entries.has(id)) return false;
    this.entries.set(id, move);
    if (move.takes.length) {
      let taken = this.takenBy.get(move.product);
      if (!taken) this.takenBy.set(move.product, (taken = new Map()));
      for (const t of move.takes) taken.set(t.batch, roundQuantity((taken.get(t.batch) ?? 0) + t.quantity));
    }
    if (move.kind === 'received' && move.batch) {
      let received = this.receivedBy.get(move.product);
      if (!received) this.receivedBy.set(move.product, (received = new Map()));
      received.set(move.batch.id, { move: id, batch: move.batch });
    }
    if (move.undoes && !this.undone.has(move.undoes)) this.undone.set(move.undoes, id);
    return true;
  }

  /** Batch id → quantity the moves took from it (an undo's puts back). */
  taken(productId: string): ReadonlyMap<string, number> {
    return this.takenBy.get(productId) ?? EMPTY;
  }

  /** The batches received moves brought to a product (not those undone). */
  receivedBatches(productId: string): Batch[] {
    return this.receivedEntries(productId)
      .filter((r) => !this.undone.has(r.move))
      .map((r) => r.batch);
  }

  /** Every batch a received move brought to a product, with the move (undone or not). */
  receivedEntries(productId: string): { move: string; batch: Batch }[] {
    const received = this.receivedBy.get(productId);
    return received ? [...received.values()] : [];
  }

  undoneBy(id: string): string | null {
    return this.undone.get(id) ?? null;
  }

  /** Moves newest first, filtered; at most `limit`. */
  list(filter: { from?: number; until?: number; productId?: string; limit?: number } = {}): LedgerMove[] {
    const found: LedgerMove[] = [];
    for (const [id, move] of this.entries) {
      if (filter.productId !== undefined && move.product !== filter.productId) continue;
      if (filter.from !== undefined && move.at < filter.from) continue;
      if (filter.until !== undefined && move.at >= filter.until) continue;
      found.push({ ...move, id, undoneBy: this.undone.get(id) ?? null });
    }
    found.sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : -1));
    return filter.limit === undefined ? found : found.slice(0, filter.limit);
  }
}

const EMPTY: ReadonlyMap<string, number> = new Map();

const RESERVATION_TAG = encoder.encode('souk-reservation-move-v1');
const UNDO_TAG = encoder.encode('souk-undo-v1');

/**
 * The id of the stock move that fulfils a reservation request (`ref`: the request's vault prefix
 * and event id, 16 hex each): the first 8 bytes of SHA-256(tag | vault | id). Derived, so
 * writing the fulfilment twice (a retry, another device) lands on the same entry.
 */
export function reservationMoveId(ref: { vault: string; id: string }): string {
  return taggedId(RESERVATION_TAG, fromHex(ref.vault), fromHex(ref.id));
}

/**
 * The id of the undo of a move: derived from the move, so the same undo written on two devices
 * of the shop while apart is one entry, and (filed under the same id in the stock counts,
 * moveStockOnce) restores the stock once.
 */
export function undoMoveId(moveId: string): string {
  return taggedId(UNDO_TAG, fromHex(moveId));
}
