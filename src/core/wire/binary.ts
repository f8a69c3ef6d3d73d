import { WireError } from './wireError';

const textEncoder = new TextEncoder();
// ignoreBOM: a leading U+FEFF is kept as text, so every text has one encoding (decoded and encoded again, the same bytes).
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Appends big-endian integers, byte strings and UTF-8 text to a growing buffer. */
export class BinaryWriter {
  private buffer: Uint8Array;
  private view: DataView;
  private length = 0;

  constructor(initialCapacity = 256) {
    this.buffer = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buffer.buffer);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < this.length + bytes) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
    this.view = new DataView(next.buffer);
  }

  u8(value: number): this {
    this.reserve(1);
    this.view.setUint8(this.length, value);
    this.length += 1;
    return this;
  }

  u16(value: number): this {
    this.reserve(2);
    this.view.setUint16(this.length, value);
    this.length += 2;
    return this;
  }

  u32(value: number): this {
    this.reserve(4);
    this.view.setUint32(this.length, value);
    this.length += 4;
    return this;
  }

  /** Unsigned 64-bit, from a non-negative safe integer. */
  u64(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`u64 out of range: ${value}`);
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt(value));
    this.length += 8;
    return this;
  }

  /** Raw bytes of a length both sides already know. */
  fixed(bytes: Uint8Array, expectedLength: number): this {
    if (bytes.length !== expectedLength) throw new RangeError(`expected ${expectedLength} bytes, got ${bytes.length}`);
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  /** Bytes prefixed with their u32 length. */
  bytes(bytes: Uint8Array): this {
    this.u32(bytes.length);
    return this.fixed(bytes, bytes.length);
  }

  /** UTF-8 text prefixed with its u16 byte length. */
  text(value: string): this {
    const encoded = textEncoder.encode(value);
    if (encoded.length > 0xffff) throw new RangeError('text longer than 65535 bytes');
    this.u16(encoded.length);
    return this.fixed(encoded, encoded.length);
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

/** Reads what BinaryWriter wrote; every read is bounds-checked and fails with a WireError. */
export class BinaryReader {
  private offset = 0;
  private readonly view: DataView;

  constructor(private readonly bytesIn: Uint8Array) {
    this.view = new DataView(bytesIn.buffer, bytesIn.byteOffset, bytesIn.byteLength);
  }

  get remaining(): number {
    return this.bytesIn.length - this.offset;
  }

  private need(bytes: number, what: string): void {
    if (this.remaining < bytes) throw new WireError('truncated', `truncated ${what}: need ${bytes} bytes, have ${this.remaining}`);
  }

  u8(what = 'u8'): number {
    this.need(1, what);
    return this.view.getUint8(this.offset++);
  }

  u16(what = 'u16'): number {
    this.need(2, what);
    const value = this.view.getUint16(this.offset);
    this.offset += 2;
    return value;
  }

  u32(what = 'u32'): number {
    this.need(4, what);
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }

  u64(what = 'u64'): number {
    this.need(8, what);
    const value = this.view.getBigUint64(this.offset);
    this.offset += 8;
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new WireError('malformed', `${what} is beyond 2^53`);
    return Number(value);
  }

  fixed(length: number, what = 'bytes'): Uint8Array {
    this.need(length, what);
    const out = this.bytesIn.slice(this.offset, this.offset + length);
    this.offset += length;
    return out;
  }

  bytes(maxLength: number, what = 'bytes'): Uint8Array {
    const length = this.u32(`${what} length`);
    if (length > maxLength) throw new WireError('too-large', `${what} is ${length} bytes, limit ${maxLength}`);
    return this.fixed(length, what);
  }

  text(maxBytes: number, what = 'text'): string {
    const length = this.u16(`${what} length`);
    if (length > maxBytes) throw new WireError('too-large', `${what} is ${length} bytes, limit ${maxBytes}`);
    try {
      return textDecoder.decode(this.fixed(length, what));
    } catch (error) {
      if (error instanceof WireError) throw error;
      throw new WireError('malformed', `${what} is not valid UTF-8`);
    }
  }

  /** Count prefix for a list, bounded before anything is allocated. */
  count(maxItems: number, what: string): number {
    const n = this.u16(`${what} count`);
    if (n > maxItems) throw new WireError('too-large', `${what}: ${n} items, limit ${maxItems}`);
    return n;
  }

  end(what: string): void {
    if (this.remaining !== 0) throw new WireError('trailing-bytes', `${what}: ${this.remaining} unexpected trailing bytes`);
  }
}
