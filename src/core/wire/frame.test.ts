import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, type FrameLimits } from './frame';
import { toHex } from './hex';

const limits: FrameLimits = new Map([
  [1, { versions: [1], maxPayload: 16 }],
  [2, { versions: [1, 2], maxPayload: 4 }],
]);

describe('frame codec', () => {
  it('encodes magic, version, type, big-endian length, payload', () => {
    expect(toHex(encodeFrame(1, 1, new Uint8Array([0xde, 0xad])))).toBe('534b010100000002dead');
    expect(toHex(encodeFrame(2, 2, new Uint8Array()))).toBe('534b020200000000');
  });

  it('decodes frames split at every possible byte boundary', () => {
    const stream = new Uint8Array([...encodeFrame(1, 1, new Uint8Array([1, 2, 3])), ...encodeFrame(2, 2, new Uint8Array([9]))]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const decoder = new FrameDecoder(limits);
      const frames = [...decoder.push(stream.slice(0, cut)), ...decoder.push(stream.slice(cut))];
      expect(frames.map((f) => [f.type, f.version, [...f.payload]])).toEqual([
        [1, 1, [1, 2, 3]],
        [2, 2, [9]],
      ]);
      expect(decoder.buffered).toBe(0);
    }
  });

  it('refuses an oversized frame from its header, before the payload arrives', () => {
    const decoder = new FrameDecoder(limits);
    const header = encodeFrame(2, 1, new Uint8Array(5)).slice(0, 8);
    expect(() => decoder.push(header)).toThrow(/declares 5 bytes, limit 4/);
    // The decoder stays failed: the stream is out of step.
    expect(() => decoder.push(encodeFrame(1, 1, new Uint8Array()))).toThrow(/limit 4/);
  });

  it('refuses bad magic, unknown types and unsupported versions', () => {
    expect(() => new FrameDecoder(limits).push(new Uint8Array([0x50, 0x4b, 1, 1, 0, 0, 0, 0]))).toThrow(/not a Souk frame/);
    expect(() => new FrameDecoder(limits).push(encodeFrame(9, 1, new Uint8Array()))).toThrow(/unknown frame type 9/);
    expect(() => new FrameDecoder(limits).push(encodeFrame(1, 3, new Uint8Array()))).toThrow(/version 3 is not supported/);
  });
});
