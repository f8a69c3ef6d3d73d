import { sha256 } from '@noble/hashes/sha2.js';
import type { Clock } from '../clock';
import type { Datagram, DatagramLink } from '../link/datagramLink';
import { toHex } from '../wire/hex';
import { AirtimeScheduler } from './airtimeScheduler';
import { MODEM_PRESETS, presetByNumber, REGION_NAMES, type ModemPreset, type ModemPresetName } from './loraAirtime';
import { decodeEnvelope, encodeEnvelope, MAX_DIFFERENCE_IDS, MAX_SET_SIZE, MAX_SYMBOL_INDEX, type RadioEnvelope } from './radioEnvelope';
import { FragmentAssembler, SentFragments } from './radioFragments';
import { RadioQueue, RadioQueueFullError, type QueueEntryView, type QueueLane } from './radioQueue';
import type { RadioItem, RadioTakeOutcome, RadioUpdate, RadioVaultSource } from './radioVaultSource';
import type { RadioBudget } from './radioView';
import { DEFAULT_MAX_SYMBOLS, itemId, SymbolDecoder, SymbolEncoder, SYMBOLS_PER_PACKET } from './reconcile';

/**
 * The radio sync engine (protocol §10): between the node (a RadioVaultSource) and one radio at a
 * time (a DatagramLink). It queues the node's own updates and the catch-ups reconciliation finds,
 * sends them within the airtime the region allows, takes what it hears through the node's checks,
 * and reconciles with neighbours it meets. It lives as long as the node: a radio may be attached,
 * detached and attached again without losing anything queued.
 */

export interface RadioSyncLimits {
  /** source.take* calls awaited at once, and datagrams waiting for one (in all, and per claimed sender). */
  takesInFlight: number;
  inbox: number;
  inboxPerSender: number;
  /** source.radioCatchUp calls awaited at once, and catch-ups waiting for one. */
  catchUpsInFlight: number;
  catchUpsWaiting: number;
  /** Payload hashes remembered to drop duplicates. */
  seen: number;
  /** Refusals a claimed sender may cause per window before it is ignored for `ignoreMs`. */
  refusalBudget: number;
  refusalWindowMs: number;
  ignoreMs: number;
  /** Refusals shown in the status, newest first. */
  refusalsShown: number;
  /** Requests (more, missing) a claimed sender may make per window. */
  requestBudget: number;
  /** Senders whose budgets are tracked (the oldest forgotten first). */
  senders: number;
  /** A node not heard for this long is new again when heard. */
  neighbourForgetMs: number;
  /** Reconciliation rounds while something may differ, jittered ±25%. */
  reconcileEveryMs: number;
  /** Least time between two summaries this node starts. */
  summaryGapMs: number;
  /** Most delay (random) before a summary for a newly heard neighbour. */
  newNeighbourDelayMs: number;
  /** Sessions this node decodes: per claimed sender and in all; each expires. */
  sessionsPerSender: number;
  sessions: number;
  sessionMs: number;
  /** A `more` unanswered this long is asked again, at most `moreAttempts` times. */
  moreRetryMs: number;
  moreAttempts: number;
  /** Own summary sessions kept to answer `more`, and the most symbols served in one. */
  servedSessions: number;
  maxSymbols: number;
  /** Counters searched on each side of an item's own for the other side's stale counterpart. */
  counterpartSearch: number;
  /** A send the radio does not settle in this long counts as timed out. */
  sendTimeoutMs: number;
  /**
   * Airtime per rolling hour for what others ask of this node (catch-ups, summaries, fragments
   * sent again, differences): this share of what the region allows, or of `replyAirtimeMs` where
   * it sets no limit. Whoever asks, and under whatever number, cannot spend more.
   */
  replyShare: number;
  replyAirtimeMs: number;
  /** Symbols one served summary session gives out in all, whoever asks for more. */
  servedSymbolsPerSession: number;
}

export const RADIO_SYNC_LIMITS: RadioSyncLimits = {
  takesInFlight: 4,
  inbox: 64,
  inboxPerSender: 16,
  catchUpsInFlight: 2,
  catchUpsWaiting: 128,
  seen: 4096,
  refusalBudget: 8,
  refusalWindowMs: 10 * 60_000,
  ignoreMs: 10 * 60_000,
  refusalsShown: 32,
  requestBudget: 60,
  senders: 256,
  neighbourForgetMs: 15 * 60_000,
  reconcileEveryMs: 5 * 60_000,
  summaryGapMs: 60_000,
  newNeighbourDelayMs: 10_000,
  sessionsPerSender: 2,
  sessions: 16,
  sessionMs: 10 * 60_000,
  moreRetryMs: 60_000,
  moreAttempts: 3,
  servedSessions: 4,
  maxSymbols: DEFAULT_MAX_SYMBOLS,
  counterpartSearch: 64,
  sendTimeoutMs: 60_000,
  replyShare: 0.5,
  replyAirtimeMs: 180_000,
  servedSymbolsPerSession: 16 * SYMBOLS_PER_PACKET,
};

export interface RadioSyncOptions {
  source: RadioVaultSource;
  clock: Clock;
  random?: () => number;
  /** Meshtastic region code (or name); 0 (unset) until the radio says. */
  region?: number | string;
  preset?: ModemPreset | ModemPresetName | number | string;
  limits?: Partial<RadioSyncLimits>;
}

export interface RadioSettings {
  region?: number | string | null;
  preset?: ModemPreset | ModemPresetName | number | string | null;
  channelUtilization?: number | null;
}

export interface RadioSyncStatus {
  budget: RadioBudget;
  paused: boolean;
  attached: boolean;
  sent: number;
  received: number;
  taken: number;
  duplicates: number;
  refusals: { at: number; reason: string }[];
}

export interface RadioQueueView extends QueueEntryView {}

/** How the engine names a node number to the source and in refusals (Meshtastic's !xxxxxxxx). */
export function nodeName(nodeNum: number): string {
  return `!${(nodeNum >>> 0).toString(16).padStart(8, '0')}`;
}

interface SenderBudget {
  windowStart: number;
  refusals: number;
  requests: number;
  ignoredUntil: number;
}

/** A summary this node started: the encoder over a snapshot of its items. */
interface ServedSession {
  session: number;
  encoder: SymbolEncoder;
  items: Map<string, RadioItem>;
  at: number;
  /** `more` answered so far. */
  answered: number;
}

/** A summary heard from another node, being decoded. */
interface DecodingSession {
  from: number;
  session: number;
  decoder: SymbolDecoder;
  items: Map<string, RadioItem>;
  next: number;
  attempts: number;
  at: number;
  cancelRetry: () => void;
}

interface InboxEntry {
  kind: 'compact' | 'bundle';
  bytes: Uint8Array;
  from: number;
}

export class RadioSync {
  private readonly source: RadioVaultSource;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly limits: RadioSyncLimits;
  private readonly queue = new RadioQueue();
  private readonly scheduler: AirtimeScheduler;
  private readonly assembler: FragmentAssembler;
  private readonly sentFragments: SentFragments;
  private readonly unsubscribe: () => void;

  private link: DatagramLink | null = null;
  private paused = false;
  private closed = false;
  private inFlight = false;
  private cancelPump: (() => void) | undefined;
  private waiting: { why: string; at: number } | null = null;

  private counts = { sent: 0, received: 0, taken: 0, duplicates: 0 };
  private readonly refusals: { at: number; reason: string }[] = [];
  private readonly senders = new Map<number, SenderBudget>();
  private readonly seen = new Set<string>();
  private readonly seenOrder: string[] = [];
  private readonly neighbours = new Map<number, number>();
  /** Neighbours a reconciliation found in step with this node's set (its fingerprint then). */
  private readonly inStep = new Map<number, string>();

  private readonly inbox: InboxEntry[] = [];
  private takesInFlight = 0;
  private readonly catchUps: { item: RadioItem; from: number }[] = [];
  private catchUpsInFlight = 0;

  private readonly served: ServedSession[] = [];
  private nextSession: number;
  private readonly decoding = new Map<string, DecodingSession>();
  private lastSummaryAt = Number.NEGATIVE_INFINITY;
  private summaryEntry: number | null = null;
  private cancelSummary: (() => void) | undefined;
  private cancelRound: (() => void) | undefined;
  private abandonInFlight: (() => void) | undefined;
  /** Airtime spent answering others in the last hour (time, ms), oldest first. */
  private replies: { at: number; airtime: number }[] = [];
  /** Catch-ups queued lately (stream, counter, from → when), bounded: a second session's finding is not sent twice. */
  private readonly caughtUp = new Map<string, number>();

  constructor(options: RadioSyncOptions) {
    this.source = options.source;
    this.clock = options.clock;
    this.random = options.random ?? Math.random;
    this.limits = { ...RADIO_SYNC_LIMITS, ...options.limits };
    this.scheduler = new AirtimeScheduler(this.clock, this.random, {
      region: regionNumber(options.region) ?? 0,
      preset: presetOf(options.preset) ?? MODEM_PRESETS.LONG_FAST,
    });
    this.assembler = new FragmentAssembler(this.clock, (to, missing) => this.enqueue('control', 'fragments asked again', [missing], to, false));
    this.sentFragments = new SentFragments(this.clock, this.random);
    this.nextSession = Math.floor(this.random() * 256);
    this.unsubscribe = this.source.onOwnUpdate((update) => this.queueUpdate(update, true));
    this.armRound();
  }

  // ---- the merchant's and the host's side ----

  /** Takes a radio: what is queued starts to go. Any radio attached before is let go (not closed). */
  attach(link: DatagramLink): void {
    if (this.closed) throw new Error('the radio sync engine is closed');
    this.detach();
    this.link = link;
    // A radio (re)connected may have missed what others sent meanwhile: reconcile soon.
    this.summarySoon(this.random() * this.limits.newNeighbourDelayMs);
    link.start({
      receive: (datagram) => {
        if (this.link === link) this.receive(datagram);
      },
      closed: () => {
        if (this.link === link) this.detach();
      },
    });
    this.pump();
  }

  /** Lets the radio go; everything queued stays. */
  detach(): void {
    this.link = null;
    // A datagram handed to the radio that went away is not waited for: it stays first in the
    // queue and goes on the next radio (a copy that did get out is dropped as a duplicate).
    this.abandonInFlight?.();
    this.abandonInFlight = undefined;
    this.cancelPump?.();
    this.cancelPump = undefined;
  }

  setRadio(settings: RadioSettings): void {
    const region = regionNumber(settings.region ?? undefined);
    const preset = presetOf(settings.preset ?? undefined);
    this.scheduler.configure({
      ...(region !== undefined ? { region } : {}),
      ...(preset ? { preset } : {}),
      ...(settings.channelUtilization !== undefined ? { channelUtilization: settings.channelUtilization } : {}),
    });
    this.pump();
  }

  /** Paused: nothing is sent; receiving goes on. */
  pause(paused: boolean): void {
    this.paused = paused;
    if (paused) {
      this.cancelPump?.();
      this.cancelPump = undefined;
    }
    this.pump();
  }

  status(): RadioSyncStatus {
    const queued = this.queue.counts();
    const anything = this.queue.size > 0;
    let waiting: string | null = null;
    let nextSendAt: number | null = null;
    if (anything) {
      if (this.paused) waiting = 'radio sync is paused';
      else if (!this.link) waiting = 'the radio is unplugged';
      else if (this.waiting) ({ why: waiting, at: nextSendAt } = this.waiting);
    }
    const allowed = this.scheduler.allowedMs();
    return {
      budget: {
        usedMs: this.scheduler.usedMs(),
        allowedMs: allowed,
        dutyCyclePercent: this.scheduler.dutyCyclePercent(),
        channelUtilization: this.scheduler.channelUtilization,
        queued,
        queuedBytes: this.queue.queuedBytes,
        waiting,
        nextSendAt,
      },
      paused: this.paused,
      attached: this.link !== null,
      ...this.counts,
      refusals: this.refusals.map((r) => ({ ...r })),
    };
  }

  queueView(): RadioQueueView[] {
    return this.queue.view();
  }

  /** Marks a waiting entry urgent (it goes first, with hop limit 7). False when it is no longer waiting. */
  markUrgent(id: number | string): boolean {
    const done = this.queue.markUrgent(Number(id));
    this.pump();
    return done;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.detach();
    this.assembler.close();
    this.cancelSummary?.();
    this.cancelRound?.();
    for (const s of this.decoding.values()) s.cancelRetry();
    this.decoding.clear();
  }

  // ---- sending ----

  /** Queues an update (own or a catch-up). An own update that finds no room is recorded, not dropped silently. */
  private queueUpdate(update: RadioUpdate, own: boolean): void {
    if (this.closed) return;
    const lane: QueueLane = own ? update.cls : 'catchUp';
    const envelopes: RadioEnvelope[] =
      update.kind === 'compact' ? [{ kind: 'update', cls: update.cls, urgent: false, update: update.bytes }] : this.sentFragments.cut(update.bytes);
    // Never replaced by a newer one of the same stream: each compact update is built on the one
    // before (its deps are elided), so a receiver needs them all; one that arrives early is parked
    // by the node until its predecessor does.
    this.enqueue(lane, update.label, envelopes, 'broadcast', own);
  }

  private enqueue(lane: QueueLane, label: string, envelopes: RadioEnvelope[], to: number | 'broadcast', own: boolean): number | null {
    let id: number | null = null;
    try {
      id = this.queue.add({ lane, label, own, datagrams: envelopes.map((e) => ({ payload: encodeEnvelope(e), to })) });
    } catch (error) {
      if (!(error instanceof RadioQueueFullError)) throw error;
      this.note(error.message);
    }
    this.pump();
    return id;
  }

  private pump(): void {
    if (this.closed || this.paused || !this.link || this.inFlight) return;
    this.cancelPump?.();
    this.cancelPump = undefined;
    const next = this.queue.peek();
    if (!next) {
      this.waiting = null;
      return;
    }
    const now = this.clock.now();
    if (next.lane === 'control' || next.lane === 'catchUp') {
      const until = this.replyRoomAt(this.scheduler.airtimeOf(next.datagram.payload.length));
      if (until > now) {
        this.waiting = { why: 'answers to other radios have used their share of this hour’s airtime', at: until };
        this.cancelPump = this.clock.setTimer(() => this.pump(), until - now);
        return;
      }
    }
    // The merchant's own updates do not yield to a busy channel; answers to others do.
    const yieldToBusy = next.lane === 'control' || next.lane === 'catchUp';
    const slot = this.scheduler.slotFor(next.datagram.payload.length, { yieldToBusy });
    if (slot.at > now) {
      this.waiting = { why: slot.waiting ?? 'waiting', at: slot.at };
      if (Number.isFinite(slot.at)) this.cancelPump = this.clock.setTimer(() => this.pump(), slot.at - now);
      return;
    }
    this.waiting = null;
    this.scheduler.record(next.datagram.payload.length, { yieldToBusy });
    if (next.lane === 'control' || next.lane === 'catchUp') this.replies.push({ at: now, airtime: this.scheduler.airtimeOf(next.datagram.payload.length) });
    this.inFlight = true;
    const link = this.link;
    let settled = false;
    const finish = (ok: boolean) => {
      if (settled) return;
      settled = true;
      cancelTimeout();
      this.inFlight = false;
      if (ok) {
        this.queue.sent(next);
        this.counts.sent += 1;
        this.scheduler.sendSucceeded();
        this.remember(next.datagram.payload);
      } else if (this.link === link) {
        this.scheduler.sendFailed();
        this.queue.failed(next);
      }
      this.pump();
    };
    const cancelTimeout = this.clock.setTimer(() => finish(false), this.limits.sendTimeoutMs);
    this.abandonInFlight = () => {
      if (settled) return;
      settled = true;
      cancelTimeout();
      this.inFlight = false;
    };
    link.send(next.datagram.payload, next.datagram.to, { hopLimit: next.hopLimit }).then(
      () => finish(true),
      () => finish(false),
    );
  }

  /** When `airtime` more of answers to others fits this hour's reply share (now, or when enough rolls out). */
  private replyRoomAt(airtime: number): number {
    const now = this.clock.now();
    const hour = 3_600_000;
    this.replies = this.replies.filter((r) => r.at > now - hour);
    const allowed = this.scheduler.allowedMs();
    const share = (allowed ?? this.limits.replyAirtimeMs) * this.limits.replyShare;
    let used = this.replies.reduce((sum, r) => sum + r.airtime, 0);
    if (used + airtime <= share) return now;
    for (const r of this.replies) {
      used -= r.airtime;
      if (used + airtime <= share) return r.at + hour;
    }
    return now + hour;
  }

  // ---- receiving ----

  private receive(datagram: Datagram): void {
    if (this.closed) return;
    this.counts.received += 1;
    const from = datagram.from;
    const address = this.link?.address ?? null;
    if (datagram.to !== 'broadcast' && address !== null && datagram.to !== address) return;
    const budget = this.budgetOf(from);
    // The sender's number is not authenticated, so an ignored number only loses what costs this
    // node work or airtime on its word (requests); signed updates and fragments are still judged.
    const ignored = budget.ignoredUntil > this.clock.now();
    const decoded = decodeEnvelope(datagram.payload);
    if (ignored && ('refused' in decoded || (decoded.envelope.kind !== 'update' && decoded.envelope.kind !== 'fragment'))) return;
    if ('refused' in decoded) return this.refuse(from, decoded.refused);
    const envelope = decoded.envelope;
    const heardBefore = this.hear(from);
    if (!heardBefore && envelope.kind !== 'summary') this.summarySoon(this.random() * this.limits.newNeighbourDelayMs);
    if (envelope.kind === 'update' || envelope.kind === 'fragment' || envelope.kind === 'summary') {
      if (!this.remember(datagram.payload)) {
        this.counts.duplicates += 1;
        return;
      }
    }
    switch (envelope.kind) {
      case 'update':
        return this.take({ kind: 'compact', bytes: envelope.update, from });
      case 'fragment': {
        const outcome = this.assembler.add(from, envelope);
        if ('complete' in outcome) this.take({ kind: 'bundle', bytes: outcome.complete, from });
        else if ('refused' in outcome && outcome.offence) this.refuse(from, outcome.refused);
        return;
      }
      case 'missing':
        if (this.request(from)) {
          const again = this.sentFragments.answer(envelope);
          if (again.length) this.enqueue('control', 'fragments sent again', again, 'broadcast', false);
        }
        return;
      case 'summary':
        return this.decodeSummary(from, envelope);
      case 'more':
        if (this.request(from)) this.answerMore(from, envelope);
        return;
      case 'difference':
        return this.takeDifference(from, envelope);
    }
  }

  /** Whether `from` was heard in the last neighbourForgetMs (and notes it heard now). */
  private hear(from: number): boolean {
    const now = this.clock.now();
    const last = this.neighbours.get(from);
    this.neighbours.delete(from);
    this.neighbours.set(from, now);
    if (this.neighbours.size > this.limits.senders) this.neighbours.delete(this.neighbours.keys().next().value!);
    return last !== undefined && now - last < this.limits.neighbourForgetMs;
  }

  /** Notes a payload; false when it was seen before. */
  private remember(payload: Uint8Array): boolean {
    const key = toHex(sha256(payload).subarray(0, 12));
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    this.seenOrder.push(key);
    if (this.seenOrder.length > this.limits.seen) this.seen.delete(this.seenOrder.shift()!);
    return true;
  }

  private take(entry: InboxEntry): void {
    const fromSender = this.inbox.filter((e) => e.from === entry.from).length;
    if (this.inbox.length >= this.limits.inbox || fromSender >= this.limits.inboxPerSender) return; // reconciliation brings it again
    this.inbox.push(entry);
    this.drainInbox();
  }

  private drainInbox(): void {
    while (!this.closed && this.takesInFlight < this.limits.takesInFlight && this.inbox.length) {
      const entry = this.inbox.shift()!;
      this.takesInFlight += 1;
      const name = nodeName(entry.from);
      const taking = entry.kind === 'compact' ? this.source.takeCompact(entry.bytes, name) : this.source.takeBundle(entry.bytes, name);
      void Promise.resolve(taking)
        .then(
          (outcome) => this.took(entry.from, outcome),
          (error: unknown) => this.note(`${name}: the node could not take an update: ${error instanceof Error ? error.message : String(error)}`),
        )
        .finally(() => {
          this.takesInFlight -= 1;
          this.drainInbox();
        });
    }
  }

  private took(from: number, outcome: RadioTakeOutcome): void {
    if (this.closed) return;
    if (outcome.taken) {
      this.counts.taken += 1;
      return;
    }
    if (outcome.offence) return this.refuse(from, outcome.reason);
    if (outcome.behind) {
      this.inStep.delete(from);
      this.summarySoon(this.random() * this.limits.newNeighbourDelayMs);
    }
  }

  private budgetOf(from: number): SenderBudget {
    const now = this.clock.now();
    let budget = this.senders.get(from);
    if (!budget || now - budget.windowStart >= this.limits.refusalWindowMs) {
      budget = { windowStart: now, refusals: 0, requests: 0, ignoredUntil: budget?.ignoredUntil ?? 0 };
      this.senders.delete(from);
      this.senders.set(from, budget);
      if (this.senders.size > this.limits.senders) this.senders.delete(this.senders.keys().next().value!);
    }
    return budget;
  }

  /** A refusal: shown, and counted against the claimed sender (over budget: ignored for a while). */
  private refuse(from: number, reason: string): void {
    this.note(`${nodeName(from)}: ${reason}`);
    const budget = this.budgetOf(from);
    budget.refusals += 1;
    if (budget.refusals > this.limits.refusalBudget) budget.ignoredUntil = this.clock.now() + this.limits.ignoreMs;
  }

  private note(reason: string): void {
    this.refusals.unshift({ at: this.clock.now(), reason });
    if (this.refusals.length > this.limits.refusalsShown) this.refusals.pop();
  }

  /** Counts a request (more, missing) against its sender; false when over budget. */
  private request(from: number): boolean {
    const budget = this.budgetOf(from);
    budget.requests += 1;
    return budget.requests <= this.limits.requestBudget;
  }

  // ---- reconciliation ----

  private fingerprint(items: RadioItem[]): string {
    const ids = items.map((i) => toHex(itemId(i.vaultId, i.deviceKey, i.counter))).sort();
    return toHex(sha256(new TextEncoder().encode(ids.join(''))).subarray(0, 12));
  }

  private armRound(): void {
    const every = this.limits.reconcileEveryMs * (0.75 + this.random() * 0.5);
    this.cancelRound = this.clock.setTimer(() => {
      this.round();
      this.armRound();
    }, every);
  }

  /** A periodic round: a summary while some neighbour heard lately may differ. */
  private round(): void {
    const now = this.clock.now();
    for (const [key, s] of this.decoding) if (now - s.at > this.limits.sessionMs) this.endDecoding(key);
    const recent = [...this.neighbours].filter(([, at]) => now - at < this.limits.neighbourForgetMs).map(([n]) => n);
    if (recent.length === 0) return;
    const mine = this.fingerprint(this.source.radioItems());
    if (recent.some((n) => this.inStep.get(n) !== mine)) this.summarySoon(0);
  }

  private summarySoon(delayMs: number): void {
    if (this.closed || this.cancelSummary) return;
    const at = Math.max(this.clock.now() + delayMs, this.lastSummaryAt + this.limits.summaryGapMs);
    this.cancelSummary = this.clock.setTimer(() => {
      this.cancelSummary = undefined;
      this.startSummary();
    }, at - this.clock.now());
  }

  private startSummary(): void {
    if (this.closed) return;
    if (this.summaryEntry !== null && this.queue.view().some((e) => e.id === this.summaryEntry)) return; // the last one still waits
    const items = this.source.radioItems();
    const byId = new Map<string, RadioItem>();
    const ids = items.map((item) => {
      const id = itemId(item.vaultId, item.deviceKey, item.counter);
      byId.set(toHex(id), item);
      return id;
    });
    const encoder = new SymbolEncoder(ids);
    const session = this.nextSession;
    this.nextSession = (this.nextSession + 1) & 0xff;
    this.served.push({ session, encoder, items: byId, at: this.clock.now(), answered: 0 });
    while (this.served.length > this.limits.servedSessions) this.served.shift();
    this.lastSummaryAt = this.clock.now();
    this.summaryEntry = this.enqueue(
      'control',
      'reconciliation summary',
      [{ kind: 'summary', session, setSize: Math.min(encoder.size, MAX_SET_SIZE), first: 0, symbols: encoder.symbols(0, SYMBOLS_PER_PACKET) }],
      'broadcast',
      false,
    );
  }

  private answerMore(from: number, more: Extract<RadioEnvelope, { kind: 'more' }>): void {
    const served = this.served.find((s) => s.session === more.session && this.clock.now() - s.at <= this.limits.sessionMs);
    if (!served || more.next + SYMBOLS_PER_PACKET > Math.min(this.limits.maxSymbols, MAX_SYMBOL_INDEX + 1)) return;
    // At most servedSymbolsPerSession symbols' worth of answers per session (and a few repeats for
    // answers lost on the way), whoever asks: `more` cannot buy airtime beyond that.
    if (served.answered * SYMBOLS_PER_PACKET >= this.limits.servedSymbolsPerSession + 4 * SYMBOLS_PER_PACKET) return;
    served.answered += 1;
    const symbols = served.encoder.symbols(more.next, SYMBOLS_PER_PACKET);
    this.enqueue('control', 'reconciliation symbols', [{ kind: 'summary', session: more.session, setSize: Math.min(served.encoder.size, MAX_SET_SIZE), first: more.next, symbols }], from, false);
  }

  private decodeSummary(from: number, summary: Extract<RadioEnvelope, { kind: 'summary' }>): void {
    const key = `${from}:${summary.session}`;
    let session = this.decoding.get(key);
    if (!session) {
      if (summary.first !== 0) return;
      const perSender = [...this.decoding.values()].filter((s) => s.from === from).length;
      if (perSender >= this.limits.sessionsPerSender) return;
      // Full: the session that has waited longest makes room (invented senders cannot hold every slot).
      if (this.decoding.size >= this.limits.sessions) {
        const oldest = [...this.decoding].sort((a, b) => a[1].at - b[1].at)[0]!;
        this.endDecoding(oldest[0]);
      }
      const items = new Map<string, RadioItem>();
      const ids = this.source.radioItems().map((item) => {
        const id = itemId(item.vaultId, item.deviceKey, item.counter);
        items.set(toHex(id), item);
        return id;
      });
      session = { from, session: summary.session, decoder: new SymbolDecoder(ids, { maxSymbols: this.limits.maxSymbols }), items, next: 0, attempts: 0, at: this.clock.now(), cancelRetry: () => {} };
      this.decoding.set(key, session);
    }
    if (summary.first !== session.next) return; // a late or repeated answer
    const result = session.decoder.add(summary.symbols, summary.first, summary.setSize);
    session.at = this.clock.now();
    if ('error' in result) {
      this.endDecoding(key);
      return this.refuse(from, `reconciliation failed: ${result.error}`);
    }
    if (!result.done) {
      session.next = result.next;
      session.attempts = 0;
      this.askMore(key);
      return;
    }
    this.endDecoding(key);
    // remoteOnly: the summary's sender holds them and this node lacks them; localOnly: the other way round.
    const lacking = result.remoteOnly;
    const holding = result.localOnly;
    this.catchUpFor(from, session.items, holding, lacking);
    if (lacking.length === 0 && holding.length === 0) this.inStep.set(from, this.fingerprint(this.source.radioItems()));
    const envelopes: RadioEnvelope[] = [];
    let l = 0;
    let h = 0;
    do {
      const takeL = Math.min(lacking.length - l, MAX_DIFFERENCE_IDS);
      const takeH = Math.min(holding.length - h, MAX_DIFFERENCE_IDS - takeL);
      envelopes.push({ kind: 'difference', session: summary.session, lacking: lacking.slice(l, l + takeL), holding: holding.slice(h, h + takeH) });
      l += takeL;
      h += takeH;
    } while (l < lacking.length || h < holding.length);
    this.enqueue('control', 'reconciliation difference', envelopes, from, false);
  }

  private askMore(key: string): void {
    const session = this.decoding.get(key);
    if (!session) return;
    session.cancelRetry();
    if (session.attempts >= this.limits.moreAttempts) return this.endDecoding(key);
    session.attempts += 1;
    this.enqueue('control', 'reconciliation: more symbols', [{ kind: 'more', session: session.session, next: session.next }], session.from, false);
    session.cancelRetry = this.clock.setTimer(() => this.askMore(key), this.limits.moreRetryMs * 2 ** (session.attempts - 1));
  }

  private endDecoding(key: string): void {
    this.decoding.get(key)?.cancelRetry();
    this.decoding.delete(key);
  }

  private takeDifference(from: number, difference: Extract<RadioEnvelope, { kind: 'difference' }>): void {
    const served = this.served.find((s) => s.session === difference.session && this.clock.now() - s.at <= this.limits.sessionMs);
    if (!served) return;
    // The replier lacks `lacking` (this node's) and holds `holding` (which this node lacks).
    this.catchUpFor(from, served.items, difference.lacking, difference.holding);
    if (difference.lacking.length === 0 && difference.holding.length === 0) this.inStep.set(from, this.fingerprint(this.source.radioItems()));
    else this.inStep.delete(from);
  }

  /**
   * For each of this node's items among `mineOnly`, finds the other side's stale counterpart among
   * `theirsOnly` (the same stream at a lower counter) and queues the catch-up from there (from 0
   * when the other side has none); an item the other side holds newer is left to the other side.
   */
  private catchUpFor(from: number, items: Map<string, RadioItem>, mineOnly: Uint8Array[], theirsOnly: Uint8Array[]): void {
    const theirs = new Set(theirsOnly.map(toHex));
    for (const id of mineOnly) {
      const item = items.get(toHex(id));
      if (!item) continue;
      let fromCounter = 0;
      let ahead = false;
      for (let d = 1; d <= this.limits.counterpartSearch; d++) {
        if (item.counter - d >= 1 && theirs.has(toHex(itemId(item.vaultId, item.deviceKey, item.counter - d)))) {
          fromCounter = item.counter - d;
          break;
        }
        if (theirs.has(toHex(itemId(item.vaultId, item.deviceKey, item.counter + d)))) {
          ahead = true;
          break;
        }
      }
      if (ahead) continue;
      if (this.catchUps.length >= this.limits.catchUpsWaiting) break;
      // Both sides of a meeting may decode each other's summary: a catch-up already queued lately
      // for the same stream from the same counter is not queued again (one copy on air serves all).
      // Keyed by what is sent, not by what the asker claims to hold: naming other old counters
      // cannot buy the same stream's catch-up again and again.
      const key = `${streamOf(item)}:${item.counter}`;
      const now = this.clock.now();
      const lately = this.caughtUp.get(key);
      // A whole vault (the other side holds nothing of the stream) goes at most once an hour.
      if (lately !== undefined && now - lately < (fromCounter === 0 ? 3_600_000 : this.limits.sessionMs)) continue;
      this.caughtUp.delete(key);
      this.caughtUp.set(key, now);
      while (this.caughtUp.size > this.limits.catchUpsWaiting * 4) this.caughtUp.delete(this.caughtUp.keys().next().value!);
      this.catchUps.push({ item, from: fromCounter });
    }
    this.drainCatchUps();
  }

  private drainCatchUps(): void {
    while (!this.closed && this.catchUpsInFlight < this.limits.catchUpsInFlight && this.catchUps.length) {
      const { item, from } = this.catchUps.shift()!;
      this.catchUpsInFlight += 1;
      void Promise.resolve()
        .then(() => this.source.radioCatchUp(item, from))
        .then(
          (updates) => {
            for (const update of updates) this.queueUpdate(update, false);
          },
          (error: unknown) => this.note(`a catch-up could not be read: ${error instanceof Error ? error.message : String(error)}`),
        )
        .finally(() => {
          this.catchUpsInFlight -= 1;
          this.drainCatchUps();
        });
    }
  }
}

function streamOf(item: RadioItem): string {
  return `${toHex(item.vaultId)}:${toHex(item.deviceKey)}`;
}

function regionNumber(region: number | string | undefined): number | undefined {
  if (typeof region === 'number') return Number.isInteger(region) ? region : undefined;
  if (typeof region !== 'string') return undefined;
  const found = Object.entries(REGION_NAMES).find(([, name]) => name === region);
  return found ? Number(found[0]) : undefined;
}

function presetOf(preset: ModemPreset | ModemPresetName | number | string | undefined): ModemPreset | undefined {
  if (preset === undefined) return undefined;
  if (typeof preset === 'object') return preset;
  if (typeof preset === 'number') return presetByNumber(preset)?.preset;
  return (MODEM_PRESETS as Record<string, ModemPreset>)[preset];
}
