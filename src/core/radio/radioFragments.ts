import type { Clock } from '../clock';
import { bytesEqual } from '../wire/hex';
import { MAX_FRAGMENT_BYTES, MAX_FRAGMENTS, missingBitmap, type RadioEnvelope } from './radioEnvelope';
import { MAX_RADIO_BUNDLE_BYTES } from './radioVaultSource';

/**
 * A radio bundle (at most MAX_RADIO_BUNDLE_BYTES) cut into fragment envelopes, and put back
 * together on the other side under loss, duplication and reordering, with selective re-requests
 * of what is still missing (protocol §10.3).
 */

export type FragmentEnvelope = Extract<RadioEnvelope, { kind: 'fragment' }>;
export type MissingEnvelope = Extract<RadioEnvelope, { kind: 'missing' }>;

export class RadioFragmentError extends Error {
  override name = 'RadioFragmentError';
}

/** Cuts `bundle` into fragments of MAX_FRAGMENT_BYTES (the last one shorter). */
export function cutBundle(bundle: Uint8Array, messageId: number): FragmentEnvelope[] {
  if (bundle.length === 0) throw new RadioFragmentError('an empty bundle has nothing to send');
  if (bundle.length > MAX_RADIO_BUNDLE_BYTES) throw new RadioFragmentError(`a radio bundle is at most ${MAX_RADIO_BUNDLE_BYTES} bytes (got ${bundle.length})`);
  if (!Number.isInteger(messageId) || messageId < 0 || messageId > 0xffff) throw new RadioFragmentError('message id is a u16');
  const count = Math.ceil(bundle.length / MAX_FRAGMENT_BYTES);
  const out: FragmentEnvelope[] = [];
  for (let index = 0; index < count; index++) {
    out.push({ kind: 'fragment', messageId, index, count, bytes: bundle.subarray(index * MAX_FRAGMENT_BYTES, (index + 1) * MAX_FRAGMENT_BYTES) });
  }
  return out;
}

export interface FragmentLimits {
  /** Incomplete messages held per claimed sender. */
  perSender: number;
  /** Incomplete messages held in all. */
  total: number;
  /** Quiet time after the last fragment heard before the first re-request; doubles per request without progress. */
  quietMs: number;
  /** Re-requests in a row that bring nothing before the message is given up. */
  requestsWithoutProgress: number;
  /** Re-requests for one message in all. */
  requests: number;
  /** Completed messages remembered, so late copies of their fragments are recognised. */
  completedRemembered: number;
}

export const FRAGMENT_LIMITS: FragmentLimits = {
  perSender: 2,
  total: 8,
  quietMs: 60_000,
  requestsWithoutProgress: 4,
  requests: 12,
  completedRemembered: 64,
};

export type FragmentOutcome =
  | { complete: Uint8Array }
  | { pending: true }
  | { duplicate: true }
  /** The fragment (and the message it conflicts with, if any) is dropped; `offence` when a sender contradicted itself. */
  | { refused: string; offence: boolean };

interface Incomplete {
  from: number;
  messageId: number;
  count: number;
  parts: (Uint8Array | undefined)[];
  held: number;
  lastProgress: number;
  requests: number;
  requestsWithoutProgress: number;
  cancelTimer: () => void;
}

/**
 * Reassembly of fragmented messages from many senders. Memory is bounded per claimed sender and
 * in all (the oldest incomplete message goes first); a message that stalls is re-requested with
 * backoff a bounded number of times, then dropped.
 */
export class FragmentAssembler {
  private readonly incomplete = new Map<string, Incomplete>();
  private readonly completed: string[] = [];
  private readonly limits: FragmentLimits;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    /** Asks `to` (a unicast `missing` envelope) for the fragments still missing. */
    private readonly requestMissing: (to: number, missing: MissingEnvelope) => void,
    limits: Partial<FragmentLimits> = {},
  ) {
    this.limits = { ...FRAGMENT_LIMITS, ...limits };
  }

  /** Incomplete messages held: for tests and the status view. */
  get pendingCount(): number {
    return this.incomplete.size;
  }

  /** Bytes held in incomplete messages. */
  get heldBytes(): number {
    let bytes = 0;
    for (const m of this.incomplete.values()) for (const p of m.parts) bytes += p?.length ?? 0;
    return bytes;
  }

  add(from: number, fragment: FragmentEnvelope): FragmentOutcome {
    if (this.closed) return { refused: 'closed', offence: false };
    const key = `${from}:${fragment.messageId}`;
    if (this.completed.includes(key)) return { duplicate: true };
    if (fragment.count > MAX_FRAGMENTS || fragment.index >= fragment.count) return { refused: 'fragment index or count out of range', offence: true };
    let message = this.incomplete.get(key);
    // The sender's number is not authenticated: a conflicting fragment may be a third party's.
    // The first copy is kept and the newcomer dropped, nobody charged; the bundle's signatures decide.
    if (message && message.count !== fragment.count) return { refused: 'fragment count conflicts with an earlier fragment of the same message', offence: false };
    if (!message) {
      if (fragment.count === 1) return this.finish(key, [fragment.bytes]);
      this.makeRoom(from);
      message = {
        from,
        messageId: fragment.messageId,
        count: fragment.count,
        parts: new Array<Uint8Array | undefined>(fragment.count),
        held: 0,
        lastProgress: this.clock.now(),
        requests: 0,
        requestsWithoutProgress: 0,
        cancelTimer: () => {},
      };
      this.incomplete.set(key, message);
    }
    const held = message.parts[fragment.index];
    if (held) {
      if (bytesEqual(held, fragment.bytes)) return { duplicate: true };
      return { refused: 'fragment conflicts with one held for the same message and index', offence: false };
    }
    message.parts[fragment.index] = fragment.bytes.slice();
    message.held += 1;
    message.lastProgress = this.clock.now();
    message.requestsWithoutProgress = 0;
    if (message.held === message.count) return this.finish(key, message.parts as Uint8Array[]);
    // Once the last fragment is in, anything still missing was lost: ask soon. Otherwise wait for quiet.
    this.arm(key, message, fragment.index === message.count - 1 ? this.limits.quietMs / 4 : this.limits.quietMs);
    return { pending: true };
  }

  close(): void {
    this.closed = true;
    for (const key of [...this.incomplete.keys()]) this.drop(key);
  }

  private finish(key: string, parts: Uint8Array[]): FragmentOutcome {
    this.drop(key);
    this.completed.push(key);
    if (this.completed.length > this.limits.completedRemembered) this.completed.shift();
    const total = parts.reduce((n, p) => n + p.length, 0);
    if (total > MAX_RADIO_BUNDLE_BYTES) return { refused: 'reassembled message over the radio bundle limit', offence: true };
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return { complete: out };
  }

  private arm(key: string, message: Incomplete, delayMs: number): void {
    message.cancelTimer();
    message.cancelTimer = this.clock.setTimer(() => this.stalled(key), delayMs);
  }

  private stalled(key: string): void {
    const message = this.incomplete.get(key);
    if (!message) return;
    if (message.requests >= this.limits.requests || message.requestsWithoutProgress >= this.limits.requestsWithoutProgress) {
      this.drop(key);
      return;
    }
    message.requests += 1;
    message.requestsWithoutProgress += 1;
    const missing: number[] = [];
    for (let i = 0; i < message.count; i++) if (!message.parts[i]) missing.push(i);
    this.requestMissing(message.from, { kind: 'missing', messageId: message.messageId, count: message.count, bitmap: missingBitmap(missing, message.count) });
    this.arm(key, message, this.limits.quietMs * 2 ** message.requestsWithoutProgress);
  }

  private makeRoom(from: number): void {
    const mine = [...this.incomplete.entries()].filter(([, m]) => m.from === from);
    if (mine.length >= this.limits.perSender) this.drop(oldest(mine));
    if (this.incomplete.size >= this.limits.total) this.drop(oldest([...this.incomplete.entries()]));
  }

  private drop(key: string): void {
    const message = this.incomplete.get(key);
    if (!message) return;
    message.cancelTimer();
    this.incomplete.delete(key);
  }
}

function oldest(entries: [string, Incomplete][]): string {
  return entries.reduce((a, b) => (b[1].lastProgress < a[1].lastProgress ? b : a))[0];
}

export interface SentFragmentLimits {
  /** Fragmented messages kept to answer re-requests. */
  messages: number;
  /** How long after sending a message its fragments are kept. */
  keepMs: number;
}

export const SENT_FRAGMENT_LIMITS: SentFragmentLimits = { messages: 8, keepMs: 30 * 60_000 };

/** The sender's side: message ids, and the fragments of recent messages kept to answer `missing`. */
/** How many times one sent fragment is sent again on request, in all. */
export const MAX_RESENDS = 4;

export class SentFragments {
  private nextId: number;
  private readonly kept: { messageId: number; fragments: FragmentEnvelope[]; at: number; resent: Uint8Array }[] = [];
  private readonly limits: SentFragmentLimits;

  constructor(
    private readonly clock: Clock,
    random: () => number = Math.random,
    limits: Partial<SentFragmentLimits> = {},
  ) {
    this.nextId = Math.floor(random() * 0x10000) & 0xffff;
    this.limits = { ...SENT_FRAGMENT_LIMITS, ...limits };
  }

  /** Cuts `bundle` under a fresh message id and keeps the fragments for re-requests. */
  cut(bundle: Uint8Array): FragmentEnvelope[] {
    const messageId = this.nextId;
    this.nextId = (this.nextId + 1) & 0xffff;
    const fragments = cutBundle(bundle, messageId);
    this.kept.push({ messageId, fragments, at: this.clock.now(), resent: new Uint8Array(fragments.length) });
    while (this.kept.length > this.limits.messages) this.kept.shift();
    return fragments;
  }

  /** The fragments a `missing` envelope asks for; [] for a message no longer kept or a count that does not match. */
  answer(missing: MissingEnvelope): FragmentEnvelope[] {
    const now = this.clock.now();
    while (this.kept.length && now - this.kept[0]!.at > this.limits.keepMs) this.kept.shift();
    const message = this.kept.find((m) => m.messageId === missing.messageId);
    if (!message || message.fragments.length !== missing.count) return [];
    // Each fragment goes again at most MAX_RESENDS times, whoever asks: a request cannot buy more
    // airtime than the bundle cost once more, twice.
    return message.fragments.filter((f) => {
      if (!((missing.bitmap[f.index >> 3]! >> (f.index & 7)) & 1) || message.resent[f.index]! >= MAX_RESENDS) return false;
      message.resent[f.index]! += 1;
      return true;
    });
  }
}
