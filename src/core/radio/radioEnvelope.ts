import { MAX_COMPACT_UPDATE_BYTES } from '../vault/compactUpdate';
import { MAX_RADIO_PAYLOAD } from './loraAirtime';
import { MAX_RADIO_BUNDLE_BYTES } from './radioVaultSource';
import { RADIO_CLASSES, type RadioClass } from './radioView';
import { ITEM_ID_BYTES, SUMMARY_BYTES_PER_PACKET, SYMBOL_BYTES } from './reconcile';

/**
 * The radio profile's envelope (protocol §10.1): every Souk datagram on Meshtastic's private
 * application port. Layout:
 *
 *   head (1): version << 4 | kind   — version 1 makes it 0x11…0x1f, never 0x94 or 0xC3
 *   mask (1): the smallest byte m such that the masked body has no 0x94 0xC3 pair (counting the
 *             pair mask | first body byte) and the payload does not end in 0x94
 *   body (0…231): the kind's fields, each byte XOR m
 *
 * Pure and platform-free. Decoding checks the size before anything else and never throws: a
 * payload that is not a valid envelope gets `{ refused: reason }`.
 */

/** Meshtastic's PRIVATE_APP port number. */
export const RADIO_PORT = 256;
export const RADIO_ENVELOPE_VERSION = 1;
export const MAX_ENVELOPE_BYTES = MAX_RADIO_PAYLOAD;
export const ENVELOPE_HEAD_BYTES = 2;
export const MAX_BODY_BYTES = MAX_ENVELOPE_BYTES - ENVELOPE_HEAD_BYTES;

export const RADIO_KINDS = { update: 1, fragment: 2, missing: 3, summary: 4, more: 5, difference: 6 } as const;
export type RadioKind = keyof typeof RADIO_KINDS;

/** update: flags (1) | compact update. */
export const UPDATE_FLAG_URGENT = 0x04;
const UPDATE_CLASS_MASK = 0x03;
/** fragment: message id (2) | index (1) | count (1) | bytes. */
export const FRAGMENT_HEAD_BYTES = 4;
/** Every fragment but the last carries exactly this many bytes. */
export const MAX_FRAGMENT_BYTES = MAX_BODY_BYTES - FRAGMENT_HEAD_BYTES;
/** The most fragments a radio bundle (at most MAX_RADIO_BUNDLE_BYTES) is cut into. */
export const MAX_FRAGMENTS = Math.ceil(MAX_RADIO_BUNDLE_BYTES / MAX_FRAGMENT_BYTES);
/** summary: session (1) | sender's set size (3) | first symbol index (2) | symbols. */
export const SUMMARY_HEAD_BYTES = 6;
export const MAX_SET_SIZE = 0xffffff;
export const MAX_SYMBOL_INDEX = 0xffff;
/** difference: session (1) | count of ids the replier lacks (1) | those ids | ids it holds that the other lacks. */
export const DIFFERENCE_HEAD_BYTES = 2;
export const MAX_DIFFERENCE_IDS = Math.floor((MAX_BODY_BYTES - DIFFERENCE_HEAD_BYTES) / ITEM_ID_BYTES);

export type RadioEnvelope =
  | { kind: 'update'; cls: RadioClass; urgent: boolean; update: Uint8Array }
  | { kind: 'fragment'; messageId: number; index: number; count: number; bytes: Uint8Array }
  /** Bit i of `bitmap` (byte i >> 3, bit i & 7, least significant first) set: fragment i is missing. */
  | { kind: 'missing'; messageId: number; count: number; bitmap: Uint8Array }
  | { kind: 'summary'; session: number; setSize: number; first: number; symbols: Uint8Array }
  | { kind: 'more'; session: number; next: number }
  /** lacking: ids the replier lacks (the summary's sender holds them); holding: ids the replier holds that the other lacks. */
  | { kind: 'difference'; session: number; lacking: Uint8Array[]; holding: Uint8Array[] };

export type DecodedEnvelope = { envelope: RadioEnvelope } | { refused: string };

/** A caller tried to encode something that is not a valid envelope (a bug, not a peer's fault). */
export class RadioEnvelopeError extends Error {
  override name = 'RadioEnvelopeError';
}

const FRAME_FIRST = 0x94;
const FRAME_SECOND = 0xc3;

/**
 * The mask for `body`: the smallest byte whose XOR leaves no 0x94 0xC3 pair (including mask |
 * first byte) and no final 0x94. Each pair forbids at most one value, so with at most 231 body
 * bytes one of the 256 always remains.
 */
export function chooseMask(body: Uint8Array): number {
  const forbidden = new Uint8Array(256);
  for (let i = 0; i + 1 < body.length; i++) {
    const m = body[i]! ^ FRAME_FIRST;
    if ((body[i + 1]! ^ FRAME_SECOND) === m) forbidden[m] = 1;
  }
  if (body.length === 0) forbidden[FRAME_FIRST] = 1;
  else {
    if ((body[0]! ^ FRAME_FIRST) === FRAME_SECOND) forbidden[FRAME_FIRST] = 1;
    forbidden[body[body.length - 1]! ^ FRAME_FIRST] = 1;
  }
  for (let m = 0; m < 256; m++) if (!forbidden[m]) return m;
  throw new RadioEnvelopeError('no mask for this body'); // unreachable for bodies of at most 254 bytes
}

/** True when `payload` contains the serial framing marker 0x94 0xC3 or ends in 0x94. */
export function hasFrameMarker(payload: Uint8Array): boolean {
  for (let i = 0; i + 1 < payload.length; i++) if (payload[i] === FRAME_FIRST && payload[i + 1] === FRAME_SECOND) return true;
  return payload.length > 0 && payload[payload.length - 1] === FRAME_FIRST;
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new RadioEnvelopeError(message);
}

function isU(value: number, max: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= max;
}

/** Encodes an envelope; throws RadioEnvelopeError when a field is out of range. */
export function encodeEnvelope(envelope: RadioEnvelope): Uint8Array {
  const body = encodeBody(envelope);
  check(body.length <= MAX_BODY_BYTES, `a ${envelope.kind} envelope is over ${MAX_ENVELOPE_BYTES} bytes`);
  const mask = chooseMask(body);
  const out = new Uint8Array(ENVELOPE_HEAD_BYTES + body.length);
  out[0] = (RADIO_ENVELOPE_VERSION << 4) | RADIO_KINDS[envelope.kind];
  out[1] = mask;
  for (let i = 0; i < body.length; i++) out[ENVELOPE_HEAD_BYTES + i] = body[i]! ^ mask;
  return out;
}

function encodeBody(e: RadioEnvelope): Uint8Array {
  switch (e.kind) {
    case 'update': {
      const cls = RADIO_CLASSES.indexOf(e.cls);
      check(cls >= 0, 'unknown class');
      check(e.update.length >= 1 && e.update.length <= MAX_COMPACT_UPDATE_BYTES, `a compact update is 1 to ${MAX_COMPACT_UPDATE_BYTES} bytes`);
      const body = new Uint8Array(1 + e.update.length);
      body[0] = cls | (e.urgent ? UPDATE_FLAG_URGENT : 0);
      body.set(e.update, 1);
      return body;
    }
    case 'fragment': {
      check(isU(e.messageId, 0xffff), 'message id is a u16');
      check(isU(e.count, MAX_FRAGMENTS) && e.count >= 1 && isU(e.index, e.count - 1), 'fragment index or count out of range');
      const last = e.index === e.count - 1;
      check(
        last ? e.bytes.length >= 1 && (e.count - 1) * MAX_FRAGMENT_BYTES + e.bytes.length <= MAX_RADIO_BUNDLE_BYTES : e.bytes.length === MAX_FRAGMENT_BYTES,
        'fragment size out of range',
      );
      const body = new Uint8Array(FRAGMENT_HEAD_BYTES + e.bytes.length);
      body[0] = e.messageId >> 8;
      body[1] = e.messageId & 0xff;
      body[2] = e.index;
      body[3] = e.count;
      body.set(e.bytes, FRAGMENT_HEAD_BYTES);
      return body;
    }
    case 'missing': {
      check(isU(e.messageId, 0xffff), 'message id is a u16');
      check(isU(e.count, MAX_FRAGMENTS) && e.count >= 1, 'fragment count out of range');
      check(validBitmap(e.bitmap, e.count), 'the bitmap must name at least one fragment below the count');
      const body = new Uint8Array(3 + e.bitmap.length);
      body[0] = e.messageId >> 8;
      body[1] = e.messageId & 0xff;
      body[2] = e.count;
      body.set(e.bitmap, 3);
      return body;
    }
    case 'summary': {
      check(isU(e.session, 0xff) && isU(e.setSize, MAX_SET_SIZE) && isU(e.first, MAX_SYMBOL_INDEX), 'summary field out of range');
      check(
        e.symbols.length > 0 && e.symbols.length % SYMBOL_BYTES === 0 && e.symbols.length <= SUMMARY_BYTES_PER_PACKET,
        `summary symbols are 1 to ${Math.floor(SUMMARY_BYTES_PER_PACKET / SYMBOL_BYTES)} whole symbols`,
      );
      const body = new Uint8Array(SUMMARY_HEAD_BYTES + e.symbols.length);
      body[0] = e.session;
      body[1] = e.setSize >> 16;
      body[2] = (e.setSize >> 8) & 0xff;
      body[3] = e.setSize & 0xff;
      body[4] = e.first >> 8;
      body[5] = e.first & 0xff;
      body.set(e.symbols, SUMMARY_HEAD_BYTES);
      return body;
    }
    case 'more':
      check(isU(e.session, 0xff) && isU(e.next, MAX_SYMBOL_INDEX), 'more field out of range');
      return Uint8Array.of(e.session, e.next >> 8, e.next & 0xff);
    case 'difference': {
      check(isU(e.session, 0xff), 'session is a u8');
      check(e.lacking.length + e.holding.length <= MAX_DIFFERENCE_IDS, `a difference carries at most ${MAX_DIFFERENCE_IDS} ids`);
      const ids = [...e.lacking, ...e.holding];
      check(ids.every((id) => id.length === ITEM_ID_BYTES), `an item id is ${ITEM_ID_BYTES} bytes`);
      const body = new Uint8Array(DIFFERENCE_HEAD_BYTES + ids.length * ITEM_ID_BYTES);
      body[0] = e.session;
      body[1] = e.lacking.length;
      ids.forEach((id, i) => body.set(id, DIFFERENCE_HEAD_BYTES + i * ITEM_ID_BYTES));
      return body;
    }
  }
}

function validBitmap(bitmap: Uint8Array, count: number): boolean {
  if (bitmap.length !== Math.ceil(count / 8)) return false;
  let any = false;
  for (let i = 0; i < bitmap.length * 8; i++) {
    const set = (bitmap[i >> 3]! >> (i & 7)) & 1;
    if (set && i >= count) return false;
    if (set) any = true;
  }
  return any;
}

/** The bitmap naming `indices` (each below `count`). */
export function missingBitmap(indices: Iterable<number>, count: number): Uint8Array {
  const bitmap = new Uint8Array(Math.ceil(count / 8));
  for (const i of indices) {
    check(isU(i, count - 1), 'missing index out of range');
    bitmap[i >> 3]! |= 1 << (i & 7);
  }
  return bitmap;
}

/** The fragment indices a `missing` bitmap names, in order. */
export function missingIndices(bitmap: Uint8Array, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) if ((bitmap[i >> 3]! >> (i & 7)) & 1) out.push(i);
  return out;
}

/** Decodes one datagram payload. Never throws; whatever it returns views a copy no larger than the input. */
export function decodeEnvelope(payload: Uint8Array): DecodedEnvelope {
  if (payload.length < ENVELOPE_HEAD_BYTES) return { refused: 'envelope too short' };
  if (payload.length > MAX_ENVELOPE_BYTES) return { refused: `envelope over ${MAX_ENVELOPE_BYTES} bytes` };
  const version = payload[0]! >> 4;
  if (version !== RADIO_ENVELOPE_VERSION) return { refused: `unsupported envelope version ${version}` };
  const kindNumber = payload[0]! & 0x0f;
  const kind = (Object.keys(RADIO_KINDS) as RadioKind[]).find((k) => RADIO_KINDS[k] === kindNumber);
  if (!kind) return { refused: `unknown envelope kind ${kindNumber}` };
  if (hasFrameMarker(payload)) return { refused: 'envelope contains the serial frame marker 0x94 0xC3' };
  const mask = payload[1]!;
  const body = new Uint8Array(payload.length - ENVELOPE_HEAD_BYTES);
  for (let i = 0; i < body.length; i++) body[i] = payload[ENVELOPE_HEAD_BYTES + i]! ^ mask;
  if (chooseMask(body) !== mask) return { refused: 'envelope mask is not the canonical one' };
  return decodeBody(kind, body);
}

function decodeBody(kind: RadioKind, body: Uint8Array): DecodedEnvelope {
  const n = body.length;
  switch (kind) {
    case 'update': {
      if (n < 2) return { refused: 'update envelope without an update' };
      if (n - 1 > MAX_COMPACT_UPDATE_BYTES) return { refused: `compact update over ${MAX_COMPACT_UPDATE_BYTES} bytes` };
      const flags = body[0]!;
      if (flags & ~(UPDATE_CLASS_MASK | UPDATE_FLAG_URGENT)) return { refused: 'update envelope has unknown flags' };
      const cls = RADIO_CLASSES[flags & UPDATE_CLASS_MASK]!;
      return { envelope: { kind, cls, urgent: (flags & UPDATE_FLAG_URGENT) !== 0, update: body.subarray(1) } };
    }
    case 'fragment': {
      if (n < FRAGMENT_HEAD_BYTES + 1) return { refused: 'fragment too short' };
      const index = body[2]!;
      const count = body[3]!;
      if (count < 1 || count > MAX_FRAGMENTS) return { refused: `fragment count ${count} out of range (1 to ${MAX_FRAGMENTS})` };
      if (index >= count) return { refused: 'fragment index not below its count' };
      const size = n - FRAGMENT_HEAD_BYTES;
      if (index < count - 1 && size !== MAX_FRAGMENT_BYTES) return { refused: `a fragment before the last carries ${MAX_FRAGMENT_BYTES} bytes` };
      if (index === count - 1 && (count - 1) * MAX_FRAGMENT_BYTES + size > MAX_RADIO_BUNDLE_BYTES) return { refused: 'fragmented message over the radio bundle limit' };
      return { envelope: { kind, messageId: (body[0]! << 8) | body[1]!, index, count, bytes: body.subarray(FRAGMENT_HEAD_BYTES) } };
    }
    case 'missing': {
      if (n < 4) return { refused: 'missing too short' };
      const count = body[2]!;
      if (count < 1 || count > MAX_FRAGMENTS) return { refused: `fragment count ${count} out of range (1 to ${MAX_FRAGMENTS})` };
      const bitmap = body.subarray(3);
      if (!validBitmap(bitmap, count)) return { refused: 'missing bitmap has the wrong size or names no fragment below the count' };
      return { envelope: { kind, messageId: (body[0]! << 8) | body[1]!, count, bitmap } };
    }
    case 'summary': {
      const size = n - SUMMARY_HEAD_BYTES;
      if (size <= 0 || size % SYMBOL_BYTES !== 0 || size > SUMMARY_BYTES_PER_PACKET) return { refused: 'summary symbols are not whole symbols within one packet' };
      return {
        envelope: {
          kind,
          session: body[0]!,
          setSize: (body[1]! << 16) | (body[2]! << 8) | body[3]!,
          first: (body[4]! << 8) | body[5]!,
          symbols: body.subarray(SUMMARY_HEAD_BYTES),
        },
      };
    }
    case 'more':
      if (n !== 3) return { refused: 'more is 3 bytes' };
      return { envelope: { kind, session: body[0]!, next: (body[1]! << 8) | body[2]! } };
    case 'difference': {
      if (n < DIFFERENCE_HEAD_BYTES) return { refused: 'difference too short' };
      const idBytes = n - DIFFERENCE_HEAD_BYTES;
      if (idBytes % ITEM_ID_BYTES !== 0) return { refused: 'difference ids are not whole ids' };
      const lackingCount = body[1]!;
      const total = idBytes / ITEM_ID_BYTES;
      if (lackingCount > total) return { refused: 'difference names more lacking ids than it carries' };
      const ids: Uint8Array[] = [];
      for (let i = 0; i < total; i++) ids.push(body.subarray(DIFFERENCE_HEAD_BYTES + i * ITEM_ID_BYTES, DIFFERENCE_HEAD_BYTES + (i + 1) * ITEM_ID_BYTES));
      return { envelope: { kind, session: body[0]!, lacking: ids.slice(0, lackingCount), holding: ids.slice(lackingCount) } };
    }
  }
}
