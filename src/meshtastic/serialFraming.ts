/**
 * Meshtastic's serial framing (the "stream API"): 0x94 0xC3, the protobuf's length as a 16-bit
 * big-endian number, then the ToRadio (to the radio) or FromRadio (from it) protobuf.
 */

export const FRAME_START_1 = 0x94;
export const FRAME_START_2 = 0xc3;
export const FRAME_HEADER_BYTES = 4;
/** The firmware's limit for one ToRadio / FromRadio protobuf (MAX_TO_FROM_RADIO_SIZE). */
export const MAX_FRAME_PAYLOAD = 512;

export function frameSerial(protobuf: Uint8Array): Uint8Array {
  if (protobuf.length > MAX_FRAME_PAYLOAD) throw new RangeError(`a serial frame carries at most ${MAX_FRAME_PAYLOAD} bytes, not ${protobuf.length}`);
  const frame = new Uint8Array(FRAME_HEADER_BYTES + protobuf.length);
  frame[0] = FRAME_START_1;
  frame[1] = FRAME_START_2;
  frame[2] = protobuf.length >> 8;
  frame[3] = protobuf.length & 0xff;
  frame.set(protobuf, FRAME_HEADER_BYTES);
  return frame;
}

/**
 * Takes serial bytes as they come, in any chunks, and yields the protobufs of whole frames. Bytes
 * outside a frame (debug text, line noise) are skipped, as is a header announcing more than
 * MAX_FRAME_PAYLOAD (resynchronising on the next start bytes). Holds at most one frame's bytes.
 */
export class SerialDeframer {
  private buffer = new Uint8Array(FRAME_HEADER_BYTES + MAX_FRAME_PAYLOAD);
  private length = 0;
  /** Bytes skipped as not part of any frame. */
  skipped = 0;

  push(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    for (const byte of chunk) {
      const at = this.length;
      if (at === 0 && byte !== FRAME_START_1) {
        this.skipped++;
        continue;
      }
      if (at === 1 && byte !== FRAME_START_2) {
        this.skipped++;
        this.length = byte === FRAME_START_1 ? 1 : 0;
        if (byte !== FRAME_START_1) this.skipped++;
        continue;
      }
      this.buffer[this.length++] = byte;
      if (this.length === FRAME_HEADER_BYTES) {
        const announced = (this.buffer[2]! << 8) | this.buffer[3]!;
        if (announced > MAX_FRAME_PAYLOAD) {
          this.skipped += FRAME_HEADER_BYTES;
          this.length = 0;
          continue;
        }
      }
      if (this.length >= FRAME_HEADER_BYTES) {
        const announced = (this.buffer[2]! << 8) | this.buffer[3]!;
        if (this.length === FRAME_HEADER_BYTES + announced) {
          frames.push(this.buffer.slice(FRAME_HEADER_BYTES, this.length));
          this.length = 0;
        }
      }
    }
    return frames;
  }
}
