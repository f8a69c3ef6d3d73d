import type { Clock } from '../clock';
import { dutyCycleOf, MODEM_PRESETS, packetAirtimeMs, type ModemPreset } from './loraAirtime';

/**
 * When this node may transmit (protocol §10.5): the airtime of every datagram it hands to the
 * radio is counted in a rolling hour and never exceeds the region's duty cycle (a datagram that
 * would exceed it waits until enough of the hour has rolled off); datagrams go one after another,
 * never closer than their airtime; and the scheduler backs off, exponentially with jitter and
 * bounded, while the channel is busy or the radio refuses or times out a send.
 */

export const HOUR_MS = 3_600_000;
/** Channel utilisation (percent) above which this node holds back. The firmware itself stops at 40. */
export const BUSY_CHANNEL_PERCENT = 25;
/**
 * A utilisation reading counts this long: radios report it about once a minute, over the last
 * minute, so an old reading says nothing about now (a burst long over must not hold sending back).
 */
export const UTILIZATION_FRESH_MS = 90_000;
export const BACKOFF_BASE_MS = 2_000;
export const BACKOFF_MAX_MS = 5 * 60_000;
/** Meshtastic's client waits this long before each write to the device. */
export const MIN_SEND_GAP_MS = 200;

export interface AirtimeSettings {
  /** Meshtastic region code (REGION_DUTY_CYCLE); 0 (unset) has no duty cycle. */
  region: number;
  preset: ModemPreset;
  /** The device's channel utilisation, percent; null when unknown. */
  channelUtilization: number | null;
}

export interface SendSlot {
  /** Clock time when the datagram may go (now or later). */
  at: number;
  /** Why not now; null when it may go now. */
  waiting: string | null;
}

export class AirtimeScheduler {
  /** Datagrams sent in the last hour: time and airtime, oldest first. */
  private readonly sent: { at: number; airtimeMs: number }[] = [];
  private settings: AirtimeSettings;
  private failures = 0;
  private busyStreak = 0;
  /** After refused or timed-out sends: every datagram waits. */
  private backoffUntil = 0;
  private backoffReason: string | null = null;
  /** While the channel is busy: what may yield (answers to others) waits; the merchant's own updates do not. */
  private busyUntil = 0;
  private lastEnd = 0;
  private utilizationAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    private readonly random: () => number = Math.random,
    settings: Partial<AirtimeSettings> = {},
  ) {
    this.settings = { region: 0, preset: MODEM_PRESETS.LONG_FAST, channelUtilization: null, ...settings };
  }

  configure(settings: Partial<AirtimeSettings>): void {
    const reading = settings.channelUtilization;
    // The same reading passed on again (with other radio facts) is not a new one: it neither
    // restarts its freshness nor backs off once more.
    const fresh = reading !== undefined && reading !== this.settings.channelUtilization;
    this.settings = { ...this.settings, ...settings };
    if (fresh) {
      this.utilizationAt = this.clock.now();
      if (this.isBusy()) this.holdBack('the channel is busy');
      else {
        this.busyStreak = 0;
        // The channel cleared: a wait that was only for it ends now.
        this.busyUntil = Math.min(this.busyUntil, this.clock.now());
      }
    }
  }

  get region(): number {
    return this.settings.region;
  }

  get channelUtilization(): number | null {
    return this.settings.channelUtilization;
  }

  airtimeOf(payloadBytes: number): number {
    return packetAirtimeMs(payloadBytes, this.settings.preset);
  }

  dutyCyclePercent(): number {
    return dutyCycleOf(this.settings.region) * 100;
  }

  /** Airtime the region allows per hour, ms; null where it sets no limit. */
  allowedMs(): number | null {
    const share = dutyCycleOf(this.settings.region);
    return share >= 1 ? null : share * HOUR_MS;
  }

  /** Airtime used in the rolling hour, ms. */
  usedMs(): number {
    this.forget();
    return this.sent.reduce((sum, s) => sum + s.airtimeMs, 0);
  }

  /**
   * When a datagram of `payloadBytes` may go. While the channel stays busy past a backoff, the
   * next backoff is longer (bounded). `yieldToBusy: false` (the merchant's own updates): a busy
   * channel does not hold it back (the radio's firmware holds its own line at 40%); the duty cycle
   * and the backoff after refused sends still do.
   */
  slotFor(payloadBytes: number, options: { yieldToBusy?: boolean } = {}): SendSlot {
    const now = this.clock.now();
    const yieldToBusy = options.yieldToBusy ?? true;
    if (yieldToBusy && now >= this.busyUntil && this.isBusy()) this.holdBack('the channel is busy');
    const airtime = this.airtimeOf(payloadBytes);
    const allowed = this.allowedMs();
    if (allowed !== null && airtime > allowed) return { at: Number.POSITIVE_INFINITY, waiting: 'the datagram is longer than the whole hourly airtime allowance' };
    let at = now;
    let waiting: string | null = null;
    const later = (time: number, why: string): void => {
      if (time > at) {
        at = time;
        waiting = why;
      }
    };
    later(this.lastEnd, 'the previous datagram is still on air');
    later(this.backoffUntil, this.backoffReason ?? 'backing off');
    if (yieldToBusy) later(this.busyUntil, 'the channel is busy');
    later(this.dutyCycleFit(airtime, allowed), 'the hourly airtime allowance (duty cycle) is used up');
    return { at, waiting };
  }

  /**
   * Counts a datagram handed to the radio now. Refuses (throws) one that does not fit now: callers
   * send only when `slotFor` says so, and the hour is never exceeded.
   */
  record(payloadBytes: number, options: { yieldToBusy?: boolean } = {}): void {
    const slot = this.slotFor(payloadBytes, options);
    const now = this.clock.now();
    if (slot.at > now) throw new Error(`airtime scheduler: not before ${slot.at} (${slot.waiting})`);
    const airtimeMs = this.airtimeOf(payloadBytes);
    this.sent.push({ at: now, airtimeMs });
    this.lastEnd = now + Math.max(airtimeMs, MIN_SEND_GAP_MS);
  }

  /** The radio took a datagram: the send backoff resets. */
  sendSucceeded(): void {
    this.failures = 0;
  }

  /** The radio refused or timed out a datagram: back off. */
  sendFailed(): void {
    this.failures += 1;
    this.holdBack('the radio refused or timed out the last datagram');
  }

  private isBusy(): boolean {
    const u = this.settings.channelUtilization;
    return u !== null && u > BUSY_CHANNEL_PERCENT && this.clock.now() - this.utilizationAt <= UTILIZATION_FRESH_MS;
  }

  private holdBack(reason: string): void {
    if (reason.startsWith('the channel')) this.busyStreak += 1;
    const steps = Math.max(this.failures, this.busyStreak);
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.min(steps - 1, 20));
    const delay = ceiling / 2 + (this.random() * ceiling) / 2;
    if (reason.startsWith('the channel')) {
      this.busyUntil = Math.max(this.busyUntil, this.clock.now() + delay);
      return;
    }
    this.backoffUntil = Math.max(this.backoffUntil, this.clock.now() + delay);
    this.backoffReason = reason;
  }

  /** The earliest time at which `airtime` more fits in the rolling hour. */
  private dutyCycleFit(airtime: number, allowed: number | null): number {
    if (allowed === null) return 0;
    this.forget();
    let used = this.sent.reduce((sum, s) => sum + s.airtimeMs, 0);
    if (used + airtime <= allowed) return 0;
    for (const s of this.sent) {
      used -= s.airtimeMs;
      if (used + airtime <= allowed) return s.at + HOUR_MS;
    }
    return 0;
  }

  private forget(): void {
    const since = this.clock.now() - HOUR_MS;
    while (this.sent.length && this.sent[0]!.at <= since) this.sent.shift();
  }
}
