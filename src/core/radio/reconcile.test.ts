import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MAX_SYMBOLS,
  ITEM_ID_BYTES,
  RECONCILE_VERSION,
  SUMMARY_BYTES_PER_PACKET,
  SYMBOL_BYTES,
  SYMBOLS_PER_PACKET,
  SymbolDecoder,
  SymbolEncoder,
  itemId,
  mappingIndices,
  type DecodeResult,
} from './reconcile';
import { seededBelow as random } from '../seededRandom';
import { fromHex, toHex as hex } from '../wire/hex';

const fill = (v: number) => new Uint8Array(32).fill(v);

const randomId = (next: (n: number) => number) => Uint8Array.from({ length: ITEM_ID_BYTES }, () => next(256));
const sortHex = (ids: Uint8Array[]) => ids.map(hex).sort();

/** Streams the encoder's symbols `chunk` at a time into the decoder until it answers done or error. */
function run(remote: Uint8Array[], local: Uint8Array[], chunk = 1, maxSymbols?: number): { result: DecodeResult; symbols: number } {
  const encoder = new SymbolEncoder(remote);
  const decoder = new SymbolDecoder(local, maxSymbols === undefined ? {} : { maxSymbols });
  let first = 0;
  for (;;) {
    const result = decoder.add(encoder.symbols(first, chunk), first, encoder.size);
    if ('error' in result || result.done) return { result, symbols: first + chunk };
    expect(result.next).toBe(first + chunk);
    first += chunk;
  }
}

function sets(next: (n: number) => number, common: number, remoteOnly: number, localOnly: number) {
  const shared = Array.from({ length: common }, () => randomId(next));
  const r = Array.from({ length: remoteOnly }, () => randomId(next));
  const l = Array.from({ length: localOnly }, () => randomId(next));
  return { remote: [...shared, ...r], local: [...shared, ...l], r, l };
}

describe('radio reconciliation: byte vectors', () => {
  it('sizes on the air', () => {
    expect(RECONCILE_VERSION).toBe(1);
    expect(ITEM_ID_BYTES).toBe(7);
    expect(SYMBOL_BYTES).toBe(9);
    expect(SUMMARY_BYTES_PER_PACKET).toBe(225);
    expect(SYMBOLS_PER_PACKET).toBe(25);
  });

  it('itemId: SHA-256("souk/radio-item/v1" 0x00 | vault | device | counter u64 BE), first 7 bytes', () => {
    expect(hex(itemId(fill(1), fill(2), 7))).toBe('d47c309c0f85fa');
    expect(hex(itemId(fill(1), fill(2), 8))).toBe('882fbf2d886a3c');
    expect(hex(itemId(fill(3), fill(4), 2 ** 40 + 5))).toBe('7ff5cd87f35d67');
    expect(() => itemId(new Uint8Array(31), fill(2), 1)).toThrow(RangeError);
    expect(() => itemId(fill(1), fill(2), -1)).toThrow(RangeError);
    expect(() => itemId(fill(1), fill(2), 1.5)).toThrow(RangeError);
  });

  it('the mapping schedule of one id (xoshiro128** seeded from SHA-256("souk/radio-riblt/v1" 0x00 | id))', () => {
    expect(mappingIndices(fromHex('d47c309c0f85fa'), 100)).toEqual([0, 1, 2, 11, 15, 17, 20, 23, 24, 27, 45]);
  });

  it('the first symbols of a set of three ids (id XOR | checksum XOR), checked against an independent Python implementation', () => {
    const ids = ['d47c309c0f85fa', '882fbf2d886a3c', '7ff5cd87f35d67'].map(fromHex);
    const symbols = new SymbolEncoder(ids).symbols(0, 6);
    expect(symbols.length).toBe(6 * SYMBOL_BYTES);
    expect(hex(symbols).match(/.{18}/g)).toEqual([
      '23a6423674b2a177a2',
      'ab89fd1bfcd89dea56',
      'ab89fd1bfcd89dea56',
      '882fbf2d886a3c9df4',
      'f7da72aa7b375b884b',
      '000000000000000000',
    ]);
    // any window gives the same bytes, in any order of calls
    const encoder = new SymbolEncoder([...ids].reverse());
    expect(hex(encoder.symbols(3, 3))).toBe(hex(symbols.subarray(27)));
    expect(hex(encoder.symbols(0, 3))).toBe(hex(symbols.subarray(0, 27)));
  });

  it('the schedule maps an item to symbol i with probability about 1/(1 + 3i/8), every item to symbol 0', () => {
    const next = random(5);
    const counts = new Array<number>(64).fill(0);
    const n = 4000;
    for (let k = 0; k < n; k++) for (const i of mappingIndices(randomId(next), 64)) counts[i]!++;
    expect(counts[0]).toBe(n);
    // rho(i) = 1 / (1 + 3i/8)
    for (const i of [1, 2, 5, 20, 63]) expect(Math.abs(counts[i]! / n - 1 / (1 + (3 * i) / 8))).toBeLessThan(0.04);
  });
});

describe('radio reconciliation: decoding', () => {
  it('finds the difference on randomised sets, both directions (sizes 0..2000, differences 0..200)', () => {
    const next = random(42);
    const cases: [number, number, number][] = [
      [0, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
      [0, 5, 7],
      [2000, 0, 0],
      [2000, 10, 10],
      [1990, 0, 10],
      [1990, 10, 0],
      [1800, 100, 100],
      [1900, 200, 0],
      [1900, 0, 200],
      [10, 0, 0],
    ];
    for (let k = 0; k < 30; k++) cases.push([next(1500), next(60), next(60)]);
    for (const [common, remoteOnly, localOnly] of cases) {
      const { remote, local, r, l } = sets(next, common, remoteOnly, localOnly);
      const { result } = run(remote, local, 1 + next(40));
      if (!('done' in result) || !result.done) throw new Error(`not decoded: ${JSON.stringify(result)} for ${common}/${remoteOnly}/${localOnly}`);
      expect(sortHex(result.remoteOnly)).toEqual(sortHex(r));
      expect(sortHex(result.localOnly)).toEqual(sortHex(l));
    }
  });

  it('identical sets decode from one symbol; an empty remote set from none', () => {
    const next = random(7);
    const { remote, local } = sets(next, 500, 0, 0);
    const decoder = new SymbolDecoder(local);
    const result = decoder.add(new SymbolEncoder(remote).symbols(0, 1), 0, 500);
    expect(result).toEqual({ done: true, remoteOnly: [], localOnly: [] });

    const fromNothing = new SymbolDecoder(local).add(new Uint8Array(0), 0, 0);
    if (!('done' in fromNothing) || !fromNothing.done) throw new Error('not done');
    expect(sortHex(fromNothing.localOnly)).toEqual(sortHex(local));
    expect(new SymbolDecoder([]).add(new Uint8Array(0), 0, 0)).toEqual({ done: true, remoteOnly: [], localOnly: [] });
    // a non-empty remote set needs symbols
    expect(new SymbolDecoder(local).add(new Uint8Array(0), 0, 3)).toEqual({ done: false, next: 0 });
  });

  it('takes symbols across several calls of any size, with the same result as one by one', () => {
    const next = random(9);
    const { remote, local, r, l } = sets(next, 700, 25, 18);
    const encoder = new SymbolEncoder(remote);
    const decoder = new SymbolDecoder(local);
    const sizes = [0, 1, 2, 3, 5, 8, 13, 21, 34, 55];
    let first = 0;
    let result: DecodeResult = { done: false, next: 0 };
    for (let k = 0; k < 100 && !('done' in result && result.done); k++) {
      const count = sizes[k % sizes.length]!;
      result = decoder.add(encoder.symbols(first, count), first, encoder.size);
      if ('error' in result) throw new Error(result.error);
      if (!result.done) expect(result.next).toBe(first + count);
      first += count;
    }
    if (!('done' in result) || !result.done) throw new Error('not decoded');
    expect(sortHex(result.remoteOnly)).toEqual(sortHex(r));
    expect(sortHex(result.localOnly)).toEqual(sortHex(l));
    // duplicates in either set count once
    const again = run([...remote, ...remote.slice(0, 50)], [...local, local[3]!], 25).result;
    if (!('done' in again) || !again.done) throw new Error('not decoded');
    expect(sortHex(again.remoteOnly)).toEqual(sortHex(r));
    expect(new SymbolEncoder([...remote, remote[0]!]).size).toBe(remote.length);
  });

  it('a difference of 20 (1,000 each) decodes within 3 packets in nearly every meeting', () => {
    const next = random(11);
    const packets: number[] = [];
    for (let k = 0; k < 40; k++) {
      const { remote, local } = sets(next, 990, 10, 10);
      const { result, symbols } = run(remote, local, SYMBOLS_PER_PACKET);
      if (!('done' in result) || !result.done) throw new Error('not decoded');
      packets.push(symbols / SYMBOLS_PER_PACKET);
    }
    expect(Math.max(...packets)).toBeLessThanOrEqual(3);
    expect(packets.filter((p) => p <= 2).length).toBeGreaterThanOrEqual(36);
  });
});

describe('radio reconciliation: errors and bounds', () => {
  const next = random(13);
  const { remote, local } = sets(next, 300, 30, 30);

  it('refuses a wrong length, an index out of turn (replay), a bad or changed remote size, and changes nothing', () => {
    const encoder = new SymbolEncoder(remote);
    const decoder = new SymbolDecoder(local);
    expect(decoder.add(encoder.symbols(0, 2), 0, encoder.size)).toEqual({ done: false, next: 2 });
    expect(decoder.add(encoder.symbols(2, 1).subarray(0, 8), 2, encoder.size)).toEqual({ error: 'symbols must be a multiple of 9 bytes, got 8' });
    expect(decoder.add(encoder.symbols(0, 2), 0, encoder.size)).toEqual({ error: 'expected symbol index 2, got 0' });
    expect(decoder.add(encoder.symbols(3, 1), 3, encoder.size)).toEqual({ error: 'expected symbol index 2, got 3' });
    expect(decoder.add(encoder.symbols(2, 1), 2.5, encoder.size)).toEqual({ error: 'expected symbol index 2, got 2.5' });
    expect(decoder.add(encoder.symbols(2, 1), 2, encoder.size + 1)).toEqual({ error: `remote set size changed from ${encoder.size} to ${encoder.size + 1}` });
    expect(decoder.add(encoder.symbols(2, 1), 2, -1)).toEqual({ error: 'bad remote set size -1' });
    expect(decoder.add(encoder.symbols(2, 1), 2, 2 ** 32)).toEqual({ error: 'bad remote set size 4294967296' });
    expect(decoder.add('nope' as unknown as Uint8Array, 2, encoder.size)).toEqual({ error: 'symbols must be bytes' });
    // still in step after all that
    let first = 2;
    let result: DecodeResult;
    do {
      result = decoder.add(encoder.symbols(first, 10), first, encoder.size);
      first += 10;
    } while (!('error' in result) && !result.done);
    expect('done' in result && result.done).toBe(true);
    expect(decoder.add(encoder.symbols(first, 1), first, encoder.size)).toEqual({ error: 'decoding already finished' });
  });

  it('gives up after maxSymbols: "difference too large: fall back", for good', () => {
    const big = sets(next, 100, 300, 300);
    const { result, symbols } = run(big.remote, big.local, 7, 100);
    expect(result).toEqual({ error: 'difference too large: fall back' });
    expect(symbols).toBeLessThanOrEqual(105);
    expect(new SymbolDecoder(big.local).add(new Uint8Array(0), 0, 1)).toEqual({ done: false, next: 0 });
    const decoder = new SymbolDecoder(big.local, { maxSymbols: 3 });
    const encoder = new SymbolEncoder(big.remote);
    expect(decoder.add(encoder.symbols(0, 2), 0, encoder.size)).toEqual({ done: false, next: 2 });
    expect(decoder.add(encoder.symbols(2, 5), 2, encoder.size)).toEqual({ error: 'difference too large: fall back' });
    expect(decoder.add(encoder.symbols(3, 1), 3, encoder.size)).toEqual({ error: 'difference too large: fall back' });
    expect(DEFAULT_MAX_SYMBOLS).toBe(4096);
  });

  it('checks every symbol at the end: a symbol left over fails the decode', () => {
    const encoder = new SymbolEncoder(remote);
    const symbols = encoder.symbols(0, 200);
    symbols[5 * SYMBOL_BYTES + 8]! ^= 1; // symbol 5's checksum: no longer pure or empty, never peeled
    const decoder = new SymbolDecoder(local);
    let result: DecodeResult = { done: false, next: 0 };
    for (let i = 0; i < 200 && !('error' in result) && !result.done; i++) result = decoder.add(symbols.subarray(i * SYMBOL_BYTES, (i + 1) * SYMBOL_BYTES), i, encoder.size);
    expect(result).toEqual({ error: 'inconsistent symbols: decoded, but a symbol is left over' });
  });

  it('an id is taken from a symbol only if it maps to that index', () => {
    const rnd = random(77);
    const shared = Array.from({ length: 50 }, () => randomId(rnd));
    // two remote-only ids that first part at some index, and an index j before that which neither they nor x map to
    let y1: Uint8Array, y2: Uint8Array, x: Uint8Array, j: number | undefined;
    do {
      [y1, y2, x] = [randomId(rnd), randomId(rnd), randomId(rnd)];
      const [m1, m2, mx] = [mappingIndices(y1, 64), mappingIndices(y2, 64), mappingIndices(x, 64)];
      const split = Array.from({ length: 64 }, (_, i) => i).find((i) => m1.includes(i) !== m2.includes(i)) ?? 64;
      j = Array.from({ length: split }, (_, i) => i).find((i) => !m1.includes(i) && !m2.includes(i) && !mx.includes(i));
    } while (j === undefined);
    const y = y2;
    const encoder = new SymbolEncoder([...shared, y1, y]);
    const symbols = encoder.symbols(0, 64);
    // plant x, whole and with its own checksum, in symbol j (where the true remainder is empty)
    const planted = new SymbolEncoder([x]).symbols(0, 1);
    for (let b = 0; b < SYMBOL_BYTES; b++) symbols[j * SYMBOL_BYTES + b]! ^= planted[b]!;
    const decoder = new SymbolDecoder(shared);
    const result = decoder.add(symbols, 0, encoder.size);
    // x is never recovered: y1 and y2 decode, and symbol j is found left over
    expect(result).toEqual({ error: 'inconsistent symbols: decoded, but a symbol is left over' });
  });

  it('a lying remote size fails the decode', () => {
    const encoder = new SymbolEncoder(remote);
    const decoder = new SymbolDecoder(local);
    let result: DecodeResult;
    let first = 0;
    do {
      result = decoder.add(encoder.symbols(first, 25), first, encoder.size + 1);
      first += 25;
    } while (!('error' in result) && !result.done);
    expect(result).toEqual({ error: 'inconsistent symbols: the difference does not match the remote set size' });
  });

  it('refuses bad arguments from its own side with a RangeError', () => {
    expect(() => new SymbolEncoder([new Uint8Array(8)])).toThrow(RangeError);
    expect(() => new SymbolDecoder([new Uint8Array(6)])).toThrow(RangeError);
    expect(() => new SymbolDecoder([], { maxSymbols: 0 })).toThrow(RangeError);
    expect(() => new SymbolDecoder([], { maxSymbols: 2 ** 21 })).toThrow(RangeError);
    const encoder = new SymbolEncoder([]);
    expect(() => encoder.symbols(-1, 1)).toThrow(RangeError);
    expect(() => encoder.symbols(0, 2 ** 21)).toThrow(RangeError);
    expect(hex(encoder.symbols(0, 2))).toBe('00'.repeat(18));
  });

  it('fuzz: hostile symbols never throw, stay within maxSymbols and never return an id outside the true difference', () => {
    const rnd = random(99);
    const truth = (ids: Uint8Array[]) => new Set(sortHex(ids));
    for (let k = 0; k < 300; k++) {
      const { remote, local, r, l } = sets(rnd, rnd(200), rnd(30), rnd(30));
      const encoder = new SymbolEncoder(remote);
      const decoder = new SymbolDecoder(local, { maxSymbols: 64 + rnd(200) });
      const mode = k % 3;
      let first = 0;
      let result: DecodeResult = { done: false, next: 0 };
      for (let call = 0; call < 400 && !('error' in result) && !result.done; call++) {
        const count = rnd(12);
        let bytes = encoder.symbols(first, count);
        if (mode === 0) bytes = Uint8Array.from({ length: count * SYMBOL_BYTES }, () => rnd(256)); // random bytes
        if (mode === 1 && bytes.length > 0) bytes[rnd(bytes.length)]! ^= 1 << rnd(8); // a flipped bit
        const index = rnd(10) === 0 ? rnd(first + 2) : first; // replayed or skipped indexes
        const size = rnd(20) === 0 ? rnd(1000) : encoder.size; // a lying size
        if (rnd(30) === 0) bytes = bytes.subarray(0, Math.max(0, bytes.length - 1 - rnd(8))); // wrong lengths
        const answer = decoder.add(bytes, index, size);
        if ('error' in answer && !/^(expected symbol index|remote set size changed|symbols must be)/.test(answer.error)) result = answer;
        else if (!('error' in answer)) {
          result = answer;
          if (!answer.done) first = answer.next;
        }
      }
      if ('done' in result && result.done) {
        if (mode === 0) throw new Error('random bytes decoded');
        // every local-only id is one of ours; with the true symbols (or a bit flip the checksum catches), the exact difference
        const ours = truth(local);
        for (const id of result.localOnly) expect(ours.has(hex(id))).toBe(true);
        expect(new Set(sortHex(result.remoteOnly))).toEqual(truth(r));
        expect(new Set(sortHex(result.localOnly))).toEqual(truth(l));
      }
    }
  });

  it('fuzz: symbols built from ids the sender does not hold decode to exactly those ids, never to one of ours as remote', () => {
    const rnd = random(123);
    for (let k = 0; k < 50; k++) {
      const { remote, local, r, l } = sets(rnd, 100, 1 + rnd(20), rnd(20));
      const { result } = run(remote, local, 1 + rnd(30));
      if (!('done' in result) || !result.done) throw new Error('not decoded');
      const ours = new Set(sortHex(local));
      for (const id of result.remoteOnly) expect(ours.has(hex(id))).toBe(false);
      expect(sortHex(result.remoteOnly)).toEqual(sortHex(r));
      expect(sortHex(result.localOnly)).toEqual(sortHex(l));
    }
  });
});
