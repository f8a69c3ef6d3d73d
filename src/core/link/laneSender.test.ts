import { describe, expect, it } from 'vitest';
import { FrameDecoder, MAX_FRAME_PAYLOAD, type Frame, type FrameLimits, type Lane } from '../wire/frame';
import { LaneSender } from './laneSender';
import { LinkClosedError, type Link, type LinkHandlers } from './link';
import { createMemoryLinkPair } from './memoryLink';

const MiB = 1024 * 1024;

/** Types used here and their lanes: 1 ping (control), 4 changes (sync), 9 bulk blob. */
const PING = 1;
const CHANGES = 4;
const BLOB = 9;
const limits: FrameLimits = new Map([
  [PING, { versions: [1], maxPayload: 4, lane: 'control' }],
  [2, { versions: [1], maxPayload: 1024, lane: 'control' }],
  [CHANGES, { versions: [1], maxPayload: 40 * MiB, lane: 'sync' }],
  [5, { versions: [1], maxPayload: 40 * MiB, lane: 'sync' }],
  [BLOB, { versions: [1], maxPayload: 16 * MiB, lane: 'bulk' }],
]);
const laneOfType = (type: number): Lane => limits.get(type)!.lane;

/** The frame header fields of a recorded frame. */
function header(frame: Uint8Array): { type: number; more: boolean; length: number } {
  return { type: frame[3]!, more: (frame[4]! & 1) === 1, length: (frame[5]! << 16) | (frame[6]! << 8) | frame[7]! };
}

function lanes(frames: Uint8Array[]): string {
  return frames.map((f) => laneOfType(header(f).type)[0]!.toUpperCase()).join('');
}

function tick(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > 10_000) throw new Error(`timed out: ${what}`);
    await tick();
  }
}

/** A link whose sends settle only when the test says so: every frame's position is decided by the test, not by timing. */
class GatedLink implements Link {
  readonly label = 'gated';
  readonly frames: Uint8Array[] = [];
  private pending: { resolve: () => void; reject: (error: Error) => void } | undefined;

  start(_handlers: LinkHandlers): void {}

  send(bytes: Uint8Array): Promise<void> {
    if (this.pending) throw new Error('a second send while one is pending: the sender does not wait for backpressure');
    this.frames.push(bytes);
    return new Promise((resolve, reject) => (this.pending = { resolve, reject }));
  }

  close(): void {}

  get busy(): boolean {
    return this.pending !== undefined;
  }

  /** Lets the pending send resolve and the sender pick its next frame. */
  async release(): Promise<void> {
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve();
    await tick();
  }

  async fail(error: Error): Promise<void> {
    const pending = this.pending;
    this.pending = undefined;
    pending?.reject(error);
    await tick();
  }

  async drain(): Promise<void> {
    while (this.pending) await this.release();
  }
}

function pattern(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (i * 7 + seed + (i >>> 16)) & 0xff;
  return out;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

describe('LaneSender', () => {
  it('a ping enqueued while a 32 MB sync message is going out leaves within one frame (memory link, backpressure)', async () => {
    const recorded: Uint8Array[] = [];
    const [a, b] = createMemoryLinkPair('a', 'b', (direction, bytes) => direction === 'a-to-b' && recorded.push(bytes));
    const decoder = new FrameDecoder(limits);
    const received: Frame[] = [];
    b.start({ receive: (bytes) => received.push(...decoder.push(bytes)), closed: () => {} });
    a.start({ receive: () => {}, closed: () => {} });
    b.pauseDelivery(); // the peer stops reading: the sender stalls at the link's high-water mark

    const sender = new LaneSender(a);
    const bundle = pattern(32 * MiB, 1);
    expect(sender.enqueue('sync', CHANGES, 1, bundle)).toBe(true);
    // 256 KiB high-water mark, 65544-byte frames: the fourth send is the one left waiting.
    await until(() => recorded.length === 4, 'the sender stalls on backpressure');
    for (let i = 0; i < 5; i++) await tick();
    expect(recorded.length).toBe(4);

    expect(sender.enqueue('control', PING, 1, new Uint8Array([0, 0, 0, 7]))).toBe(true);
    b.resumeDelivery();
    await sender.idle();
    await until(() => received.length === 2, 'both messages received');

    expect(header(recorded[4]!)).toEqual({ type: PING, more: false, length: 4 });
    expect(recorded.length).toBe(1 + Math.ceil(bundle.length / MAX_FRAME_PAYLOAD));
    expect(recorded.every((f) => f.length <= 8 + MAX_FRAME_PAYLOAD)).toBe(true);
    expect(received[0]!.type).toBe(PING);
    expect(received[1]!.type).toBe(CHANGES);
    expect(same(received[1]!.payload, bundle)).toBe(true);
  });

  it('a control message goes next whenever it is enqueued during a large sync and bulk transfer', async () => {
    for (const after of [0, 1, 5, 17]) {
      const link = new GatedLink();
      const sender = new LaneSender(link);
      sender.enqueue('sync', CHANGES, 1, new Uint8Array(20 * MAX_FRAME_PAYLOAD));
      sender.enqueue('bulk', BLOB, 1, new Uint8Array(20 * MAX_FRAME_PAYLOAD));
      await tick();
      for (let i = 0; i < after; i++) await link.release();
      const inFlight = link.frames.length;
      expect(sender.enqueue('control', PING, 1, new Uint8Array(4))).toBe(true);
      await link.release();
      expect(header(link.frames[inFlight]!).type).toBe(PING);
      await link.drain();
    }
  });

  it('control goes strictly first; messages enqueued together are ordered by lane', async () => {
    const link = new GatedLink();
    const sender = new LaneSender(link);
    sender.enqueue('bulk', BLOB, 1, new Uint8Array(10));
    sender.enqueue('sync', CHANGES, 1, new Uint8Array(10));
    sender.enqueue('control', PING, 1, new Uint8Array(4));
    sender.enqueue('control', 2, 1, new Uint8Array(4));
    await tick();
    await link.drain();
    expect(lanes(link.frames)).toBe('CCSB');
  });

  it('sync and bulk share by weighted round-robin: 4 sync frames per bulk frame by default, or as configured', async () => {
    const link = new GatedLink();
    const sender = new LaneSender(link);
    sender.enqueue('sync', CHANGES, 1, new Uint8Array(40 * MAX_FRAME_PAYLOAD));
    sender.enqueue('bulk', BLOB, 1, new Uint8Array(30 * MAX_FRAME_PAYLOAD));
    await tick();
    await link.drain();
    expect(lanes(link.frames)).toBe('SSSSB'.repeat(10) + 'B'.repeat(20));

    const weighted = new GatedLink();
    const other = new LaneSender(weighted, { weights: { sync: 2, bulk: 3 } });
    other.enqueue('sync', CHANGES, 1, new Uint8Array(10 * MAX_FRAME_PAYLOAD));
    other.enqueue('bulk', BLOB, 1, new Uint8Array(16 * MAX_FRAME_PAYLOAD));
    await tick();
    await weighted.drain();
    expect(lanes(weighted.frames)).toBe('SSBBB'.repeat(5) + 'B');
  });

  it('sync is never stuck behind a whole bulk message', async () => {
    const link = new GatedLink();
    const sender = new LaneSender(link);
    sender.enqueue('bulk', BLOB, 1, new Uint8Array(100 * MAX_FRAME_PAYLOAD));
    await tick();
    for (let i = 0; i < 7; i++) await link.release();
    const inFlight = link.frames.length;
    sender.enqueue('sync', CHANGES, 1, new Uint8Array(3 * MAX_FRAME_PAYLOAD));
    await link.release();
    expect(lanes(link.frames.slice(inFlight))).toBe('S');
    await link.drain();
    expect(lanes(link.frames.slice(inFlight))).toBe('SSS' + 'B'.repeat(100 - inFlight));
  });

  it('messages on a lane go in order and are never interleaved; the receiver gets every message intact', async () => {
    const [a, b] = createMemoryLinkPair('a', 'b', undefined, { highWaterMark: 100_000 });
    const decoder = new FrameDecoder(limits); // throws 'interleaved' if a lane's fragments mix
    const received: Frame[] = [];
    b.start({ receive: (bytes) => received.push(...decoder.push(bytes)), closed: () => {} });
    a.start({ receive: () => {}, closed: () => {} });
    const sender = new LaneSender(a);
    const sent: { lane: Lane; type: number; payload: Uint8Array }[] = [];
    const sizes = [0, 1, MAX_FRAME_PAYLOAD, MAX_FRAME_PAYLOAD + 1, 3 * MAX_FRAME_PAYLOAD - 1, 200_000, 5];
    let seed = 0;
    for (const size of sizes) {
      for (const [lane, type] of [['sync', CHANGES], ['sync', 5], ['bulk', BLOB], ['control', 2]] as const) {
        const payload = pattern(lane === 'control' ? Math.min(size, 1024) : size, seed++);
        expect(sender.enqueue(lane, type, 1, payload)).toBe(true);
        sent.push({ lane, type, payload });
      }
    }
    await sender.idle();
    await until(() => received.length === sent.length, 'every message received');
    for (const lane of ['control', 'sync', 'bulk'] as const) {
      const want = sent.filter((m) => m.lane === lane);
      const got = received.filter((m) => laneOfType(m.type) === lane);
      expect(got.map((m) => m.type)).toEqual(want.map((m) => m.type));
      expect(got.every((m, i) => same(m.payload, want[i]!.payload))).toBe(true);
    }
    expect(decoder.buffered).toBe(0);
  });

  it('cuts fragments lazily: a large payload is not copied into frames up front', async () => {
    const link = new GatedLink();
    const sender = new LaneSender(link);
    const payload = new Uint8Array(32 * MiB);
    sender.enqueue('sync', CHANGES, 1, payload);
    await tick();
    expect(link.frames.length).toBe(1);
    expect(sender.queuedBytes('sync')).toBe(32 * MiB - MAX_FRAME_PAYLOAD);
    // The sender still reads from the caller's payload: a byte changed now shows in a later frame.
    payload[10 * MAX_FRAME_PAYLOAD] = 0xee;
    for (let i = 0; i < 10; i++) await link.release();
    expect(link.frames[10]![8]).toBe(0xee);
    sender.close();
    await link.release();
  });

  it('refuses work over a lane’s budget and queues nothing; budgets free up as frames go out', async () => {
    const link = new GatedLink();
    const sender = new LaneSender(link, { laneBudgetBytes: { sync: 3 * MAX_FRAME_PAYLOAD } });
    expect(sender.enqueue('sync', CHANGES, 1, new Uint8Array(3 * MAX_FRAME_PAYLOAD + 1))).toBe(false); // larger than the budget
    expect(sender.queuedBytes('sync')).toBe(0);
    expect(sender.enqueue('sync', CHANGES, 1, new Uint8Array(2 * MAX_FRAME_PAYLOAD))).toBe(true);
    expect(sender.enqueue('sync', CHANGES, 1, new Uint8Array(MAX_FRAME_PAYLOAD + 1))).toBe(false);
    expect(sender.queuedBytes('sync')).toBe(2 * MAX_FRAME_PAYLOAD);
    expect(sender.enqueue('sync', CHANGES, 1, new Uint8Array(MAX_FRAME_PAYLOAD))).toBe(true); // exactly full
    expect(sender.queuedBytes('sync')).toBe(3 * MAX_FRAME_PAYLOAD);
    // Other lanes have their own budgets: defaults 1 MiB control, 16 MiB bulk.
    expect(sender.enqueue('control', 2, 1, new Uint8Array(MiB))).toBe(true);
    expect(sender.enqueue('control', 2, 1, new Uint8Array(1))).toBe(false);
    expect(sender.enqueue('bulk', BLOB, 1, new Uint8Array(16 * MiB + 1))).toBe(false);
    expect(sender.enqueue('bulk', BLOB, 1, new Uint8Array(16 * MiB))).toBe(true);
    expect(sender.queuedBytes('bulk')).toBe(16 * MiB);

    await tick(); // the first control frame is cut
    expect(sender.queuedBytes('control')).toBe(MiB - MAX_FRAME_PAYLOAD);
    expect(sender.enqueue('control', 2, 1, new Uint8Array(MAX_FRAME_PAYLOAD))).toBe(true);
    expect(sender.enqueue('control', 2, 1, new Uint8Array(1))).toBe(false);
    sender.close();
    await link.release();
  });

  it('the default sync budget is 40 MiB', () => {
    const sender = new LaneSender(new GatedLink());
    expect(sender.enqueue('sync', CHANGES, 1, new Uint8Array(40 * MiB + 1))).toBe(false);
    expect(sender.enqueue('sync', CHANGES, 1, new Uint8Array(40 * MiB))).toBe(true);
    expect(sender.enqueue('sync', CHANGES, 1, new Uint8Array(1))).toBe(false);
    sender.close();
  });

  it('never throws from enqueue: what cannot be sent is refused', () => {
    const sender = new LaneSender(new GatedLink(), { limits });
    expect(sender.enqueue('nowhere' as Lane, CHANGES, 1, new Uint8Array(1))).toBe(false);
    expect(sender.enqueue('sync', 256, 1, new Uint8Array(1))).toBe(false);
    expect(sender.enqueue('sync', CHANGES, -1, new Uint8Array(1))).toBe(false);
    expect(sender.enqueue('sync', CHANGES, 1, 'text' as unknown as Uint8Array)).toBe(false);
    // With limits: the receiver's rules.
    expect(sender.enqueue('control', 77, 1, new Uint8Array(1))).toBe(false); // unknown type
    expect(sender.enqueue('bulk', CHANGES, 1, new Uint8Array(1))).toBe(false); // wrong lane
    expect(sender.enqueue('sync', CHANGES, 2, new Uint8Array(1))).toBe(false); // unlisted version
    expect(sender.enqueue('control', PING, 1, new Uint8Array(5))).toBe(false); // over maxPayload
    expect(sender.enqueue('control', PING, 1, new Uint8Array(4))).toBe(true);
    sender.close();
  });

  it('idle resolves when every queue is empty and the last send has settled', async () => {
    const link = new GatedLink();
    const sender = new LaneSender(link);
    await sender.idle(); // nothing to do
    sender.enqueue('sync', CHANGES, 1, new Uint8Array(2 * MAX_FRAME_PAYLOAD));
    let idle = false;
    void sender.idle().then(() => (idle = true));
    await tick();
    await link.release(); // first frame done, second in flight
    expect(idle).toBe(false);
    expect(sender.queuedBytes('sync')).toBe(0);
    await link.release();
    expect(idle).toBe(true);
    expect(sender.framesSent).toBe(2);
    expect(sender.bytesSent).toBe(2 * (8 + MAX_FRAME_PAYLOAD));
  });

  it('close drops the queues, sends nothing more, and refuses later work', async () => {
    const link = new GatedLink();
    const sender = new LaneSender(link);
    sender.enqueue('sync', CHANGES, 1, new Uint8Array(10 * MAX_FRAME_PAYLOAD));
    sender.enqueue('control', PING, 1, new Uint8Array(4));
    await tick();
    await link.release();
    let idle = false;
    void sender.idle().then(() => (idle = true));
    sender.close();
    expect(sender.isClosed).toBe(true);
    expect(sender.queuedBytes('sync')).toBe(0);
    expect(sender.enqueue('control', PING, 1, new Uint8Array(4))).toBe(false);
    expect(idle).toBe(false); // a frame is still in link.send
    await link.release();
    expect(idle).toBe(true);
    expect(link.busy).toBe(false);
    expect(link.frames.length).toBe(2);
    await sender.idle();
  });

  it('a failed send closes the sender and reports once through onError', async () => {
    const link = new GatedLink();
    const errors: unknown[] = [];
    const sender = new LaneSender(link, { onError: (error) => errors.push(error) });
    sender.enqueue('sync', CHANGES, 1, new Uint8Array(5 * MAX_FRAME_PAYLOAD));
    await tick();
    const failure = new LinkClosedError('gated', 'gone');
    await link.fail(failure);
    expect(errors).toEqual([failure]);
    expect(sender.isClosed).toBe(true);
    expect(sender.enqueue('control', PING, 1, new Uint8Array(4))).toBe(false);
    expect(link.frames.length).toBe(1);
    await sender.idle();
  });

  it('a send failing after a deliberate close is not reported', async () => {
    const link = new GatedLink();
    const errors: unknown[] = [];
    const sender = new LaneSender(link, { onError: (error) => errors.push(error) });
    sender.enqueue('sync', CHANGES, 1, new Uint8Array(5));
    await tick();
    sender.close();
    await link.fail(new Error('link closed under it'));
    expect(errors).toEqual([]);
  });

  it('over a real memory link that closes, the sender stops and reports LinkClosedError', async () => {
    const [a, b] = createMemoryLinkPair();
    a.start({ receive: () => {}, closed: () => {} });
    b.start({ receive: () => {}, closed: () => {} });
    b.pauseDelivery();
    const errors: unknown[] = [];
    const sender = new LaneSender(a, { onError: (error) => errors.push(error) });
    sender.enqueue('bulk', BLOB, 1, new Uint8Array(MiB));
    await until(() => sender.queuedBytes('bulk') < MiB - 3 * MAX_FRAME_PAYLOAD, 'the sender stalls');
    b.close('peer gone');
    await sender.idle();
    expect(errors.length).toBe(1);
    expect(errors[0]).toBeInstanceOf(LinkClosedError);
  });

  it('refuses weights and budgets that make no sense, at construction', () => {
    expect(() => new LaneSender(new GatedLink(), { weights: { sync: 0 } })).toThrow(RangeError);
    expect(() => new LaneSender(new GatedLink(), { weights: { bulk: 1.5 } })).toThrow(RangeError);
    expect(() => new LaneSender(new GatedLink(), { laneBudgetBytes: { control: -1 } })).toThrow(RangeError);
  });
});
