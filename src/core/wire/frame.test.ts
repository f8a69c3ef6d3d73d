import { describe, expect, it } from 'vitest';
import {
  encodeFragment,
  encodeFrame,
  encodeMessageFrames,
  FrameDecoder,
  MAX_FRAME_PAYLOAD,
  type Frame,
  type FrameLimits,
  type Lane,
} from './frame';
import { concatBytes, fromHex, toHex } from './hex';
import { WireError } from './wireError';
import { seededRandom as random } from '../seededRandom';

const KiB = 1024;

const limits: FrameLimits = new Map([
  [1, { versions: [1], maxPayload: 16, lane: 'control' }],
  [2, { versions: [1, 2], maxPayload: 4, lane: 'control' }],
  [4, { versions: [1, 2], maxPayload: 200 * KiB, lane: 'sync' }],
  [5, { versions: [1], maxPayload: 4, lane: 'control' }],
  [6, { versions: [1], maxPayload: 150_000, lane: 'bulk' }],
  [7, { versions: [1], maxPayload: 100 * KiB, lane: 'sync' }],
]);

/** The most a decoder over `limits` may hold: one unfinished frame plus, per lane, the largest message. */
const MEMORY_BOUND = 8 + MAX_FRAME_PAYLOAD + 16 + 200 * KiB + 150_000;

function bytes(...parts: (string | Uint8Array)[]): Uint8Array {
  return concatBytes(...parts.map((p) => (typeof p === 'string' ? fromHex(p.replace(/\s+/g, '')) : p)));
}

function counting(length: number, from = 0): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (from + i) & 0xff);
}

function summary(messages: Frame[]): [number, number, string][] {
  return messages.map((m) => [m.type, m.version, toHex(m.payload)]);
}

function failure(run: () => unknown): WireError {
  try {
    run();
  } catch (error) {
    if (error instanceof WireError) return error;
    throw new Error(`expected a WireError, got ${String(error)}`);
  }
  throw new Error('expected a WireError, nothing was thrown');
}

/** Fast pseudo-random bytes (xorshift32), for large payloads. */
function noise(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed | 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Length and FNV-1a of the bytes: enough to tell payloads apart without printing megabytes. */
function digest(payload: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < payload.length; i++) h = Math.imul(h ^ payload[i]!, 0x01000193);
  return `${payload.length}:${(h >>> 0).toString(16)}`;
}

describe('frame format 2: bytes', () => {
  it('a single frame: magic, version, type, flags 0, u24 big-endian length, payload', () => {
    expect(toHex(encodeFrame(1, 1, new Uint8Array([0xde, 0xad])))).toBe('534b0101' + '00' + '000002' + 'dead');
    expect(toHex(encodeFrame(2, 2, new Uint8Array()))).toBe('534b0202' + '00' + '000000');
    expect(toHex(encodeFrame(4, 1, new Uint8Array(MAX_FRAME_PAYLOAD)).subarray(0, 8))).toBe('534b0104' + '00' + '010000');
    expect(encodeMessageFrames(1, 1, new Uint8Array([0xde, 0xad])).map(toHex)).toEqual(['534b01010000' + '0002dead']);
  });

  it('a 3-fragment message: two full fragments with MORE, then the rest without', () => {
    const payload = counting(2 * MAX_FRAME_PAYLOAD + 3);
    const frames = encodeMessageFrames(4, 1, payload);
    expect(frames.map((f) => toHex(f.subarray(0, 8)))).toEqual(['534b010401010000', '534b010401010000', '534b010400000003']);
    const expected = bytes(
      '534b 01 04 01 010000', counting(MAX_FRAME_PAYLOAD),
      '534b 01 04 01 010000', counting(MAX_FRAME_PAYLOAD),
      '534b 01 04 00 000003 000102',
    );
    expect(toHex(bytes(...frames))).toBe(toHex(expected));
    expect(summary(new FrameDecoder(limits).push(expected))).toEqual([[4, 1, toHex(payload)]]);
  });

  it('a control frame between two sync fragments is delivered first, and the sync message after', () => {
    const stream = bytes(
      '534b 01 04 01 010000', counting(MAX_FRAME_PAYLOAD), // sync, type 4, MORE, 65536 bytes
      '534b 01 05 00 000004 00000007', // control, type 5 (ping), nonce 7
      '534b 01 04 00 000002 abcd', // sync, type 4, last fragment
    );
    const decoder = new FrameDecoder(limits);
    expect(summary(decoder.push(stream))).toEqual([
      [5, 1, '00000007'],
      [4, 1, toHex(bytes(counting(MAX_FRAME_PAYLOAD), 'abcd'))],
    ]);
    expect(decoder.buffered).toBe(0);
  });

  it('fragments exactly at the 64 KiB boundary; an empty message is one empty frame', () => {
    expect(encodeMessageFrames(4, 1, new Uint8Array(MAX_FRAME_PAYLOAD)).length).toBe(1);
    const two = encodeMessageFrames(4, 1, new Uint8Array(MAX_FRAME_PAYLOAD + 1));
    expect(two.map((f) => toHex(f.subarray(0, 8)))).toEqual(['534b010401010000', '534b010400000001']);
    const even = encodeMessageFrames(4, 1, new Uint8Array(2 * MAX_FRAME_PAYLOAD));
    expect(even.map((f) => toHex(f.subarray(0, 8)))).toEqual(['534b010401010000', '534b010400010000']);
    expect(encodeMessageFrames(4, 1, new Uint8Array()).map(toHex)).toEqual(['534b010400000000']);
  });

  it('encoding refuses what cannot be a frame', () => {
    expect(() => encodeFrame(4, 1, new Uint8Array(MAX_FRAME_PAYLOAD + 1))).toThrow(RangeError);
    expect(() => encodeFrame(256, 1, new Uint8Array())).toThrow(RangeError);
    expect(() => encodeFrame(1, -1, new Uint8Array())).toThrow(RangeError);
    expect(() => encodeFragment(4, 1, new Uint8Array(), true)).toThrow(RangeError);
    expect(toHex(encodeFragment(4, 1, new Uint8Array([9]), true))).toBe('534b01040100000109');
  });

  it('decodes frames split at every possible byte boundary', () => {
    const stream = bytes(
      encodeFrame(1, 1, new Uint8Array([1, 2, 3])),
      encodeFragment(6, 1, new Uint8Array([5]), true),
      encodeFrame(2, 2, new Uint8Array([9])),
      encodeFragment(6, 1, new Uint8Array([6, 7]), false),
    );
    for (let cut = 0; cut <= stream.length; cut++) {
      for (let cut2 = cut; cut2 <= stream.length; cut2 += 3) {
        const decoder = new FrameDecoder(limits);
        const messages = [...decoder.push(stream.slice(0, cut)), ...decoder.push(stream.slice(cut, cut2)), ...decoder.push(stream.slice(cut2))];
        expect(summary(messages)).toEqual([
          [1, 1, '010203'],
          [2, 2, '09'],
          [6, 1, '050607'],
        ]);
        expect(decoder.buffered).toBe(0);
      }
    }
  });

  it('a format-1 frame of up to 64 KiB reads the same; a format-1 frame over 16 MiB is refused by its flags', () => {
    expect(summary(new FrameDecoder(limits).push(fromHex('534b010400000002beef')))).toEqual([[4, 1, 'beef']]);
    // Format 1 wrote a u32 length: 32 MiB is 02 00 00 00, which format 2 reads as flags 0x02.
    expect(failure(() => new FrameDecoder(limits).push(fromHex('534b010402000000'))).code).toBe('bad-flags');
  });
});

describe('frame format 2: limits, checked from the header', () => {
  it('refuses a message over its type’s limit from its header, before the payload arrives, and stays failed', () => {
    const decoder = new FrameDecoder(limits);
    const header = encodeFrame(2, 1, new Uint8Array(5)).slice(0, 8);
    const error = failure(() => decoder.push(header));
    expect(error.code).toBe('too-large');
    expect(error.message).toMatch(/declares 5 bytes, limit 4/);
    // The decoder stays failed: the stream is out of step.
    expect(() => decoder.push(encodeFrame(1, 1, new Uint8Array()))).toThrow(/limit 4/);
    expect(decoder.buffered).toBe(0);
  });

  it('refuses bad magic, unknown types and unsupported versions', () => {
    expect(failure(() => new FrameDecoder(limits).push(fromHex('504b010100000000'))).code).toBe('bad-magic');
    expect(failure(() => new FrameDecoder(limits).push(encodeFrame(9, 1, new Uint8Array()))).code).toBe('unknown-type');
    const version = failure(() => new FrameDecoder(limits).push(encodeFrame(1, 3, new Uint8Array())));
    expect(version.code).toBe('unsupported-version');
    expect(version.message).toMatch(/version 3 is not supported/);
  });

  it('refuses every flag bit but MORE', () => {
    for (let bit = 1; bit < 8; bit++) {
      const header = fromHex('534b010100000000');
      header[4] = 1 << bit;
      expect(failure(() => new FrameDecoder(limits).push(header)).code).toBe('bad-flags');
      header[4] = (1 << bit) | 1;
      expect(failure(() => new FrameDecoder(limits).push(header)).code).toBe('bad-flags');
    }
  });

  it('refuses a fragment over 64 KiB from its header, even for a type that allows larger messages', () => {
    expect(new FrameDecoder(limits).push(fromHex('534b010401010000'))).toEqual([]); // 65536 is fine
    expect(failure(() => new FrameDecoder(limits).push(fromHex('534b010401010001'))).code).toBe('too-large');
    expect(failure(() => new FrameDecoder(limits).push(fromHex('534b010400010001'))).code).toBe('too-large');
    expect(failure(() => new FrameDecoder(limits).push(fromHex('534b010400ffffff'))).code).toBe('too-large');
  });

  it('refuses an empty fragment with MORE set', () => {
    expect(failure(() => new FrameDecoder(limits).push(fromHex('534b010401000000'))).code).toBe('malformed');
  });

  it('counts the whole message against the type’s limit: the fragment that would pass it is refused from its header', () => {
    const full = encodeFragment(4, 1, new Uint8Array(MAX_FRAME_PAYLOAD), true);
    // 200 KiB = 3 × 64 KiB + 8192
    const atLimit = new FrameDecoder(limits);
    atLimit.push(bytes(full, full, full));
    expect(atLimit.push(encodeFrame(4, 1, new Uint8Array(8192)))[0]!.payload.length).toBe(200 * KiB);

    const overLimit = new FrameDecoder(limits);
    overLimit.push(bytes(full, full, full));
    const error = failure(() => overLimit.push(fromHex('534b010400002001'))); // 8193 more: header only
    expect(error.code).toBe('too-large');
    expect(error.message).toMatch(/reaches 204801 bytes, limit 204800/);

    const moreOverLimit = new FrameDecoder(limits);
    moreOverLimit.push(bytes(full, full, full));
    expect(failure(() => moreOverLimit.push(fromHex('534b010401010000'))).code).toBe('too-large');
  });

  it('within a lane, a begun message continues with the same type and version; other lanes may interleave', () => {
    const begun = encodeFragment(4, 1, new Uint8Array([1]), true);
    expect(failure(() => new FrameDecoder(limits).push(bytes(begun, encodeFrame(7, 1, new Uint8Array([2])))))).toMatchObject({ code: 'interleaved' });
    expect(failure(() => new FrameDecoder(limits).push(bytes(begun, encodeFrame(4, 2, new Uint8Array([2])))))).toMatchObject({ code: 'interleaved' });
    expect(failure(() => new FrameDecoder(limits).push(bytes(begun, encodeFragment(7, 1, new Uint8Array([2]), true))))).toMatchObject({
      code: 'interleaved',
    });
    // Control and bulk in between are fine, and so is a bulk message begun meanwhile.
    const decoder = new FrameDecoder(limits);
    const out = decoder.push(
      bytes(
        begun,
        encodeFrame(5, 1, new Uint8Array([0, 0, 0, 1])),
        encodeFragment(6, 1, new Uint8Array([0xb1]), true),
        encodeFragment(4, 1, new Uint8Array([2]), true),
        encodeFrame(6, 1, new Uint8Array([0xb2])),
        encodeFrame(4, 1, new Uint8Array([3])),
        encodeFrame(7, 1, new Uint8Array([4])),
      ),
    );
    expect(summary(out)).toEqual([
      [5, 1, '00000001'],
      [6, 1, 'b1b2'],
      [4, 1, '010203'],
      [7, 1, '04'],
    ]);
  });

  it('an unfinished message on one lane does not hide errors on another', () => {
    const decoder = new FrameDecoder(limits);
    decoder.push(encodeFragment(4, 1, new Uint8Array([1]), true));
    expect(failure(() => decoder.push(encodeFrame(5, 1, new Uint8Array(5)))).code).toBe('too-large');
  });
});

describe('frame format 2: fuzz', () => {
  const laneOf = (type: number): Lane => limits.get(type)!.lane;
  const types = [1, 2, 4, 5, 6, 7];

  it('random valid streams, with lanes interleaved and cut into random chunks, reassemble exactly', () => {
    for (let seed = 1; seed <= 60; seed++) {
      const rand = random(seed);
      // Messages per lane, each as its frames.
      const queues = new Map<Lane, { frames: Uint8Array[]; message: [number, number, string] }[]>();
      for (let i = 0; i < 20; i++) {
        const type = types[Math.floor(rand() * types.length)]!;
        const limit = limits.get(type)!;
        const version = limit.versions[Math.floor(rand() * limit.versions.length)]!;
        const size = rand() < 0.7 ? Math.floor(rand() * Math.min(limit.maxPayload, 40) + 1) - 1 : Math.floor(rand() * (limit.maxPayload + 1));
        const payload = noise(size, Math.floor(rand() * 2 ** 32));
        const lane = laneOf(type);
        if (!queues.has(lane)) queues.set(lane, []);
        queues.get(lane)!.push({ frames: encodeMessageFrames(type, version, payload), message: [type, version, digest(payload)] });
      }
      // Interleave frames across lanes at random, keeping each lane's order.
      const stream: Uint8Array[] = [];
      const expected: [number, number, string][] = [];
      for (;;) {
        const busy = [...queues.values()].filter((q) => q.length > 0);
        if (busy.length === 0) break;
        const queue = busy[Math.floor(rand() * busy.length)]!;
        const head = queue[0]!;
        stream.push(head.frames.shift()!);
        if (head.frames.length === 0) {
          expected.push(head.message);
          queue.shift();
        }
      }
      const all = bytes(...stream);
      const decoder = new FrameDecoder(limits);
      const got: Frame[] = [];
      for (let offset = 0; offset < all.length; ) {
        const size = rand() < 0.5 ? Math.floor(rand() * 16) : Math.floor(rand() * 100_000);
        got.push(...decoder.push(all.subarray(offset, offset + size)));
        expect(decoder.buffered).toBeLessThanOrEqual(MEMORY_BOUND);
        offset += size;
      }
      expect(
        got.map((m): [number, number, string] => [m.type, m.version, digest(m.payload)]),
        `seed ${seed}`,
      ).toEqual(expected);
      expect(decoder.buffered).toBe(0);
    }
  });

  it('100,000 random byte strings never throw anything but a WireError, and stay within the memory bound', () => {
    const rand = random(20240611);
    const valid = bytes(
      encodeFragment(4, 1, counting(3), true),
      encodeFrame(5, 1, counting(4)),
      encodeFrame(4, 2, counting(2)),
      encodeFrame(4, 1, counting(1)),
      encodeFragment(6, 1, counting(2), true),
      encodeFrame(6, 1, counting(2)),
    );
    for (let i = 0; i < 100_000; i++) {
      let input: Uint8Array;
      const kind = i % 3;
      if (kind === 0) {
        // Pure noise.
        input = Uint8Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256));
      } else if (kind === 1) {
        // Noise behind a plausible header, to get past the magic.
        input = Uint8Array.from({ length: 8 + Math.floor(rand() * 64) }, () => Math.floor(rand() * 256));
        input[0] = 0x53;
        input[1] = 0x4b;
        input[2] = 1 + Math.floor(rand() * 2);
        input[3] = types[Math.floor(rand() * types.length)]!;
        input[4] = rand() < 0.8 ? Math.floor(rand() * 2) : input[4]!;
        input[5] = 0;
        if (rand() < 0.8) input[6] = 0;
      } else {
        // A valid stream with a few bytes changed.
        input = valid.slice();
        const edits = 1 + Math.floor(rand() * 3);
        for (let e = 0; e < edits; e++) input[Math.floor(rand() * input.length)] = Math.floor(rand() * 256);
      }
      const decoder = new FrameDecoder(limits);
      try {
        for (let offset = 0; offset < input.length; ) {
          const size = 1 + Math.floor(rand() * 20);
          decoder.push(input.subarray(offset, offset + size));
          offset += size;
        }
      } catch (error) {
        if (!(error instanceof WireError)) throw new Error(`input ${toHex(input)} threw ${String(error)}`);
      }
      if (decoder.buffered > MEMORY_BOUND) throw new Error(`input ${toHex(input)} left ${decoder.buffered} bytes buffered`);
    }
  });

  it('a large chunk’s unused tail does not keep the whole chunk alive', () => {
    const decoder = new FrameDecoder(limits);
    const big = bytes(...Array.from({ length: 40 }, () => encodeFrame(4, 1, new Uint8Array(MAX_FRAME_PAYLOAD))), '534b0104');
    expect(decoder.push(big).length).toBe(40);
    expect(decoder.buffered).toBe(4);
    // White box: what the decoder still references is the 4-byte remainder, not the 2.6 MB chunk.
    const pending = (decoder as unknown as { pending: Uint8Array[] }).pending;
    expect(pending.reduce((n, p) => n + p.buffer.byteLength, 0)).toBe(4);
  });
});
