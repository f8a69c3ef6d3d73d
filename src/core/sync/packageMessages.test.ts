import { describe, expect, it } from 'vitest';
import { FrameDecoder } from '../wire/frame';
import { concatBytes, toHex } from '../wire/hex';
import { WireError } from '../wire/wireError';
import { decodeMessage, messageFrames, SYNC_FRAME_LIMITS, type SyncMessage } from './syncMessages';

const bytesOf = (message: SyncMessage) => concatBytes(...messageFrames(message));
const decodeAll = (bytes: Uint8Array) => new FrameDecoder(SYNC_FRAME_LIMITS).push(bytes).map(decodeMessage);
const root = new Uint8Array(32).fill(0xab);

/** A small deterministic generator, so a failing fuzz case can be replayed. */
function generator(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

describe('package messages (protocol version 3, types 13–17)', () => {
  it('have fixed byte layouts', () => {
    // 'SK' | version 3 | type | flags 0 | u24 length | payload
    expect(toHex(bytesOf({ type: 'packageAsk', root, hashList: true }))).toBe('534b030d00000021' + 'ab'.repeat(32) + '01');
    expect(toHex(bytesOf({ type: 'chunkAsk', root, index: 258 }))).toBe('534b030f00000022' + 'ab'.repeat(32) + '0102');
    expect(toHex(bytesOf({ type: 'chunkRefusal', root, index: 7, code: 1 }))).toBe('534b031100000023' + 'ab'.repeat(32) + '0007' + '01');
    expect(toHex(bytesOf({ type: 'chunk', root, index: 1, bytes: new Uint8Array([9, 8, 7]) }))).toBe('534b031000000029' + 'ab'.repeat(32) + '0001' + '00000003' + '090807');
    // 10 chunks of 64 KiB (the last short): size, log2 16, two bitfield bytes (bits past chunk 9
    // zero), then the hash list flag and 10 hashes.
    const hashList = new Uint8Array(320).fill(0x5a);
    expect(toHex(bytesOf({ type: 'packageHave', root, size: 600_000, chunkSize: 65_536, bitfield: new Uint8Array([0xff, 0x40]), hashList }))).toBe(
      '534b030e0000016c' + 'ab'.repeat(32) + '00000000000927c0' + '10' + 'ff40' + '01' + '5a'.repeat(320),
    );
    // Not served: size 0, log2 0, nothing more.
    expect(toHex(bytesOf({ type: 'packageHave', root, size: null, chunkSize: 0, bitfield: new Uint8Array(0) }))).toBe('534b030e00000029' + 'ab'.repeat(32) + '0000000000000000' + '00');
  });

  it('round-trip, and a 1 MiB chunk travels in 64 KiB fragments on the bulk lane', () => {
    const messages: SyncMessage[] = [
      { type: 'packageAsk', root, hashList: false },
      { type: 'packageHave', root, size: 1024 * 1024 * 1024, chunkSize: 262_144, bitfield: new Uint8Array(512).fill(0xff) },
      { type: 'packageHave', root, size: null, chunkSize: 0, bitfield: new Uint8Array(0) },
      { type: 'chunkAsk', root, index: 4095 },
      { type: 'chunkRefusal', root, index: 0, code: 2 },
    ];
    for (const message of messages) expect(decodeAll(bytesOf(message))).toEqual([message]);
    const big = new Uint8Array(1024 * 1024).map((_, i) => i * 7);
    const frames = messageFrames({ type: 'chunk', root, index: 3, bytes: big });
    expect(frames.length).toBe(17);
    expect(frames.every((f) => f[3] === 16 && f.length <= 8 + 65536)).toBe(true);
    const [chunk] = decodeAll(concatBytes(...frames));
    expect(chunk!.type === 'chunk' && chunk.index === 3 && toHex(chunk.bytes) === toHex(big)).toBe(true);
  });

  it('refuse what breaks a limit, with a WireError', () => {
    const index = bytesOf({ type: 'chunkAsk', root, index: 1 });
    index[8 + 32] = 0x10; // 4097: past the last chunk a manifest allows
    expect(() => decodeAll(index)).toThrow(/chunk index/);
    const spare = bytesOf({ type: 'packageHave', root, size: 600_000, chunkSize: 65_536, bitfield: new Uint8Array([0, 0]) });
    spare[8 + 32 + 9 + 1] = 0x01; // bit 15 of a 10-chunk bitfield
    expect(() => decodeAll(spare)).toThrow(/past its last chunk/);
    const many = bytesOf({ type: 'packageHave', root, size: 1024, chunkSize: 65_536, bitfield: new Uint8Array(1) });
    many[8 + 32 + 4] = 0x20; // 512 MiB + 1 KiB in 64 KiB chunks: 8 193 chunks
    expect(() => decodeAll(many)).toThrow(/8193 chunks, limit 4096/);
    const huge = bytesOf({ type: 'packageHave', root, size: 1024, chunkSize: 65_536, bitfield: new Uint8Array(1) });
    huge[8 + 32 + 2] = 0x01; // 2^40 bytes
    expect(() => decodeAll(huge)).toThrow(WireError);
    const notServed = bytesOf({ type: 'packageHave', root, size: null, chunkSize: 0, bitfield: new Uint8Array(0) });
    notServed[8 + 32 + 7] = 1; // log2 0 but a size
    expect(() => decodeAll(notServed)).toThrow(/size 0/);
    const refusal = bytesOf({ type: 'chunkRefusal', root, index: 0, code: 1 });
    refusal[refusal.length - 1] = 3;
    expect(() => decodeAll(refusal)).toThrow(/unknown chunk refusal code/);
    const flag = bytesOf({ type: 'packageAsk', root, hashList: false });
    flag[flag.length - 1] = 2;
    expect(() => decodeAll(flag)).toThrow(/0 or 1/);
    // A chunk frame claiming more than 1 MiB is refused from its header, before the payload arrives.
    const header = new Uint8Array([0x53, 0x4b, 3, 16, 0, 0xff, 0xff, 0xff]);
    expect(() => decodeAll(header)).toThrow(WireError);
  });

  it('survive a fuzz of random and mutated frames: a message or a WireError, nothing else', () => {
    const next = generator(20261124);
    const seeds = [
      bytesOf({ type: 'packageAsk', root, hashList: true }),
      bytesOf({ type: 'packageHave', root, size: 20 * 65_536, chunkSize: 65_536, bitfield: new Uint8Array([1, 2, 0x30]), hashList: new Uint8Array(640) }),
      bytesOf({ type: 'chunkAsk', root, index: 5 }),
      bytesOf({ type: 'chunk', root, index: 5, bytes: new Uint8Array(100) }),
      bytesOf({ type: 'chunkRefusal', root, index: 5, code: 2 }),
    ];
    let decoded = 0;
    let refused = 0;
    for (let round = 0; round < 5000; round++) {
      let bytes: Uint8Array;
      if (round % 5 === 0) {
        bytes = new Uint8Array(next() % 80).map(() => next() & 0xff);
        if (bytes.length >= 4 && round % 10 === 0) bytes.set([0x53, 0x4b, 3, 13 + (next() % 5)]);
      } else {
        bytes = seeds[next() % seeds.length]!.slice();
        for (let flips = 1 + (next() % 4); flips > 0; flips--) bytes[next() % bytes.length] = next() & 0xff;
        if (next() % 4 === 0) bytes = bytes.slice(0, next() % bytes.length);
      }
      try {
        decodeAll(bytes);
        decoded++;
      } catch (error) {
        expect(error).toBeInstanceOf(WireError);
        refused++;
      }
    }
    expect(decoded).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });
});
