import { taggedId } from '../crypto/taggedId';
import { BinaryReader, BinaryWriter } from '../wire/binary';
import { WireError } from '../wire/wireError';
import { fromHex, toHex } from '../wire/hex';
import { MAX_MINOR_UNITS, MAX_QUANTITY } from '../vault/vaultLimits';

/**
 * A trade event: one signed step of trade, written by its author into its own vault's shared
 * document (`trade` map: event id as 16 hex digits → these bytes; docs/vault-format.md §8).
 * The device statement that covers the change signs it, like every other field; an event is
 * never rewritten (a later step is a new event that refers to it).
 *
 * Layout (big-endian, every field bounded):
 *   version 0x01 | type u8 | time u32 (seconds, UTC) | device key prefix (4 bytes) | body
 * The body's fields follow the type's schema below, in order:
 *   vault   8 bytes  — the first 8 bytes of a vault id (a shop's root key)
 *   ref     16 bytes — another event: its vault's prefix (8) and its id (8)
 *   id      u8 flag 0/1, then 8 bytes if 1 — an event of the same vault, or none
 *   product u8 0xFF then 8 bytes (an id of 16 lowercase hex digits, as the app makes them), or
 *           u8 length 1–64 then the id's text ([0-9A-Za-z_-])
 *   qty     uLEB128 of thousandths (quantities to three decimals), > 0, ≤ MAX_QUANTITY
 *   money   uLEB128 minor units ≤ MAX_MINOR_UNITS
 *   time    u32 seconds
 *   day     u16 days since 1970-01-01, 0 for none
 *   text    u8 length, UTF-8 ≤ the field's limit (every limit is under 256)
 *   code    u8 (a reason)
 *   hash    u8 flag 0/1, then 32 bytes if 1
 *   vault?  u8 flag 0/1, then 8 bytes if 1
 *   takes   u8 count ≤ 16, then each: id (8, a batch receipt of this vault) and qty
 *
 * At most MAX_TRADE_EVENT_BYTES, checked before parsing. Small enough that one reservation
 * step fits a compact signed update (one radio packet); a long note or many batches travel as a
 * radio bundle or by WebRTC sync instead.
 */
export const TRADE_EVENT_VERSION = 1;
export const MAX_TRADE_EVENT_BYTES = 512;
export const EVENT_ID_BYTES = 8;
export const VAULT_PREFIX_BYTES = 8;
export const DEVICE_PREFIX_BYTES = 4;
export const MAX_TAKES = 16;
export const NOTE_BYTES = 120;
export const MESSAGE_BYTES = 200;
export const AREA_BYTES = 120;
const PRODUCT_ID = /^[0-9A-Za-z_-]{1,64}$/;

type FieldKind = 'vault' | 'ref' | 'id' | 'product' | 'qty' | 'money' | 'time' | 'day' | 'code' | 'hash' | 'vault?' | 'takes' | `text${number}`;

/** Every event type: its code byte, its name in the merchant's trail, and its body schema. */
export const TRADE_EVENT_TYPES = {
  offerCreated: { code: 1, name: 'inventory.offer.created', fields: { product: 'product', quantity: 'qty', price: 'money', expiresOn: 'day', receipts: 'takes' } },
  reservationRequested: { code: 2, name: 'inventory.offer.reserved.request', fields: { seller: 'vault', product: 'product', quantity: 'qty', price: 'money', note: `text${NOTE_BYTES}` } },
  reservationAccepted: { code: 3, name: 'inventory.offer.reserved.acceptance', fields: { request: 'ref', quantity: 'qty', holdUntil: 'time', takes: 'takes' } },
  reservationRefused: { code: 4, name: 'inventory.offer.reserved.refusal', fields: { request: 'ref', reason: 'code', text: `text${NOTE_BYTES}` } },
  reservationExpired: { code: 5, name: 'inventory.offer.reserved.expiry', fields: { request: 'ref' } },
  reservationCancelled: { code: 6, name: 'inventory.offer.reserved.cancellation', fields: { request: 'ref', text: `text${NOTE_BYTES}` } },
  offerFulfilled: { code: 7, name: 'inventory.offer.fulfilled', fields: { request: 'ref', quantity: 'qty', price: 'money', takes: 'takes' } },
  reservationMessage: { code: 8, name: 'inventory.offer.reserved.message', fields: { request: 'ref', text: `text${MESSAGE_BYTES}` } },
  batchReceipt: { code: 9, name: 'batch.receipt.attested', fields: { product: 'product', quantity: 'qty', expiresOn: 'day', receivedOn: 'day', invoice: 'hash', supplier: 'vault?' } },
  deliveryCapacity: { code: 10, name: 'delivery.capacity.updated', fields: { area: `text${AREA_BYTES}`, load: 'qty', from: 'time', until: 'time' } },
  deliveryRequested: { code: 11, name: 'delivery.assignment.request', fields: { request: 'ref', driver: 'vault', from: `text${AREA_BYTES}`, to: `text${AREA_BYTES}`, load: 'qty', answerBy: 'time', pickUpBy: 'time', deliverBy: 'time', replaces: 'id' } },
  deliveryAccepted: { code: 12, name: 'delivery.assignment.accepted', fields: { delivery: 'ref' } },
  deliveryDeclined: { code: 13, name: 'delivery.assignment.declined', fields: { delivery: 'ref', text: `text${NOTE_BYTES}` } },
  deliveryPickedUp: { code: 14, name: 'delivery.assignment.pickedUp', fields: { delivery: 'ref' } },
  deliveryDelivered: { code: 15, name: 'delivery.assignment.delivered', fields: { delivery: 'ref' } },
  reservationSeen: { code: 16, name: 'inventory.offer.reserved.seen', fields: { request: 'ref' } },
} as const satisfies Record<string, { code: number; name: string; fields: Record<string, FieldKind> }>;

export type TradeEventType = keyof typeof TRADE_EVENT_TYPES;

/** A reference to an event: the first 8 bytes of its vault's id and its id, both as hex. */
export interface EventRef {
  vault: string;
  id: string;
}

export interface Take {
  /** A batch receipt event of the same vault. */
  receipt: string;
  quantity: number;
}

type FieldValue<K> = K extends 'vault'
  ? string
  : K extends 'ref'
    ? EventRef
    : K extends 'id'
      ? string | null
      : K extends 'product'
        ? string
        : K extends 'qty' | 'money' | 'time' | 'code'
          ? number
          : K extends 'day'
            ? string | null
            : K extends 'hash' | 'vault?'
              ? string | null
              : K extends 'takes'
                ? Take[]
                : string;

export type TradeEventBody<T extends TradeEventType> = { -readonly [F in keyof (typeof TRADE_EVENT_TYPES)[T]['fields']]: FieldValue<(typeof TRADE_EVENT_TYPES)[T]['fields'][F]> };

/** A decoded event; `id` is its key in the vault's trade map. */
export type TradeEvent = {
  [T in TradeEventType]: { type: T; id: string; time: number; device: string } & TradeEventBody<T>;
}[TradeEventType];

export type TradeEventOf<T extends TradeEventType> = Extract<TradeEvent, { type: T }>;

/** What an author writes: everything but the id (the map key). */
export type NewTradeEvent = { [T in TradeEventType]: Omit<TradeEventOf<T>, 'id'> }[TradeEventType];

const byCode = new Map<number, TradeEventType>(Object.entries(TRADE_EVENT_TYPES).map(([type, spec]) => [spec.code, type as TradeEventType]));

const HEX = (n: number) => new RegExp(`^[0-9a-f]{${n * 2}}$`);
const HEX8 = HEX(8);
const HEX4 = HEX(4);
const HEX32 = HEX(32);
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;

export function isEventId(value: string): boolean {
  return HEX8.test(value);
}

function fail(message: string): never {
  throw new WireError('malformed', message);
}

function writeUleb(out: BinaryWriter, value: number): void {
  do {
    const low = value % 128;
    value = Math.floor(value / 128);
    out.u8(value > 0 ? low | 0x80 : low);
  } while (value > 0);
}

function readUleb(reader: BinaryReader, what: string): number {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    const byte = reader.u8(what);
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) {
      if (byte === 0 && i > 0) fail(`${what} is not minimally encoded`);
      if (!Number.isSafeInteger(value)) fail(`${what} is over 2^53`);
      return value;
    }
    scale *= 128;
  }
  fail(`${what} is over 2^53`);
}

/** Days since 1970-01-01 for a YYYY-MM-DD date, or 0 for none. */
export function dayNumber(date: string | null): number {
  if (date === null || date === '') return 0;
  if (!DAY.test(date)) fail(`"${date.slice(0, 16)}" is not a date`);
  const ms = Date.parse(`${date}T00:00:00Z`);
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== date) fail(`"${date}" is not a date`);
  const days = ms / DAY_MS;
  if (days < 1 || days > 0xffff) fail(`${date} is out of range`);
  return days;
}

export function dayString(days: number): string | null {
  return days === 0 ? null : new Date(days * DAY_MS).toISOString().slice(0, 10);
}

function quantityUnits(value: number, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_QUANTITY) fail(`${what} must be above 0 and at most ${MAX_QUANTITY}`);
  const units = Math.round(value * 1000);
  if (Math.abs(units - value * 1000) > 1e-6 * Math.max(1, units)) fail(`${what} has more than three decimals`);
  return units;
}

function writeField(out: BinaryWriter, kind: FieldKind, value: unknown, what: string): void {
  switch (kind) {
    case 'vault':
      if (typeof value !== 'string' || !HEX8.test(value)) fail(`${what} is not a vault prefix`);
      out.fixed(fromHex(value), 8);
      return;
    case 'ref': {
      const ref = value as EventRef;
      if (!ref || typeof ref.vault !== 'string' || !HEX8.test(ref.vault) || typeof ref.id !== 'string' || !HEX8.test(ref.id)) fail(`${what} is not an event reference`);
      out.fixed(fromHex(ref.vault), 8).fixed(fromHex(ref.id), 8);
      return;
    }
    case 'id':
      if (value === null) {
        out.u8(0);
        return;
      }
      if (typeof value !== 'string' || !HEX8.test(value)) fail(`${what} is not an event id`);
      out.u8(1).fixed(fromHex(value), 8);
      return;
    case 'product':
      if (typeof value !== 'string' || !PRODUCT_ID.test(value)) fail(`${what} is not a product id`);
      if (HEX8.test(value)) out.u8(PACKED_PRODUCT).fixed(fromHex(value), 8);
      else writeText(out, value);
      return;
    case 'qty':
      writeUleb(out, quantityUnits(value as number, what));
      return;
    case 'money':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > MAX_MINOR_UNITS) fail(`${what} must be a whole amount from 0 to ${MAX_MINOR_UNITS}`);
      writeUleb(out, value);
      return;
    case 'time':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 0xffffffff) fail(`${what} is not a time in seconds`);
      out.u32(value);
      return;
    case 'day':
      out.u16(dayNumber(value as string | null));
      return;
    case 'code':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 255) fail(`${what} is not a code`);
      out.u8(value);
      return;
    case 'hash':
    case 'vault?': {
      const bytes = kind === 'hash' ? 32 : 8;
      if (value === null) {
        out.u8(0);
        return;
      }
      if (typeof value !== 'string' || !HEX(bytes).test(value)) fail(`${what} is not ${bytes} bytes of hex`);
      out.u8(1).fixed(fromHex(value), bytes);
      return;
    }
    case 'takes': {
      const takes = value as Take[];
      if (!Array.isArray(takes) || takes.length > MAX_TAKES) fail(`${what} must be a list of at most ${MAX_TAKES}`);
      out.u8(takes.length);
      for (const take of takes) {
        if (!take || typeof take.receipt !== 'string' || !HEX8.test(take.receipt)) fail(`${what} names no batch receipt`);
        out.fixed(fromHex(take.receipt), 8);
        writeUleb(out, quantityUnits(take.quantity, `${what} quantity`));
      }
      return;
    }
    default: {
      const limit = Number(kind.slice(4));
      if (typeof value !== 'string') fail(`${what} is not text`);
      const bytes = new TextEncoder().encode(value);
      if (bytes.length > limit) fail(`${what} is ${bytes.length} bytes, limit ${limit}`);
      writeText(out, value);
    }
  }
}

function readField(reader: BinaryReader, kind: FieldKind, what: string): unknown {
  switch (kind) {
    case 'vault':
      return toHex(reader.fixed(8, what));
    case 'ref':
      return { vault: toHex(reader.fixed(8, what)), id: toHex(reader.fixed(8, what)) };
    case 'id': {
      const flag = reader.u8(what);
      if (flag === 0) return null;
      if (flag !== 1) fail(`${what} flag is not 0 or 1`);
      return toHex(reader.fixed(8, what));
    }
    case 'product': {
      const length = reader.u8(what);
      if (length === PACKED_PRODUCT) return toHex(reader.fixed(8, what));
      if (length < 1 || length > 64) fail(`${what} is not a product id`);
      const id = readText(reader, length, what);
      // A hex id always travels packed: one product, one encoding.
      if (!PRODUCT_ID.test(id) || HEX8.test(id)) fail(`${what} is not a product id`);
      return id;
    }
    case 'qty': {
      const units = readUleb(reader, what);
      if (units <= 0 || units > MAX_QUANTITY * 1000) fail(`${what} is out of range`);
      return units / 1000;
    }
    case 'money': {
      const amount = readUleb(reader, what);
      if (amount > MAX_MINOR_UNITS) fail(`${what} is out of range`);
      return amount;
    }
    case 'time':
      return reader.u32(what);
    case 'day':
      return dayString(reader.u16(what));
    case 'code':
      return reader.u8(what);
    case 'hash':
    case 'vault?': {
      const flag = reader.u8(what);
      if (flag === 0) return null;
      if (flag !== 1) fail(`${what} flag is not 0 or 1`);
      return toHex(reader.fixed(kind === 'hash' ? 32 : 8, what));
    }
    case 'takes': {
      const n = reader.u8(what);
      if (n > MAX_TAKES) fail(`${what}: ${n} batches, limit ${MAX_TAKES}`);
      const takes: Take[] = [];
      for (let i = 0; i < n; i++) {
        const receipt = toHex(reader.fixed(8, what));
        const units = readUleb(reader, `${what} quantity`);
        if (units <= 0 || units > MAX_QUANTITY * 1000) fail(`${what} quantity is out of range`);
        takes.push({ receipt, quantity: units / 1000 });
      }
      return takes;
    }
    default: {
      const length = reader.u8(`${what} length`);
      if (length > Number(kind.slice(4))) throw new WireError('too-large', `${what} is ${length} bytes, limit ${kind.slice(4)}`);
      return readText(reader, length, what);
    }
  }
}

/** An id of 16 lowercase hex digits, packed into 8 bytes. */
const PACKED_PRODUCT = 0xff;
const utf8 = new TextDecoder('utf-8', { fatal: true });

function writeText(out: BinaryWriter, value: string): void {
  const bytes = new TextEncoder().encode(value);
  if (bytes.length > 254) fail('text is over 254 bytes');
  out.u8(bytes.length).fixed(bytes, bytes.length);
}

function readText(reader: BinaryReader, length: number, what: string): string {
  const bytes = reader.fixed(length, what);
  try {
    return utf8.decode(bytes);
  } catch {
    fail(`${what} is not valid UTF-8`);
  }
}

/** The bytes of an event (throws a WireError naming the field that is wrong). */
export function encodeTradeEvent(event: NewTradeEvent | TradeEvent): Uint8Array {
  const spec = TRADE_EVENT_TYPES[event.type];
  if (!spec) fail('unknown trade event type');
  if (!Number.isInteger(event.time) || event.time < 0 || event.time > 0xffffffff) fail('event time is not seconds');
  if (typeof event.device !== 'string' || !HEX4.test(event.device)) fail('event device is not a 4-byte key prefix');
  const out = new BinaryWriter(64);
  out.u8(TRADE_EVENT_VERSION).u8(spec.code).u32(event.time).fixed(fromHex(event.device), DEVICE_PREFIX_BYTES);
  for (const [field, kind] of Object.entries(spec.fields)) writeField(out, kind as FieldKind, (event as Record<string, unknown>)[field], `${spec.name} ${field}`);
  const bytes = out.finish();
  if (bytes.length > MAX_TRADE_EVENT_BYTES) fail(`${spec.name} is ${bytes.length} bytes, limit ${MAX_TRADE_EVENT_BYTES}`);
  return bytes;
}

/** An event from its bytes and its id, every field checked (throws a WireError). */
export function decodeTradeEvent(id: string, bytes: Uint8Array): TradeEvent {
  if (!(bytes instanceof Uint8Array)) fail('trade event is not bytes');
  if (bytes.length > MAX_TRADE_EVENT_BYTES) throw new WireError('too-large', `trade event is ${bytes.length} bytes, limit ${MAX_TRADE_EVENT_BYTES}`);
  if (!HEX8.test(id)) fail('trade event id is not 16 hex digits');
  const reader = new BinaryReader(bytes);
  const version = reader.u8('event version');
  if (version !== TRADE_EVENT_VERSION) throw new WireError('unsupported-version', `trade event version ${version}`);
  const code = reader.u8('event type');
  const type = byCode.get(code);
  if (!type) throw new WireError('unknown-type', `trade event type ${code}`);
  const time = reader.u32('event time');
  const device = toHex(reader.fixed(DEVICE_PREFIX_BYTES, 'event device'));
  const event: Record<string, unknown> = { type, id, time, device };
  const spec = TRADE_EVENT_TYPES[type];
  for (const [field, kind] of Object.entries(spec.fields)) event[field] = readField(reader, kind as FieldKind, `${spec.name} ${field}`);
  reader.end(spec.name);
  return event as TradeEvent;
}

/** The events this one derives from, in the order its fields name them. */
export function derivedFrom(event: TradeEvent, ownVault: string): EventRef[] {
  const refs: EventRef[] = [];
  const spec = TRADE_EVENT_TYPES[event.type];
  for (const [field, kind] of Object.entries(spec.fields)) {
    const value = (event as Record<string, unknown>)[field];
    if (kind === 'ref') refs.push(value as EventRef);
    else if (kind === 'id' && value) refs.push({ vault: ownVault, id: value as string });
    else if (kind === 'takes') for (const take of value as Take[]) refs.push({ vault: ownVault, id: take.receipt });
  }
  return refs;
}

/** The first 8 bytes of a vault id (64 hex digits), as hex. */
export function vaultPrefix(vaultId: string): string {
  return vaultId.slice(0, 16);
}

export function refKey(ref: EventRef): string {
  return `${ref.vault}:${ref.id}`;
}

/**
 * Steps whose id is derived from what they answer, so the same step written twice (a retry,
 * two devices of one shop) is one event: the seller's answer (acceptance or refusal) and its
 * closing step (fulfilment, expiry or cancellation by the seller) of a request, the buyer's
 * cancellation, and a driver's answer, pick-up and delivery of a delivery request.
 */
export const DERIVED_SLOTS = {
  reservationAccepted: 'answer',
  reservationRefused: 'answer',
  offerFulfilled: 'close',
  reservationExpired: 'expire',
  reservationCancelled: 'cancel',
  reservationSeen: 'seen',
  deliveryAccepted: 'answer',
  deliveryDeclined: 'answer',
  deliveryPickedUp: 'pickup',
  deliveryDelivered: 'delivered',
} as const satisfies Partial<Record<TradeEventType, string>>;

const SLOT_TAG = new TextEncoder().encode('souk-trade-slot-v1');

/** Slot ids computed lately (bounded: cleared when full). */
const slotIds = new Map<string, string>();
const MAX_SLOT_IDS = 65_536;

/** The id of the step of kind `slot` that answers `ref` (the first 8 bytes of SHA-256 over tag, slot, ref). */
export function slotId(slot: string, ref: EventRef): string {
  const key = `${slot}:${ref.vault}:${ref.id}`;
  const known = slotIds.get(key);
  if (known) return known;
  const id = taggedId(SLOT_TAG, new TextEncoder().encode(slot), Uint8Array.of(0), fromHex(ref.vault), fromHex(ref.id));
  if (slotIds.size >= MAX_SLOT_IDS) slotIds.clear();
  slotIds.set(key, id);
  return id;
}

/** The id an event must have: derived for the steps in DERIVED_SLOTS, else any (undefined). */
export function requiredId(event: TradeEvent | NewTradeEvent): string | undefined {
  if (event.type === 'deliveryRequested') return deliveryRequestId(event.request, event.replaces);
  const slot = (DERIVED_SLOTS as Partial<Record<TradeEventType, string>>)[event.type];
  if (!slot) return undefined;
  const ref = ('request' in event ? event.request : (event as { delivery: EventRef }).delivery) as EventRef;
  return slotId(slot, ref);
}

/**
 * The id of a delivery request in the seller's vault: the first of a reservation at
 * `slotId('delivery', request)`, each replacement at `slotId('delivery-after-<replaced id>',
 * request)`. So a reservation has one chain of delivery requests, each replaced at most once,
 * whichever of the seller's devices (or timers) writes it.
 */
export function deliveryRequestId(request: EventRef, replaces: string | null): string {
  return slotId(replaces === null ? 'delivery' : `delivery-after-${replaces}`, request);
}

/**
 * Writes an event into a shared document's trade map (inside a change), making the map if the
 * vault has none yet; an id already there is left as it is (a derived step written once).
 */
export function putTradeEvent(draft: { trade?: Record<string, Uint8Array> }, id: string, bytes: Uint8Array): void {
  if (!draft.trade) draft.trade = {};
  if (id in draft.trade) return;
  draft.trade[id] = bytes;
}

export { HEX32 as HASH_HEX };
