import { encodeFragment, LANES, MAX_FRAME_PAYLOAD, type FrameLimits, type Lane } from '../wire/frame';
import type { Link } from './link';

const MiB = 1024 * 1024;

/** How many payload bytes each lane may hold queued before `enqueue` refuses more. */
export const DEFAULT_LANE_BUDGET_BYTES: Readonly<Record<Lane, number>> = {
  control: 1 * MiB,
  sync: 40 * MiB,
  bulk: 16 * MiB,
};

/** Frames per round between sync and bulk while both have work: four sync frames, then one bulk. */
export const DEFAULT_LANE_WEIGHTS: Readonly<Record<'sync' | 'bulk', number>> = { sync: 4, bulk: 1 };

export interface LaneSenderOptions {
  /** Per-lane budgets of queued payload bytes; missing lanes keep DEFAULT_LANE_BUDGET_BYTES. */
  laneBudgetBytes?: Partial<Record<Lane, number>>;
  /** Frames per round for sync and bulk when both have work (positive integers); see DEFAULT_LANE_WEIGHTS. */
  weights?: Partial<Record<'sync' | 'bulk', number>>;
  /**
   * If given, `enqueue` also refuses a message the receiver would refuse under these limits
   * (unknown type, unlisted version, payload over maxPayload) or one put on another lane than its
   * type's: the receiver reassembles per lane, so a type on the wrong lane breaks the stream.
   */
  limits?: FrameLimits;
  /** A failed `link.send`: the sender has closed itself (queues dropped). Called at most once. */
  onError?: (error: unknown) => void;
}

interface Outgoing {
  type: number;
  version: number;
  /** Held by reference, cut one fragment at a time; the caller must not change it after `enqueue`. */
  payload: Uint8Array;
  /** How much of the payload has been cut into frames already. */
  offset: number;
}

/** A FIFO that does not shift arrays (a control lane may hold many small messages). */
class Queue<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  shift(): void {
    this.items[this.head++] = undefined as T;
    if (this.head > 64 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/**
 * The sending side of one link, in lanes. Messages are queued per lane and cut into frames of at
 * most MAX_FRAME_PAYLOAD bytes only when it is their turn; frames go out one at a time, each
 * `await link.send(frame)` (the link's backpressure) before the next is chosen:
 *
 * - control first, always (pings, hellos, refusals, goodbyes);
 * - between sync and bulk, weighted round-robin by frames (by default 4 sync frames, then 1 bulk
 *   frame, while both have work), so bulk never starves and sync never waits behind a whole bulk
 *   message;
 * - within a lane, messages go in the order enqueued and are never interleaved.
 *
 * So a ping enqueued while a 32 MB bundle is going out leaves after at most the one frame that
 * is already being sent.
 */
export class LaneSender {
  private readonly queues: Record<Lane, Queue<Outgoing>> = { control: new Queue(), sync: new Queue(), bulk: new Queue() };
  private readonly queued: Record<Lane, number> = { control: 0, sync: 0, bulk: 0 };
  private readonly budgets: Record<Lane, number>;
  private readonly weights: Record<'sync' | 'bulk', number>;
  private credits: Record<'sync' | 'bulk', number>;
  /** The pump is scheduled or running (a frame may be in `link.send`). */
  private pumping = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private sentBytes = 0;
  private sentFrames = 0;

  constructor(
    private readonly link: Link,
    private readonly options: LaneSenderOptions = {},
  ) {
    this.budgets = { ...DEFAULT_LANE_BUDGET_BYTES };
    for (const lane of LANES) {
      const budget = options.laneBudgetBytes?.[lane];
      if (budget === undefined) continue;
      if (!(budget >= 0)) throw new RangeError(`lane budget for ${lane} must be a number of bytes, got ${budget}`);
      this.budgets[lane] = budget;
    }
    this.weights = { ...DEFAULT_LANE_WEIGHTS, ...options.weights };
    for (const lane of ['sync', 'bulk'] as const) {
      if (!Number.isInteger(this.weights[lane]) || this.weights[lane] < 1) {
        throw new RangeError(`weight for ${lane} must be a positive integer, got ${this.weights[lane]}`);
      }
    }
    this.credits = { ...this.weights };
  }

  /**
   * Queues one message on a lane. Returns false and queues nothing if the sender is closed, the
   * lane's queued bytes plus this payload would exceed its budget, or the message cannot be sent
   * (type or version not a byte; with `limits`, anything the receiver would refuse). Never throws.
   * The payload is kept by reference until it has been sent: do not change it.
   */
  enqueue(lane: Lane, type: number, version: number, payload: Uint8Array): boolean {
    if (this.closed) return false;
    if (!LANES.includes(lane) || !isByte(type) || !isByte(version) || !(payload instanceof Uint8Array)) return false;
    const limits = this.options.limits;
    if (limits) {
      const limit = limits.get(type);
      if (!limit || limit.lane !== lane || !limit.versions.includes(version) || payload.length > limit.maxPayload) return false;
    }
    if (this.queued[lane] + payload.length > this.budgets[lane]) return false;
    this.queues[lane].push({ type, version, payload, offset: 0 });
    this.queued[lane] += payload.length;
    if (!this.pumping) {
      this.pumping = true;
      // Start on a microtask, so that messages enqueued together are ordered by lane, not by call.
      queueMicrotask(() => void this.pump());
    }
    return true;
  }

  /** Payload bytes queued on a lane and not yet cut into a frame. */
  queuedBytes(lane: Lane): number {
    return this.queued[lane] ?? 0;
  }

  /** Bytes (headers included) of the frames the link has accepted. */
  get bytesSent(): number {
    return this.sentBytes;
  }

  get framesSent(): number {
    return this.sentFrames;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Resolves when every queue is empty and the last `link.send` has settled (also after close). */
  idle(): Promise<void> {
    if (!this.pumping) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops everything queued; later `enqueue` returns false. The link itself stays open. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const lane of LANES) {
      this.queues[lane].clear();
      this.queued[lane] = 0;
    }
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        if (this.closed) break;
        const frame = this.nextFrame();
        if (!frame) break;
        try {
          await this.link.send(frame);
        } catch (error) {
          this.fail(error);
          break;
        }
        this.sentBytes += frame.length;
        this.sentFrames += 1;
      }
    } catch (error) {
      this.fail(error); // not expected: enqueue checks everything encodeFragment could refuse
    } finally {
      this.pumping = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private fail(error: unknown): void {
    if (this.closed) return; // closed on purpose meanwhile: the failure is expected
    this.close();
    try {
      this.options.onError?.(error);
    } catch {
      // The reporter's own failure must not stop the sender from settling.
    }
  }

  /** Cuts the next frame from the lane whose turn it is, or undefined when all are empty. */
  private nextFrame(): Uint8Array | undefined {
    const lane = this.nextLane();
    if (!lane) return undefined;
    const queue = this.queues[lane];
    const message = queue.peek()!;
    const end = Math.min(message.offset + MAX_FRAME_PAYLOAD, message.payload.length);
    const more = end < message.payload.length;
    const frame = encodeFragment(message.type, message.version, message.payload.subarray(message.offset, end), more);
    this.queued[lane] -= end - message.offset;
    message.offset = end;
    if (!more) queue.shift();
    return frame;
  }

  private nextLane(): Lane | undefined {
    if (this.queues.control.length > 0) return 'control';
    const syncBusy = this.queues.sync.length > 0;
    const bulkBusy = this.queues.bulk.length > 0;
    if (!syncBusy && !bulkBusy) return undefined;
    // A new round when no lane with work has credit left.
    if (!(syncBusy && this.credits.sync > 0) && !(bulkBusy && this.credits.bulk > 0)) this.credits = { ...this.weights };
    const lane = syncBusy && this.credits.sync > 0 ? 'sync' : 'bulk';
    this.credits[lane] -= 1;
    return lane;
  }
}

function isByte(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0xff;
}
