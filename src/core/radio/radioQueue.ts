import { toHex } from '../wire/hex';
import { RADIO_CLASSES, type RadioClass } from './radioView';

/**
 * What waits to go on the air (protocol §10.5): a bounded priority queue of entries, each one or
 * more datagrams (a compact update, a bundle's fragments, a reconciliation message). Order:
 * urgent entries first, then trade, stock, offer, reconciliation control, catch-up; oldest first
 * within a rank. The queue is plain data owned by the engine, so it outlives any one link.
 */

/** Reconciliation and re-request messages rank between offers and catch-up. */
export type QueueLane = RadioClass | 'control';
const LANE_ORDER: readonly QueueLane[] = ['trade', 'stock', 'offer', 'control', 'catchUp'];

/** Meshtastic's default hop limit, and the one an urgent update gets so it spreads further. */
export const DEFAULT_HOP_LIMIT = 3;
export const URGENT_HOP_LIMIT = 7;
/** A datagram the radio refused this many times is dropped. */
export const MAX_SEND_ATTEMPTS = 3;

export interface RadioQueueLimits {
  /** Entries per lane. */
  entries: Record<QueueLane, number>;
  /** Payload bytes waiting in all. */
  totalBytes: number;
}

export const RADIO_QUEUE_LIMITS: RadioQueueLimits = {
  entries: { trade: 64, stock: 256, offer: 256, control: 32, catchUp: 256 },
  totalBytes: 512 * 1024,
};

export interface QueuedDatagram {
  payload: Uint8Array;
  to: number | 'broadcast';
}

export interface QueueEntryInput {
  lane: QueueLane;
  label: string;
  datagrams: QueuedDatagram[];
  /** The merchant's own update: never dropped silently (a full queue refuses it with an error). */
  own: boolean;
  /** The update stream (vault and device) it belongs to: a newer own entry of the same stream replaces a waiting one. */
  stream?: string;
  urgent?: boolean;
}

/** A waiting entry, for the Radio page. */
export interface QueueEntryView {
  id: number;
  class: RadioClass;
  label: string;
  /** Payload bytes still to send. */
  bytes: number;
  /** Datagrams still to send. */
  datagrams: number;
  urgent: boolean;
}

export interface NextDatagram {
  entryId: number;
  lane: QueueLane;
  datagram: QueuedDatagram;
  hopLimit: number;
}

export class RadioQueueFullError extends Error {
  override name = 'RadioQueueFullError';
}

interface Entry extends QueueEntryInput {
  id: number;
  seq: number;
  urgent: boolean;
  attempts: number;
}

export class RadioQueue {
  private readonly entries: Entry[] = [];
  private readonly waiting = new Set<string>();
  private readonly limits: RadioQueueLimits;
  private nextId = 1;
  private bytes = 0;

  constructor(limits: Partial<RadioQueueLimits> = {}) {
    this.limits = { ...RADIO_QUEUE_LIMITS, ...limits };
  }

  /**
   * Queues an entry; returns its id, or null when nothing of it was new (every datagram is already
   * waiting) or a catch-up or control entry found no room. Throws RadioQueueFullError for an own
   * entry that cannot fit even after dropping every catch-up.
   */
  add(input: QueueEntryInput): number | null {
    const datagrams = input.datagrams.filter((d) => !this.waiting.has(keyOf(d)));
    if (datagrams.length === 0) return null;
    const size = datagrams.reduce((n, d) => n + d.payload.length, 0);
    let urgent = input.urgent ?? false;
    const replaced = input.own && input.stream !== undefined ? this.entries.filter((e) => e.own && e.stream === input.stream) : [];
    for (const old of replaced) {
      urgent ||= old.urgent;
      this.remove(old);
    }
    if (!this.makeRoom(input.lane, size, input.own)) {
      for (const old of replaced) this.insert(old);
      if (input.own) {
        throw new RadioQueueFullError(
          `the radio queue is full (${this.count(input.lane)} ${input.lane} entries, ${this.bytes} bytes waiting): "${input.label}" was not queued; it goes by the next sync`,
        );
      }
      return null;
    }
    const entry: Entry = { ...input, datagrams, urgent, id: this.nextId, seq: this.nextId, attempts: 0 };
    this.nextId += 1;
    this.insert(entry);
    return entry.id;
  }

  private insert(entry: Entry): void {
    this.entries.push(entry);
    for (const d of entry.datagrams) {
      this.waiting.add(keyOf(d));
      this.bytes += d.payload.length;
    }
  }

  /** The datagram to send next, without taking it. */
  peek(): NextDatagram | undefined {
    const entry = this.first();
    if (!entry) return undefined;
    return { entryId: entry.id, lane: entry.lane, datagram: entry.datagrams[0]!, hopLimit: entry.urgent ? URGENT_HOP_LIMIT : DEFAULT_HOP_LIMIT };
  }

  /** The datagram `peek` gave went out: take it off. */
  sent(next: NextDatagram): void {
    const entry = this.entries.find((e) => e.id === next.entryId);
    if (!entry || entry.datagrams[0] !== next.datagram) return;
    this.takeFirst(entry);
  }

  /** The radio refused it: it stays first, until MAX_SEND_ATTEMPTS, then it is dropped. Returns true when dropped. */
  failed(next: NextDatagram): boolean {
    const entry = this.entries.find((e) => e.id === next.entryId);
    if (!entry || entry.datagrams[0] !== next.datagram) return false;
    entry.attempts += 1;
    if (entry.attempts < MAX_SEND_ATTEMPTS) return false;
    this.takeFirst(entry);
    return true;
  }

  /** Marks a waiting entry urgent: it goes before every entry that is not, with a higher hop limit. */
  markUrgent(id: number): boolean {
    const entry = this.entries.find((e) => e.id === id);
    if (!entry) return false;
    entry.urgent = true;
    return true;
  }

  /** Waiting entries in sending order. */
  view(): QueueEntryView[] {
    return this.ordered().map((e) => ({
      id: e.id,
      class: e.lane === 'control' ? 'catchUp' : e.lane,
      label: e.label,
      bytes: e.datagrams.reduce((n, d) => n + d.payload.length, 0),
      datagrams: e.datagrams.length,
      urgent: e.urgent,
    }));
  }

  /** Datagrams waiting per class (reconciliation control counts as catch-up). */
  counts(): Record<RadioClass, number> {
    const out = Object.fromEntries(RADIO_CLASSES.map((c) => [c, 0])) as Record<RadioClass, number>;
    for (const e of this.entries) out[e.lane === 'control' ? 'catchUp' : e.lane] += e.datagrams.length;
    return out;
  }

  get queuedBytes(): number {
    return this.bytes;
  }

  get size(): number {
    return this.entries.length;
  }

  private count(lane: QueueLane): number {
    return this.entries.filter((e) => e.lane === lane).length;
  }

  private makeRoom(lane: QueueLane, size: number, own: boolean): boolean {
    if (size > this.limits.totalBytes) return false;
    if (this.count(lane) >= this.limits.entries[lane]) {
      // A full catch-up or control lane sheds its oldest; a full own lane refuses.
      if (lane !== 'catchUp' && lane !== 'control') return false;
      this.remove(this.entries.find((e) => e.lane === lane)!);
    }
    while (this.bytes + size > this.limits.totalBytes) {
      // Catch-up goes first: the next reconciliation brings it again.
      const victim = own || lane !== 'catchUp' ? this.entries.find((e) => e.lane === 'catchUp') : undefined;
      if (!victim) return false;
      this.remove(victim);
    }
    return true;
  }

  private first(): Entry | undefined {
    let best: Entry | undefined;
    for (const e of this.entries) if (!best || rank(e) < rank(best) || (rank(e) === rank(best) && e.seq < best.seq)) best = e;
    return best;
  }

  private ordered(): Entry[] {
    return [...this.entries].sort((a, b) => rank(a) - rank(b) || a.seq - b.seq);
  }

  private takeFirst(entry: Entry): void {
    const d = entry.datagrams.shift()!;
    this.waiting.delete(keyOf(d));
    this.bytes -= d.payload.length;
    entry.attempts = 0;
    if (entry.datagrams.length === 0) this.entries.splice(this.entries.indexOf(entry), 1);
  }

  private remove(entry: Entry): void {
    this.entries.splice(this.entries.indexOf(entry), 1);
    for (const d of entry.datagrams) {
      this.waiting.delete(keyOf(d));
      this.bytes -= d.payload.length;
    }
  }
}

function rank(e: Entry): number {
  return (e.urgent ? 0 : LANE_ORDER.length) + LANE_ORDER.indexOf(e.lane);
}

function keyOf(d: QueuedDatagram): string {
  return `${d.to}:${toHex(d.payload)}`;
}
