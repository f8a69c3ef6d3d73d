import { LinkClosedError, type Link, type LinkHandlers } from './link';

/** Counts what crosses a memory link, for tests that inspect every byte a node sends. */
export interface LinkTap {
  (direction: 'a-to-b' | 'b-to-a', bytes: Uint8Array): void;
}

export interface MemoryLinkOptions {
  /**
   * `send` resolves only while the bytes this end sent that the other end has not yet handed to
   * its handler are below this many (default 256 KiB). Like a data channel's buffer.
   */
  highWaterMark?: number;
  /** Each chunk reaches the other end this long after it was sent (default 0: the next macrotask). */
  latencyMs?: number;
  /** Bandwidth of each direction: chunks leave one after another at this rate (default unlimited). */
  bytesPerMs?: number;
}

export const DEFAULT_MEMORY_LINK_HIGH_WATER_MARK = 256 * 1024;

/** One end of an in-memory link, with controls for tests. */
export interface MemoryLink extends Link {
  /**
   * Stops handing received bytes (and, after them, the close) to this end's handler, as a peer
   * that stops reading while its link stays open. The other end's `send` stalls once its high-water
   * mark is reached.
   */
  pauseDelivery(): void;
  /** Hands over what arrived meanwhile, in order, and carries on. */
  resumeDelivery(): void;
}

interface Arrival {
  bytes: Uint8Array;
  /** Date.now() at which it may be delivered (0 when there is no latency or bandwidth limit). */
  at: number;
}

/**
 * One end of an in-memory link. Delivery is asynchronous and in order, like a data channel, and
 * `send` carries backpressure: it waits while too much is sent and not yet delivered.
 */
class MemoryLinkEnd implements MemoryLink {
  peer!: MemoryLinkEnd;
  private handlers: LinkHandlers | undefined;
  /** What the other end sent to this one, not yet handed to the handler. */
  private inbox: Arrival[] = [];
  /** Bytes this end sent that the other end has not yet handed to its handler. */
  private unacked = 0;
  /** Sends waiting for `unacked` to fall below the high-water mark. */
  private waiting: { resolve: () => void; reject: (error: Error) => void }[] = [];
  /** When the last chunk this end sent finishes leaving it (bandwidth). */
  private wireFreeAt = 0;
  private closedReason: string | undefined;
  private closedDelivered = false;
  private paused = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly label: string,
    private readonly tap: ((bytes: Uint8Array) => void) | undefined,
    private readonly options: Required<Pick<MemoryLinkOptions, 'highWaterMark'>> & MemoryLinkOptions,
  ) {}

  start(handlers: LinkHandlers): void {
    if (this.handlers) throw new Error(`link ${this.label} already started`);
    this.handlers = handlers;
    this.scheduleDelivery();
  }

  async send(bytes: Uint8Array): Promise<void> {
    if (this.closedReason !== undefined) throw new LinkClosedError(this.label, this.closedReason);
    const copy = bytes.slice();
    this.tap?.(copy);
    this.unacked += copy.length;
    this.peer.inbox.push({ bytes: copy, at: this.arrivalTime(copy.length) });
    this.peer.scheduleDelivery();
    if (this.unacked < this.options.highWaterMark) return;
    await new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  close(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.shut(reason);
    this.peer.shut(reason);
  }

  pauseDelivery(): void {
    this.paused = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  resumeDelivery(): void {
    if (!this.paused) return;
    this.paused = false;
    this.scheduleDelivery();
  }

  private arrivalTime(length: number): number {
    const { latencyMs = 0, bytesPerMs } = this.options;
    if (latencyMs <= 0 && !bytesPerMs) return 0;
    const now = Date.now();
    const leaves = bytesPerMs ? (this.wireFreeAt = Math.max(now, this.wireFreeAt) + length / bytesPerMs) : now;
    return leaves + latencyMs;
  }

  /** This end is closed: sends fail, sends waiting on backpressure fail, the handler hears of it after what arrived before. */
  private shut(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    const waiting = this.waiting;
    this.waiting = [];
    for (const send of waiting) send.reject(new LinkClosedError(this.label, reason));
    this.scheduleDelivery();
  }

  private scheduleDelivery(delayMs = 0): void {
    if (this.timer !== undefined || !this.handlers || this.paused || this.closedDelivered) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.deliver();
    }, delayMs);
  }

  private deliver(): void {
    if (!this.handlers || this.paused) return;
    const now = Date.now();
    const batch = this.inbox;
    this.inbox = [];
    let i = 0;
    let delivered = 0;
    try {
      for (; i < batch.length && !this.paused && this.handlers; i++) {
        const arrival = batch[i]!;
        if (arrival.at > now) break;
        delivered += arrival.bytes.length;
        this.handlers.receive(arrival.bytes);
      }
    } finally {
      if (i < batch.length) this.inbox = batch.slice(i).concat(this.inbox);
      this.peer.delivered(delivered);
    }
    if (this.inbox.length > 0) {
      this.scheduleDelivery(Math.max(0, this.inbox[0]!.at - Date.now()));
    } else if (this.closedReason !== undefined && !this.paused && !this.closedDelivered) {
      this.closedDelivered = true;
      const handlers = this.handlers;
      this.handlers = { receive: () => {}, closed: () => {} };
      handlers.closed(this.closedReason);
    }
  }

  /** The other end handed `bytes` of what this end sent to its handler. */
  private delivered(bytes: number): void {
    this.unacked -= bytes;
    if (this.unacked >= this.options.highWaterMark || this.waiting.length === 0) return;
    const waiting = this.waiting;
    this.waiting = [];
    for (const send of waiting) send.resolve();
  }
}

/**
 * Two connected ends of an in-memory link. `tap` sees every chunk as it is sent. Each `send`
 * resolves once the bytes sent and not yet delivered are under the high-water mark.
 */
export function createMemoryLinkPair(labelA = 'a', labelB = 'b', tap?: LinkTap, options: MemoryLinkOptions = {}): [MemoryLink, MemoryLink] {
  const settings = { ...options, highWaterMark: options.highWaterMark ?? DEFAULT_MEMORY_LINK_HIGH_WATER_MARK };
  if (!(settings.highWaterMark > 0)) throw new RangeError('highWaterMark must be positive');
  const a = new MemoryLinkEnd(labelA, tap && ((bytes) => tap('a-to-b', bytes)), settings);
  const b = new MemoryLinkEnd(labelB, tap && ((bytes) => tap('b-to-a', bytes)), settings);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
