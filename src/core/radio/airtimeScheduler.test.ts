import { describe, expect, it } from 'vitest';
import { ManualClock } from '../test/manualClock';
import { AirtimeScheduler, BACKOFF_MAX_MS, UTILIZATION_FRESH_MS, HOUR_MS } from './airtimeScheduler';
import { MODEM_PRESETS, packetAirtimeMs } from './loraAirtime';

const EU_868 = 3;
const US = 1;

describe('airtime scheduler', () => {
  it('an over-budget burst at EU_868 waits instead of breaking the 10% duty cycle, and all of it goes', () => {
    const clock = new ManualClock();
    const scheduler = new AirtimeScheduler(clock, () => 0.5, { region: EU_868, preset: MODEM_PRESETS.LONG_FAST });
    expect(scheduler.allowedMs()).toBe(360_000);
    const airtime = packetAirtimeMs(233, MODEM_PRESETS.LONG_FAST);
    const sends: number[] = [];
    const reasons = new Set<string>();
    while (sends.length < 500) {
      const slot = scheduler.slotFor(233);
      if (slot.at > clock.now()) {
        reasons.add(slot.waiting!);
        clock.advance(slot.at - clock.now());
        continue;
      }
      scheduler.record(233);
      sends.push(clock.now());
      expect(scheduler.usedMs()).toBeLessThanOrEqual(360_000);
    }
    // Checked independently of the scheduler: every rolling hour holds at most the allowance.
    for (const t of sends) {
      const inHour = sends.filter((s) => s > t - HOUR_MS && s <= t).length;
      expect(inHour * airtime).toBeLessThanOrEqual(360_000);
    }
    expect(reasons).toContain('the hourly airtime allowance (duty cycle) is used up');
    // About 166 full packets an hour with the mesh header on air: 500 take about three hours.
    expect(sends.filter((s) => s < sends[0]! + HOUR_MS).length).toBe(Math.floor(360_000 / airtime));
    expect(Math.floor(360_000 / airtime)).toBeGreaterThan(160);
    expect(sends.at(-1)! - sends[0]!).toBeGreaterThan(2 * HOUR_MS);
  });

  it('refuses to record a datagram that does not fit now', () => {
    const clock = new ManualClock();
    const scheduler = new AirtimeScheduler(clock, () => 0.5, { region: EU_868 });
    while (scheduler.slotFor(233).at <= clock.now()) {
      scheduler.record(233);
      clock.advance(10_000);
    }
    expect(() => scheduler.record(233)).toThrow(/not before/);
  });

  it('where the region sets no limit, datagrams go back to back, never closer than their airtime', () => {
    const clock = new ManualClock();
    const scheduler = new AirtimeScheduler(clock, () => 0.5, { region: US });
    expect(scheduler.allowedMs()).toBeNull();
    expect(scheduler.dutyCyclePercent()).toBe(100);
    scheduler.record(100);
    const slot = scheduler.slotFor(100);
    expect(slot.at - clock.now()).toBeCloseTo(packetAirtimeMs(100), 2);
    expect(slot.waiting).toBe('the previous datagram is still on air');
  });

  it('backs off while the channel is busy, longer each time, bounded, and resumes when it clears', () => {
    const clock = new ManualClock();
    const scheduler = new AirtimeScheduler(clock, () => 1, { region: US });
    scheduler.configure({ channelUtilization: 31 });
    const waits: number[] = [];
    for (let i = 0; i < 12; i++) {
      const slot = scheduler.slotFor(50);
      expect(slot.waiting).toBe('the channel is busy');
      waits.push(slot.at - clock.now());
      clock.advance(slot.at - clock.now());
      scheduler.configure({ channelUtilization: 31 + (i % 2) }); // the radio keeps reporting a busy channel
    }
    expect(waits[1]).toBeGreaterThan(waits[0]!);
    expect(Math.max(...waits)).toBeLessThanOrEqual(BACKOFF_MAX_MS);
    expect(waits.at(-1)).toBe(BACKOFF_MAX_MS);
    scheduler.configure({ channelUtilization: 12 });
    expect(scheduler.slotFor(50)).toEqual({ at: clock.now(), waiting: null });
  });

  it('the merchant’s own updates do not yield to a busy channel, but still wait for refused sends and the duty cycle', () => {
    const clock = new ManualClock();
    const scheduler = new AirtimeScheduler(clock, () => 1, { region: EU_868 });
    scheduler.configure({ channelUtilization: 90 });
    expect(scheduler.slotFor(50).waiting).toBe('the channel is busy');
    expect(scheduler.slotFor(50, { yieldToBusy: false })).toEqual({ at: clock.now(), waiting: null });
    scheduler.sendFailed();
    expect(scheduler.slotFor(50, { yieldToBusy: false }).waiting).toBe('the radio refused or timed out the last datagram');
    clock.advance(BACKOFF_MAX_MS);
    scheduler.sendSucceeded();
    let sent = 0;
    while (scheduler.slotFor(200, { yieldToBusy: false }).at === clock.now()) {
      scheduler.record(200, { yieldToBusy: false });
      clock.advance(packetAirtimeMs(200));
      sent += 1;
    }
    expect(sent * packetAirtimeMs(200)).toBeLessThanOrEqual(0.1 * HOUR_MS);
    expect(scheduler.slotFor(200, { yieldToBusy: false }).waiting).toBe('the hourly airtime allowance (duty cycle) is used up');
  });

  it('an old busy reading stops holding sending back, and the same reading passed on again adds no backoff', () => {
    const clock = new ManualClock();
    const scheduler = new AirtimeScheduler(clock, () => 1, { region: US });
    scheduler.configure({ channelUtilization: 90 });
    const first = scheduler.slotFor(50);
    expect(first.waiting).toBe('the channel is busy');
    for (let i = 0; i < 10; i++) scheduler.configure({ channelUtilization: 90, region: US }); // other radio facts, same reading
    expect(scheduler.slotFor(50).at).toBe(first.at);
    clock.advance(UTILIZATION_FRESH_MS + 1);
    expect(scheduler.slotFor(50)).toEqual({ at: clock.now(), waiting: null });
  });

  it('backs off exponentially with jitter after refused sends, and a success resets it', () => {
    const clock = new ManualClock();
    let draw = 0;
    const scheduler = new AirtimeScheduler(clock, () => [0, 1][draw++ % 2]!, { region: US });
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      scheduler.sendFailed();
      const slot = scheduler.slotFor(50);
      expect(slot.waiting).toBe('the radio refused or timed out the last datagram');
      waits.push(slot.at - clock.now());
      clock.advance(slot.at - clock.now());
    }
    // ceilings 2 s, 4 s, 8 s, 16 s; jitter draws 0, 1, 0, 1 give half or all of each.
    expect(waits).toEqual([1_000, 4_000, 4_000, 16_000]);
    scheduler.sendSucceeded();
    scheduler.sendFailed();
    expect(scheduler.slotFor(50).at - clock.now()).toBe(1_000);
  });
});
