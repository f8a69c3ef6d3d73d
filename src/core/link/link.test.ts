import { describe, expect, it, vi } from 'vitest';
import { LinkClosedError } from './link';
import { linkConformanceCases } from './linkConformance';
import { createMemoryLinkPair, type MemoryLink } from './memoryLink';
import { StreamLink } from './streamLink';

/** Two StreamLinks joined back to back through TransformStreams, as the leader tab joins a data channel to the worker. */
function streamPair(): [StreamLink, StreamLink] {
  const ab = new TransformStream<Uint8Array, Uint8Array>();
  const ba = new TransformStream<Uint8Array, Uint8Array>();
  return [new StreamLink('a', ba.readable, ab.writable), new StreamLink('b', ab.readable, ba.writable)];
}

describe('memory links pass the link conformance suite', () => {
  for (const testCase of linkConformanceCases) it(testCase.name, () => testCase.run(() => createMemoryLinkPair()));
});

describe('stream links pass the link conformance suite', () => {
  for (const testCase of linkConformanceCases) it(testCase.name, () => testCase.run(streamPair));
});

describe('memory link backpressure and test controls', () => {
  const tick = () => new Promise((resolve) => setTimeout(resolve, 0));
  const ticks = async (n: number) => {
    for (let i = 0; i < n; i++) await tick();
  };

  function started(link: MemoryLink) {
    const received: Uint8Array[] = [];
    let closedWith: string | undefined;
    link.start({ receive: (bytes) => received.push(bytes), closed: (reason) => (closedWith = reason) });
    return { received, total: () => received.reduce((n, c) => n + c.length, 0), closed: () => closedWith };
  }

  function track(promise: Promise<void>) {
    const state: { settled: boolean; error: unknown } = { settled: false, error: undefined };
    promise.then(
      () => (state.settled = true),
      (error) => {
        state.settled = true;
        state.error = error;
      },
    );
    return state;
  }

  it('send stalls at the high-water mark while the receiver is paused, and resumes in order', async () => {
    const [a, b] = createMemoryLinkPair();
    started(a);
    const atB = started(b);
    b.pauseDelivery();
    const piece = new Uint8Array(64 * 1024);
    for (let i = 0; i < 3; i++) await a.send(piece.fill(i)); // 192 KiB: under 256 KiB
    const fourth = track(a.send(piece.fill(3))); // reaches 256 KiB
    await ticks(5);
    expect(fourth.settled).toBe(false);
    expect(atB.total()).toBe(0);
    b.resumeDelivery();
    await ticks(2);
    expect(fourth).toEqual({ settled: true, error: undefined });
    expect(atB.received.map((c) => c[0])).toEqual([0, 1, 2, 3]);
  });

  it('honours a configured high-water mark, and delivery alone (no pause) releases a stalled send', async () => {
    const [a, b] = createMemoryLinkPair('a', 'b', undefined, { highWaterMark: 1000 });
    started(a);
    const atB = started(b);
    await a.send(new Uint8Array(999));
    const second = track(a.send(new Uint8Array(1)));
    expect(second.settled).toBe(false);
    await ticks(2);
    expect(second.settled).toBe(true);
    expect(atB.total()).toBe(1000);
  });

  it('a send waiting on backpressure rejects with LinkClosedError when either end closes; the close reaches the other side', async () => {
    for (const closer of ['sender', 'receiver'] as const) {
      const [a, b] = createMemoryLinkPair('a', 'b', undefined, { highWaterMark: 10 });
      const atA = started(a);
      const atB = started(b);
      b.pauseDelivery();
      const pending = track(a.send(new Uint8Array(10)));
      await ticks(2);
      expect(pending.settled).toBe(false);
      (closer === 'sender' ? a : b).close(`${closer} closed`);
      await ticks(1);
      expect(pending.error).toBeInstanceOf(LinkClosedError);
      await expect(a.send(new Uint8Array(1))).rejects.toBeInstanceOf(LinkClosedError);
      await ticks(2);
      expect(atA.closed()).toBe(`${closer} closed`);
      // A paused end hears of the close after what arrived before it, once it reads again.
      expect(atB.closed()).toBeUndefined();
      b.resumeDelivery();
      await ticks(2);
      expect(atB.total()).toBe(10);
      expect(atB.closed()).toBe(`${closer} closed`);
    }
  });

  it('a receiver that has not started yet holds the sender back too', async () => {
    const [a, b] = createMemoryLinkPair('a', 'b', undefined, { highWaterMark: 100 });
    started(a);
    const pending = track(a.send(new Uint8Array(100)));
    await ticks(3);
    expect(pending.settled).toBe(false);
    const atB = started(b);
    await ticks(2);
    expect(pending.settled).toBe(true);
    expect(atB.total()).toBe(100);
  });

  it('the tap sees every chunk as it is sent, with its direction', async () => {
    const seen: string[] = [];
    const [a, b] = createMemoryLinkPair('a', 'b', (direction, bytes) => seen.push(`${direction}:${bytes.length}`));
    started(a);
    started(b);
    await a.send(new Uint8Array(3));
    await b.send(new Uint8Array(2));
    expect(seen).toEqual(['a-to-b:3', 'b-to-a:2']);
  });

  it('optional latency and bandwidth delay delivery', async () => {
    vi.useFakeTimers();
    try {
      const [a, b] = createMemoryLinkPair('a', 'b', undefined, { latencyMs: 30, bytesPerMs: 1000 });
      started(a);
      const atB = started(b);
      void a.send(new Uint8Array(10_000)); // leaves over 10 ms, arrives at 40 ms
      void a.send(new Uint8Array(10_000)); // leaves by 20 ms, arrives at 50 ms
      await vi.advanceTimersByTimeAsync(39);
      expect(atB.total()).toBe(0);
      await vi.advanceTimersByTimeAsync(1);
      expect(atB.total()).toBe(10_000);
      await vi.advanceTimersByTimeAsync(9);
      expect(atB.total()).toBe(10_000);
      await vi.advanceTimersByTimeAsync(1);
      expect(atB.total()).toBe(20_000);
    } finally {
      vi.useRealTimers();
    }
  });
});
