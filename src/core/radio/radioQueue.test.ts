import { describe, expect, it } from 'vitest';
import { DEFAULT_HOP_LIMIT, MAX_SEND_ATTEMPTS, RadioQueue, RadioQueueFullError, URGENT_HOP_LIMIT, type QueueLane } from './radioQueue';

const datagram = (tag: number, size = 10) => ({ payload: new Uint8Array(size).fill(tag & 0xff).map((b, i) => (i === 0 ? tag >> 8 : b)), to: 'broadcast' as const });

function entry(lane: QueueLane, tag: number, extra: { own?: boolean; stream?: string; urgent?: boolean; size?: number } = {}) {
  return { lane, label: `${lane} ${tag}`, datagrams: [datagram(tag, extra.size)], own: extra.own ?? lane !== 'catchUp', stream: extra.stream, urgent: extra.urgent };
}

/** Drains the queue in sending order, returning labels. */
function drain(queue: RadioQueue): string[] {
  const labels: string[] = [];
  for (let next = queue.peek(); next; next = queue.peek()) {
    labels.push(queue.view().find((e) => e.id === next!.entryId)!.label);
    queue.sent(next);
  }
  return labels;
}

describe('radio queue', () => {
  it('sends trade, then stock, then offer, then reconciliation, then catch-up; urgent first of all', () => {
    const queue = new RadioQueue();
    queue.add(entry('catchUp', 1));
    queue.add(entry('offer', 2));
    queue.add(entry('control', 3));
    queue.add(entry('stock', 4));
    queue.add(entry('trade', 5));
    const urgentOffer = queue.add(entry('offer', 6))!;
    queue.add(entry('stock', 7));
    expect(queue.markUrgent(urgentOffer)).toBe(true);
    expect(queue.peek()!.hopLimit).toBe(URGENT_HOP_LIMIT);
    expect(queue.view().map((e) => e.label)).toEqual(['offer 6', 'trade 5', 'stock 4', 'stock 7', 'offer 2', 'control 3', 'catchUp 1']);
    expect(queue.view()[0]).toMatchObject({ class: 'offer', urgent: true, bytes: 10, datagrams: 1 });
    expect(queue.view().at(-2)!.class).toBe('catchUp');
    expect(drain(queue)).toEqual(['offer 6', 'trade 5', 'stock 4', 'stock 7', 'offer 2', 'control 3', 'catchUp 1']);
    expect(queue.size).toBe(0);
    expect(queue.queuedBytes).toBe(0);
  });

  it('a newer own update of the same stream replaces the waiting one, and keeps its urgency', () => {
    const queue = new RadioQueue();
    const first = queue.add(entry('stock', 1, { stream: 'honey' }))!;
    queue.add(entry('stock', 2, { stream: 'dates' }));
    queue.markUrgent(first);
    queue.add(entry('stock', 3, { stream: 'honey' }));
    expect(queue.view().map((e) => [e.label, e.urgent])).toEqual([
      ['stock 3', true],
      ['stock 2', false],
    ]);
    expect(queue.counts()).toEqual({ trade: 0, stock: 2, offer: 0, catchUp: 0 });
  });

  it('a datagram already waiting is not queued twice', () => {
    const queue = new RadioQueue();
    expect(queue.add(entry('catchUp', 1))).not.toBeNull();
    expect(queue.add(entry('catchUp', 1))).toBeNull();
    expect(queue.size).toBe(1);
  });

  it('when full, the oldest catch-up goes first; an own update that still cannot fit is refused with an error, never dropped silently', () => {
    const queue = new RadioQueue({ entries: { trade: 2, stock: 2, offer: 2, control: 2, catchUp: 3 }, totalBytes: 50 });
    queue.add(entry('catchUp', 1));
    queue.add(entry('catchUp', 2));
    queue.add(entry('catchUp', 3));
    queue.add(entry('catchUp', 4));
    expect(queue.view().map((e) => e.label)).toEqual(['catchUp 2', 'catchUp 3', 'catchUp 4']);
    queue.add(entry('trade', 5));
    queue.add(entry('stock', 6));
    // 50 bytes: the catch-ups make room for own updates, oldest first.
    queue.add(entry('stock', 7));
    expect(queue.view().map((e) => e.label)).toEqual(['trade 5', 'stock 6', 'stock 7', 'catchUp 3', 'catchUp 4']);
    expect(() => queue.add(entry('stock', 8))).toThrow(RadioQueueFullError);
    expect(() => queue.add(entry('stock', 8))).toThrow(/"stock 8" was not queued/);
    expect(queue.view().map((e) => e.label)).toEqual(['trade 5', 'stock 6', 'stock 7', 'catchUp 3', 'catchUp 4']);
    queue.add(entry('offer', 9));
    queue.add(entry('offer', 10));
    expect(() => queue.add(entry('trade', 11))).toThrow(RadioQueueFullError);
    expect(queue.view().map((e) => e.label)).toEqual(['trade 5', 'stock 6', 'stock 7', 'offer 9', 'offer 10']);
    expect(queue.queuedBytes).toBeLessThanOrEqual(50);
    // A catch-up finds no room and is refused quietly (reconciliation brings it again).
    expect(queue.add(entry('catchUp', 12))).toBeNull();
  });

  it('a refused replacement keeps the update it would have replaced', () => {
    const queue = new RadioQueue({ entries: { trade: 1, stock: 1, offer: 1, control: 1, catchUp: 1 }, totalBytes: 25 });
    queue.add(entry('stock', 1, { stream: 'honey' }));
    queue.add(entry('trade', 2));
    expect(() => queue.add(entry('stock', 3, { stream: 'honey', size: 20 }))).toThrow(RadioQueueFullError);
    expect(queue.view().map((e) => e.label)).toEqual(['trade 2', 'stock 1']);
  });

  it('a refused send stays first until it was tried MAX_SEND_ATTEMPTS times', () => {
    const queue = new RadioQueue();
    queue.add({ lane: 'offer', label: 'two', datagrams: [datagram(1), datagram(2)], own: true });
    const next = queue.peek()!;
    expect(next.hopLimit).toBe(DEFAULT_HOP_LIMIT);
    for (let i = 1; i < MAX_SEND_ATTEMPTS; i++) {
      expect(queue.failed(next)).toBe(false);
      expect(queue.peek()!.datagram).toBe(next.datagram);
    }
    expect(queue.failed(next)).toBe(true);
    expect(queue.peek()!.datagram.payload[1]).toBe(2);
    expect(queue.view()[0]!.datagrams).toBe(1);
  });
});
