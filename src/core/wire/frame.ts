import { WireError } from './wireError';

/**
 * A frame on a byte stream:
 *   magic "SK" (0x53 0x4b) | version u8 | type u8 | payload length u32 big-endian | payload
 * The decoder checks magic, type, version and the type's size limit from the 8-byte header,
 * before it buffers a single payload byte.
 */
export const FRAME_MAGIC_0 = 0x53;
export const FRAME_MAGIC_1 = 0x4b;
export const FRAME_HEADER_BYTES = 8;

export interface Frame {
  type: number;
  version: number;
  payload: Uint8Array;
}

/** What a decoder accepts: for each frame type, the versions it understands and the largest payload. */
export type FrameLimits = ReadonlyMap<number, { versions: readonly number[]; maxPayload: number }>;

export function encodeFrame(type: number, version: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + payload.length);
  const view = new DataView(out.buffer);
  out[0] = FRAME_MAGIC_0;
  out[1] = FRAME_MAGIC_1;
  out[2] = version;
  out[3] = type;
  view.setUint32(4, payload.length);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Turns chunks of a byte stream (split anywhere) into frames. After it throws, the stream is
 * out of step and the link must be closed: the decoder stays failed.
 */
export class FrameDecoder {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private header: { type: number; version: number; length: number } | undefined;
  private failure: WireError | undefined;

  constructor(private readonly limits: FrameLimits) {}

  push(chunk: Uint8Array): Frame[] {
    if (this.failure) throw this.failure;
    if (chunk.length > 0) {
      this.pending.push(chunk);
      this.pendingBytes += chunk.length;
    }
    const frames: Frame[] = [];
    try {
      for (;;) {
        if (!this.header) {
          if (this.pendingBytes < FRAME_HEADER_BYTES) break;
          this.header = this.readHeader(this.take(FRAME_HEADER_BYTES));
        }
        if (this.pendingBytes < this.header.length) break;
        const payload = this.take(this.header.length);
        frames.push({ type: this.header.type, version: this.header.version, payload });
        this.header = undefined;
      }
    } catch (error) {
      this.failure = error instanceof WireError ? error : new WireError('malformed', String(error));
      this.pending = [];
      this.pendingBytes = 0;
      throw this.failure;
    }
    return frames;
  }

  /** Bytes received that do not yet make a whole frame. */
  get buffered(): number {
    return this.pendingBytes;
  }

  private readHeader(bytes: Uint8Array): { type: number; version: number; length: number } {
    if (bytes[0] !== FRAME_MAGIC_0 || bytes[1] !== FRAME_MAGIC_1) {
      throw new WireError('bad-magic', `not a Souk frame (starts ${bytes[0]?.toString(16)} ${bytes[1]?.toString(16)})`);
    }
    const version = bytes[2]!;
    const type = bytes[3]!;
    const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4);
    const limit = this.limits.get(type);
    if (!limit) throw new WireError('unknown-type', `unknown frame type ${type}`);
    if (!limit.versions.includes(version)) {
      throw new WireError('unsupported-version', `frame type ${type} version ${version} is not supported (know ${limit.versions.join(', ')})`);
    }
    if (length > limit.maxPayload) {
      throw new WireError('too-large', `frame type ${type} declares ${length} bytes, limit ${limit.maxPayload}`);
    }
    return { type, version, length };
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
