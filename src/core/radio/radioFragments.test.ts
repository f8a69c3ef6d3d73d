import { describe, expect, it } from 'vitest';
import { seeded } from '../test/fakeRadioNetwork';
import { ManualClock } from '../test/manualClock';
import { toHex } from '../wire/hex';
import { decodeEnvelope, encodeEnvelope, MAX_FRAGMENT_BYTES, missingBitmap, missingIndices } from './radioEnvelope';
import { cutBundle, FRAGMENT_LIMITS, FragmentAssembler, MAX_RESENDS, RadioFragmentError, SentFragments, type FragmentEnvelope, type MissingEnvelope } from './radioFragments';
import { MAX_RADIO_BUNDLE_BYTES } from './radioVaultSource';

function bundleOf(n: number, random: () => number): Uint8Array {
  return new Uint8Array(n).map(() => Math.floor(random() * 256));
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** Through the envelope, as on air. */
function onAir(f: FragmentEnvelope): FragmentEnvelope {
  const decoded = decodeEnvelope(encodeEnvelope(f));
  if (!('envelope' in decoded) || decoded.envelope.kind !== 'fragment') throw new Error('not a fragment');
  return decoded.envelope;
}

describe('radio fragments', () => {
  it('cuts a full radio bundle into 73 fragments that each fit one envelope', () => {
    const random = seeded(1);
    const fragments = cutBundle(bundleOf(MAX_RADIO_BUNDLE_BYTES, random), 0x1234);
    expect(fragments.length).toBe(73);
    expect(fragments.slice(0, -1).every((f) => f.bytes.length === MAX_FRAGMENT_BYTES)).toBe(true);
    expect(fragments.at(-1)!.bytes.length).toBe(MAX_RADIO_BUNDLE_BYTES - 72 * MAX_FRAGMENT_BYTES);
    expect(fragments.every((f) => encodeEnvelope(f).length <= 233)).toBe(true);
    expect(() => cutBundle(new Uint8Array(MAX_RADIO_BUNDLE_BYTES + 1), 1)).toThrow(RadioFragmentError);
    expect(() => cutBundle(new Uint8Array(0), 1)).toThrow(RadioFragmentError);
  });

  it('reassembles under reordering and duplication', () => {
    const random = seeded(2);
    const clock = new ManualClock();
    const assembler = new FragmentAssembler(clock, () => {});
    const bundle = bundleOf(5000, random);
    const fragments = cutBundle(bundle, 7);
    const arrivals = shuffle([...fragments, ...fragments.slice(0, 10)], random);
    const outcomes = arrivals.map((f) => assembler.add(99, onAir(f)));
    const complete = outcomes.filter((o) => 'complete' in o);
    expect(complete).toHaveLength(1);
    expect(toHex((complete[0] as { complete: Uint8Array }).complete)).toBe(toHex(bundle));
    expect(outcomes.filter((o) => 'duplicate' in o)).toHaveLength(10);
    expect(assembler.add(99, onAir(fragments[0]!))).toEqual({ duplicate: true });
    expect(assembler.pendingCount).toBe(0);
  });

  it('completes under 30% loss by asking selectively for what is missing', () => {
    const random = seeded(3);
    const clock = new ManualClock();
    const sender = new SentFragments(clock, random);
    const bundle = bundleOf(MAX_RADIO_BUNDLE_BYTES, random);
    let result: Uint8Array | undefined;
    let resent = 0;
    const requests: MissingEnvelope[] = [];
    const deliver = (fragments: FragmentEnvelope[]) => {
      for (const f of shuffle([...fragments], random)) {
        if (random() < 0.3) continue;
        const outcome = assembler.add(5, onAir(f));
        if ('complete' in outcome) result = outcome.complete;
      }
    };
    const assembler = new FragmentAssembler(clock, (to, missing) => {
      expect(to).toBe(5);
      requests.push(missing);
      if (random() < 0.3) return; // the request itself is lost
      const answer = sender.answer(missing);
      resent += answer.length;
      deliver(answer);
    });
    deliver(sender.cut(bundle));
    for (let i = 0; i < 200 && !result; i++) clock.advance(30_000);
    expect(result && toHex(result)).toBe(toHex(bundle));
    // Only what was missing was sent again: far fewer than a second full copy per request.
    expect(requests.length).toBeGreaterThan(0);
    expect(resent).toBeLessThan(73);
    for (const r of requests) expect(missingIndices(r.bitmap, r.count).length).toBeLessThan(73);
  });

  it('a fragment that contradicts one held is dropped, nobody charged (the number may be spoofed), and the message still completes', () => {
    const clock = new ManualClock();
    const assembler = new FragmentAssembler(clock, () => {});
    const bundle = new Uint8Array(600).fill(1);
    const fragments = cutBundle(bundle, 3);
    expect(assembler.add(8, fragments[0]!)).toEqual({ pending: true });
    const forged = { ...fragments[0]!, bytes: fragments[0]!.bytes.map((b) => b ^ 0xff) };
    expect(assembler.add(8, forged)).toMatchObject({ refused: 'fragment conflicts with one held for the same message and index', offence: false });
    const otherCount = { ...fragments[1]!, count: 4 };
    expect(assembler.add(8, otherCount)).toMatchObject({ refused: 'fragment count conflicts with an earlier fragment of the same message', offence: false });
    expect(assembler.pendingCount).toBe(1);
    assembler.add(8, fragments[1]!);
    expect(assembler.add(8, fragments[2]!)).toEqual({ complete: bundle });
  });

  it('a sent bundle answers requests for a fragment at most MAX_RESENDS times, whoever asks', () => {
    const clock = new ManualClock();
    const sent = new SentFragments(clock, () => 0);
    const fragments = sent.cut(new Uint8Array(600).fill(2));
    const all = { kind: 'missing' as const, messageId: fragments[0]!.messageId, count: fragments.length, bitmap: missingBitmap([0, 1, 2], fragments.length) };
    let total = 0;
    for (let i = 0; i < 20; i++) total += sent.answer(all).length;
    expect(total).toBe(MAX_RESENDS * fragments.length);
  });

  it('holds a bounded number of incomplete messages per claimed sender and in all, oldest evicted', () => {
    const clock = new ManualClock();
    const assembler = new FragmentAssembler(clock, () => {});
    const first = (id: number) => cutBundle(new Uint8Array(MAX_RADIO_BUNDLE_BYTES).fill(id), id)[0]!;
    for (let id = 0; id < 10; id++) {
      clock.advance(1);
      assembler.add(1, first(id));
    }
    expect(assembler.pendingCount).toBe(FRAGMENT_LIMITS.perSender);
    // The newest two are held: the second fragment of message 9 completes nothing but is taken, message 0's was evicted.
    for (let from = 100; from < 120; from++) {
      clock.advance(1);
      assembler.add(from, first(from & 0xff));
    }
    expect(assembler.pendingCount).toBe(FRAGMENT_LIMITS.total);
    expect(assembler.heldBytes).toBeLessThanOrEqual(FRAGMENT_LIMITS.total * MAX_RADIO_BUNDLE_BYTES);
  });

  it('re-requests a stalled message a bounded number of times with growing waits, then drops it', () => {
    const clock = new ManualClock();
    const at: number[] = [];
    const assembler = new FragmentAssembler(clock, () => at.push(clock.now()));
    const fragments = cutBundle(new Uint8Array(1000).fill(2), 4);
    const start = clock.now();
    assembler.add(3, fragments[0]!);
    clock.advance(24 * 3_600_000);
    expect(at.length).toBe(FRAGMENT_LIMITS.requestsWithoutProgress);
    const gaps = at.map((t, i) => t - (i === 0 ? start : at[i - 1]!));
    expect(gaps).toEqual([60_000, 120_000, 240_000, 480_000]);
    expect(assembler.pendingCount).toBe(0);
  });
});
