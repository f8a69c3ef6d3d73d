import { WireError } from './wireError';

/**
 * Frames on a byte stream, format version 2:
 *
 *   0x53 0x4b ("SK") | version u8 | type u8 | flags u8 | payload length u24 big-endian | payload
 *
 * `version` and `type` are the message's. flags bit 0 is MORE: more fragments of this message
 * follow; every other flag bit must be 0. A fragment's payload is at most MAX_FRAME_PAYLOAD
 * bytes, and a fragment with MORE set carries at least one byte.
 *
 * Every message type belongs to a lane (control, sync, bulk). A message is the concatenation of
 * the payloads of consecutive fragments of the same type and version on its lane, the last with
 * MORE = 0; a message that fits in one frame is one frame with MORE = 0. Fragments of different
 * lanes may interleave on the stream, so a ping need not wait behind a 32 MB bundle; within a
 * lane, once a message has begun, the next fragment on that lane continues it.
 *
 * The decoder checks everything it can from the 8-byte header (magic, type, version, flags,
 * fragment size, continuity on the lane, the message's size so far against the type's limit)
 * before it buffers a single payload byte.
 *
 * A single frame with MORE = 0 and at most 64 KiB of payload is byte for byte what format 1
 * wrote (a u32 length below 2^24 has a zero first byte).
 */
export const FRAME_MAGIC_0 = 0x53;
export const FRAME_MAGIC_1 = 0x4b;
export const FRAME_HEADER_BYTES = 8;
/** The largest payload one frame (fragment) may carry. */
export const MAX_FRAME_PAYLOAD = 64 * 1024;
/** flags bit 0: more fragments of this message follow on its lane. */
export const FLAG_MORE = 0x01;

/** Lanes, in strict priority for the first and weighted between sync and bulk (see LaneSender). */
export type Lane = 'control' | 'sync' | 'bulk';
export const LANES: readonly Lane[] = ['control', 'sync', 'bulk'];

/** A whole message as the decoder hands it out (all its fragments joined). */
export interface Frame {
  type: number;
  version: number;
  payload: Uint8Array;
}

/**
 * What a decoder accepts: for each message type, the versions it understands, the largest
 * message payload (all fragments together) and the lane the type travels on.
 */
export type FrameLimits = ReadonlyMap<number, { versions: readonly number[]; maxPayload: number; lane: Lane }>;

function checkByte(what: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new RangeError(`frame ${what} ${value} is not a byte`);
}

/**
 * One fragment: the header and `payload` (at most MAX_FRAME_PAYLOAD bytes; at least one if
 * `more`). Throws RangeError for arguments that cannot be encoded.
 */
export function encodeFragment(type: number, version: number, payload: Uint8Array, more: boolean): Uint8Array {
  checkByte('type', type);
  checkByte('version', version);
  if (payload.length > MAX_FRAME_PAYLOAD) {
    throw new RangeError(`frame payload of ${payload.length} bytes exceeds ${MAX_FRAME_PAYLOAD}; use encodeMessageFrames`);
  }
  if (more && payload.length === 0) throw new RangeError('a fragment with MORE set must carry at least one byte');
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  out[0] = FRAME_MAGIC_0;
  out[1] = FRAME_MAGIC_1;
  out[2] = version;
  out[3] = type;
  out[4] = more ? FLAG_MORE : 0;
  out[5] = (payload.length >>> 16) & 0xff;
  out[6] = (payload.length >>> 8) & 0xff;
  out[7] = payload.length & 0xff;
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/** A message that fits in one frame (payload at most MAX_FRAME_PAYLOAD bytes, else RangeError). */
export function encodeFrame(type: number, version: number, payload: Uint8Array): Uint8Array {
  return encodeFragment(type, version, payload, false);
}

/**
 * A message of any size as its frames: fragments of MAX_FRAME_PAYLOAD bytes, the last (MORE = 0)
 * holding the rest. An empty payload is one empty frame. Copies everything at once; to send a
 * large message without that, see LaneSender, which cuts one fragment at a time.
 */
export function encodeMessageFrames(type: number, version: number, payload: Uint8Array): Uint8Array[] {
  if (payload.length <= MAX_FRAME_PAYLOAD) return [encodeFrame(type, version, payload)];
  const frames: Uint8Array[] = [];
  for (let offset = 0; offset < payload.length; offset += MAX_FRAME_PAYLOAD) {
    const end = Math.min(offset + MAX_FRAME_PAYLOAD, payload.length);
    frames.push(encodeFragment(type, version, payload.subarray(offset, end), end < payload.length));
  }
  return frames;
}

interface FragmentHeader {
  type: number;
  version: number;
  more: boolean;
  length: number;
  lane: Lane;
}

/** A message begun on a lane: its type, version and the fragments so far. */
interface Partial {
  type: number;
  version: number;
  parts: Uint8Array[];
  size: number;
}

/**
 * Turns chunks of a byte stream (split anywhere) into whole messages, reassembling fragments per
 * lane. After it throws, the stream is out of step and the link must be closed: the decoder stays
 * failed. It holds at most one unfinished fragment (≤ 8 + 64 KiB) beyond the current chunk, plus
 * per lane one unfinished message, never more than that lane's largest maxPayload.
 */
export class FrameDecoder {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private header: FragmentHeader | undefined;
  private readonly partial = new Map<Lane, Partial>();
  private failure: WireError | undefined;

  constructor(private readonly limits: FrameLimits) {}

  push(chunk: Uint8Array): Frame[] {
    if (this.failure) throw this.failure;
    if (chunk.length > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
    }
    const messages: Frame[] = [];
    try {
      for (;;) {
        if (!this.header) {
          if (this.pendingBytes < FRAME_HEADER_BYTES) break;
          this.header = this.readHeader(this.take(FRAME_HEADER_BYTES));
        }
        if (this.pendingBytes < this.header.length) break;
        const header = this.header;
        this.header = undefined;
        const payload = this.take(header.length);
        const begun = this.partial.get(header.lane);
        if (header.more) {
          if (begun) {
            begun.parts.push(payload);
            begun.size += payload.length;
          } else {
            this.partial.set(header.lane, { type: header.type, version: header.version, parts: [payload], size: payload.length });
          }
        } else if (begun) {
          this.partial.delete(header.lane);
          begun.parts.push(payload);
          messages.push({ type: begun.type, version: begun.version, payload: concat(begun.parts, begun.size + payload.length) });
        } else {
          messages.push({ type: header.type, version: header.version, payload });
        }
      }
    } catch (error) {
      this.failure = error instanceof WireError ? error : new WireError('malformed', String(error));
      this.pending = [];
      this.pendingBytes = 0;
      this.header = undefined;
      this.partial.clear();
      throw this.failure;
    }
    this.compact();
    return messages;
  }

  /**
   * What is left over is less than one frame, but it may be a view into a much larger chunk the
   * caller pushed; copy it out so that chunk can be freed and memory stays bounded by the limits.
   */
  private compact(): void {
    if (this.pending.length === 0) return;
    let retained = 0;
    for (const part of this.pending) retained += part.buffer.byteLength;
    if (retained <= 2 * (FRAME_HEADER_BYTES + MAX_FRAME_PAYLOAD)) return;
    const rest = this.take(this.pendingBytes);
    this.pending = [rest];
    this.pendingBytes = rest.length;
  }

  /** Bytes received that are not yet part of a whole message (unfinished frames and messages). */
  get buffered(): number {
    let total = this.pendingBytes;
    for (const begun of this.partial.values()) total += begun.size;
    return total;
  }

  private readHeader(bytes: Uint8Array): FragmentHeader {
    if (bytes[0] !== FRAME_MAGIC_0 || bytes[1] !== FRAME_MAGIC_1) {
      throw new WireError('bad-magic', `not a Souk frame (starts ${bytes[0]?.toString(16)} ${bytes[1]?.toString(16)})`);
    }
    const version = bytes[2]!;
    const type = bytes[3]!;
    const flags = bytes[4]!;
    const length = (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!;
    const limit = this.limits.get(type);
    if (!limit) throw new WireError('unknown-type', `unknown frame type ${type}`);
    if (!limit.versions.includes(version)) {
      throw new WireError('unsupported-version', `frame type ${type} version ${version} is not supported (know ${limit.versions.join(', ')})`);
    }
    if ((flags & ~FLAG_MORE) !== 0) throw new WireError('bad-flags', `frame type ${type} has unknown flags 0x${flags.toString(16)}`);
    const more = (flags & FLAG_MORE) !== 0;
    if (length > MAX_FRAME_PAYLOAD) {
      throw new WireError('too-large', `frame type ${type} declares a fragment of ${length} bytes, limit ${MAX_FRAME_PAYLOAD}`);
    }
    if (more && length === 0) throw new WireError('malformed', `frame type ${type} has MORE set on an empty fragment`);
    const begun = this.partial.get(limit.lane);
    if (begun && (begun.type !== type || begun.version !== version)) {
      throw new WireError(
        'interleaved',
        `frame type ${type} version ${version} on the ${limit.lane} lane while type ${begun.type} version ${begun.version} is unfinished`,
      );
    }
    const total = (begun?.size ?? 0) + length;
    if (total > limit.maxPayload) {
      throw new WireError(
        'too-large',
        begun
          ? `frame type ${type} message reaches ${total} bytes, limit ${limit.maxPayload}`
          : `frame type ${type} declares ${length} bytes, limit ${limit.maxPayload}`,
      );
    }
    return { type, version, more, length, lane: limit.lane };
  }

  private take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const head = this.pending[0]!;
      const needed = n - filled;
      if (head.length <= needed) {
        out.set(head, filled);
        filled += head.length;
        this.pending.shift();
      } else {
        out.set(head.subarray(0, needed), filled);
        this.pending[0] = head.subarray(needed);
        filled += needed;
      }
    }
    this.pendingBytes -= n;
    return out;
  }
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
