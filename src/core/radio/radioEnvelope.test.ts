import { describe, expect, it } from 'vitest';
import { seeded } from '../test/fakeRadioNetwork';
import { fromHex, toHex } from '../wire/hex';
import {
  chooseMask,
  decodeEnvelope,
  encodeEnvelope,
  hasFrameMarker,
  MAX_DIFFERENCE_IDS,
  MAX_FRAGMENT_BYTES,
  MAX_FRAGMENTS,
  missingBitmap,
  missingIndices,
  RadioEnvelopeError,
  type RadioEnvelope,
} from './radioEnvelope';
import { ITEM_ID_BYTES, SUMMARY_BYTES_PER_PACKET, SYMBOL_BYTES } from './reconcile';

/** A seeded generator (mulberry32), so a failure replays. */
function randomBytes(random: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(random() * 256);
  return out;
}

/** One symbol: bytes 00, 01, … (the symbol size is reconcile.ts's; docs/radio-reconcile.md). */
const SYMBOL_HEX = Array.from({ length: SYMBOL_BYTES }, (_, i) => i.toString(16).padStart(2, '0')).join('');

const VECTORS: [string, RadioEnvelope, string][] = [
  ['more', { kind: 'more', session: 5, next: 300 }, '1500' + '05012c'],
  ['urgent stock update', { kind: 'update', cls: 'stock', urgent: true, update: fromHex('010203') }, '1100' + '05010203'],
  // The body 00 94 c3 holds the marker pair; mask 0 is forbidden by it, so the mask is 01.
  ['update holding 94 c3', { kind: 'update', cls: 'trade', urgent: false, update: fromHex('94c3') }, '1101' + '0195c2'],
  // The body 00 94 would end in 0x94 with mask 0.
  ['update ending in 94', { kind: 'update', cls: 'trade', urgent: false, update: fromHex('94') }, '1101' + '0195'],
  ['last fragment', { kind: 'fragment', messageId: 0x0102, index: 1, count: 2, bytes: fromHex('ab') }, '1200' + '0102' + '01' + '02' + 'ab'],
  ['missing 0 and 9 of 10', { kind: 'missing', messageId: 7, count: 10, bitmap: missingBitmap([0, 9], 10) }, '1300' + '0007' + '0a' + '0102'],
  [
    'summary',
    { kind: 'summary', session: 1, setSize: 1000, first: 0, symbols: fromHex(SYMBOL_HEX) },
    '1400' + '01' + '0003e8' + '0000' + SYMBOL_HEX,
  ],
  [
    'difference',
    { kind: 'difference', session: 2, lacking: [fromHex('11'.repeat(ITEM_ID_BYTES))], holding: [fromHex('22'.repeat(ITEM_ID_BYTES))] },
    '1600' + '02' + '01' + '11'.repeat(ITEM_ID_BYTES) + '22'.repeat(ITEM_ID_BYTES),
  ],
];

describe('radio envelope', () => {
  it('matches the reconciliation sizes it was specified for', () => {
    expect(SYMBOL_BYTES).toBeGreaterThan(ITEM_ID_BYTES);
    expect(6 + SUMMARY_BYTES_PER_PACKET).toBeLessThanOrEqual(231);
    expect(MAX_FRAGMENT_BYTES).toBe(227);
    expect(MAX_FRAGMENTS).toBe(73);
    expect(MAX_DIFFERENCE_IDS).toBe(Math.floor(229 / ITEM_ID_BYTES));
  });

  for (const [name, envelope, hex] of VECTORS) {
    it(`vector: ${name}`, () => {
      expect(toHex(encodeEnvelope(envelope))).toBe(hex);
      const decoded = decodeEnvelope(fromHex(hex));
      expect(decoded).toEqual({ envelope });
    });
  }

  it('refuses what is not an envelope, with a reason', () => {
    const refusals: [string, string][] = [
      ['', 'envelope too short'],
      ['15', 'envelope too short'],
      ['11'.repeat(234), 'envelope over 233 bytes'],
      ['2100', 'unsupported envelope version 2'],
      ['1700', 'unknown envelope kind 7'],
      ['1000', 'unknown envelope kind 0'],
      ['1501' + '04002d', 'envelope mask is not the canonical one'],
      ['1100' + '0094c3', 'envelope contains the serial frame marker 0x94 0xC3'],
      ['1100' + '08aa', 'update envelope has unknown flags'],
      ['1100' + '00', 'update envelope without an update'],
      ['1100' + '00' + 'aa'.repeat(201), 'compact update over 200 bytes'],
      ['1200' + '0001' + '0202' + 'ab', 'fragment index not below its count'],
      ['1200' + '0001' + '004a' + 'ab', 'fragment count 74 out of range (1 to 73)'],
      ['1200' + '0001' + '0002' + 'abab', 'a fragment before the last carries 227 bytes'],
      ['1300' + '0007' + '0a' + '0106', 'missing bitmap has the wrong size or names no fragment below the count'],
      ['1300' + '0007' + '0a' + '0000', 'missing bitmap has the wrong size or names no fragment below the count'],
      ['1400' + '01' + '0003e8' + '0000' + SYMBOL_HEX + '00', 'summary symbols are not whole symbols within one packet'],
      ['1500' + '0501', 'more is 3 bytes'],
      ['1600' + '02' + '02' + '11'.repeat(ITEM_ID_BYTES), 'difference names more lacking ids than it carries'],
      ['1600' + '02' + '00' + '11'.repeat(ITEM_ID_BYTES + 1), 'difference ids are not whole ids'],
    ];
    for (const [hex, reason] of refusals) expect(decodeEnvelope(fromHex(hex)), hex).toEqual({ refused: reason });
  });

  it('refuses to encode what the bytes cannot carry', () => {
    expect(() => encodeEnvelope({ kind: 'update', cls: 'trade', urgent: false, update: new Uint8Array(201) })).toThrow(RadioEnvelopeError);
    expect(() => encodeEnvelope({ kind: 'fragment', messageId: 1, index: 0, count: 2, bytes: new Uint8Array(10) })).toThrow(RadioEnvelopeError);
    expect(() => encodeEnvelope({ kind: 'more', session: 256, next: 0 })).toThrow(RadioEnvelopeError);
    const ids = Array.from({ length: MAX_DIFFERENCE_IDS + 1 }, () => new Uint8Array(ITEM_ID_BYTES));
    expect(() => encodeEnvelope({ kind: 'difference', session: 0, lacking: ids, holding: [] })).toThrow(RadioEnvelopeError);
    expect(() => encodeEnvelope({ kind: 'summary', session: 0, setSize: 1, first: 0, symbols: new Uint8Array(230) })).toThrow(RadioEnvelopeError);
  });

  it('a full-size envelope is exactly 233 bytes', () => {
    const last = { kind: 'fragment', messageId: 9, index: 0, count: 2, bytes: new Uint8Array(MAX_FRAGMENT_BYTES).fill(0x94) } as const;
    expect(encodeEnvelope(last).length).toBe(233);
    const longest = encodeEnvelope({ kind: 'update', cls: 'offer', urgent: false, update: new Uint8Array(200) });
    expect(longest.length).toBe(203);
  });

  it('masking leaves no 0x94 0xC3 and no final 0x94, whatever the content, for one byte', () => {
    const random = seeded(1);
    for (let round = 0; round < 20_000; round++) {
      // Bodies built from the two marker bytes and a few others make pairs to avoid plentiful.
      const n = 1 + Math.floor(random() * 200);
      const alphabet = [0x94, 0xc3, 0x57, 0x00, Math.floor(random() * 256)];
      const update = new Uint8Array(n).map(() => alphabet[Math.floor(random() * alphabet.length)]!);
      const envelope: RadioEnvelope = { kind: 'update', cls: 'catchUp', urgent: random() < 0.5, update };
      const payload = encodeEnvelope(envelope);
      expect(payload.length).toBe(n + 3);
      expect(hasFrameMarker(payload)).toBe(false);
      expect(decodeEnvelope(payload)).toEqual({ envelope });
    }
  });

  it('a mask always exists: the worst body still gets one', () => {
    // Each pair forbids the value it names; 231 bytes forbid at most 232 of 256.
    const body = new Uint8Array(231).map((_, i) => (i % 2 === 0 ? i & 0xff : (i - 1) ^ 0x57));
    const mask = chooseMask(body);
    const masked = body.map((b) => b ^ mask);
    expect(hasFrameMarker(Uint8Array.of(0x11, mask, ...masked))).toBe(false);
  });

  it('missing bitmaps name exactly the indices', () => {
    expect(missingIndices(missingBitmap([0, 3, 72], 73), 73)).toEqual([0, 3, 72]);
  });

  it('fuzz: 100 000 random and mutated inputs never throw and never return more bytes than they got', () => {
    const random = seeded(42);
    const valid = VECTORS.map(([, e]) => encodeEnvelope(e));
    let accepted = 0;
    for (let round = 0; round < 100_000; round++) {
      let input: Uint8Array;
      if (round % 2 === 0) {
        input = randomBytes(random, Math.floor(random() * 260));
        if (input.length > 0 && random() < 0.7) input[0] = 0x11 + Math.floor(random() * 6);
        if (input.length > 1 && random() < 0.7) {
          // A random body under its canonical mask: it gets past the masking checks to the kind's own.
          const mask = chooseMask(input.subarray(2));
          input.set(input.subarray(2).map((b) => b ^ mask), 2);
          input[1] = mask;
        }
      } else {
        input = valid[round % valid.length]!.slice();
        const flips = 1 + Math.floor(random() * 3);
        for (let f = 0; f < flips; f++) input[Math.floor(random() * input.length)] = Math.floor(random() * 256);
      }
      let result: ReturnType<typeof decodeEnvelope>;
      try {
        result = decodeEnvelope(input);
      } catch (error) {
        throw new Error(`decodeEnvelope threw on ${toHex(input)}: ${String(error)}`);
      }
      if ('refused' in result) {
        expect(typeof result.refused).toBe('string');
        continue;
      }
      accepted += 1;
      const e = result.envelope;
      const carried =
        e.kind === 'update' ? e.update.length : e.kind === 'fragment' ? e.bytes.length : e.kind === 'missing' ? e.bitmap.length : e.kind === 'summary' ? e.symbols.length : e.kind === 'difference' ? (e.lacking.length + e.holding.length) * ITEM_ID_BYTES : 0;
      expect(carried).toBeLessThanOrEqual(input.length);
      // What decodes encodes back to the very same bytes (one encoding per envelope).
      expect(toHex(encodeEnvelope(e))).toBe(toHex(input));
    }
    expect(accepted).toBeGreaterThan(1000);
  });
});
