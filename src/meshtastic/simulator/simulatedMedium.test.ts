import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/test/manualClock';
import { MODEM_PRESETS, packetAirtimeMs } from '../../core/radio/loraAirtime';
import { BROADCAST_NUM, SimulatedMedium, type AirPacket, type MediumStation, type Transmission } from './simulatedMedium';

const EU_868 = 3;
const US = 1;
const HOUR = 3_600_000;

function packet(from: number, id: number, size = 50, hopLimit = 3, to = BROADCAST_NUM): AirPacket {
  return { id, from, to, channel: 0, hopLimit, hopStart: hopLimit, wantAck: false, portnum: 256, payload: new Uint8Array(size), requestId: 0, relayNode: from };
}

function station(log: { heard: AirPacket[]; echoed: number[] }): MediumStation {
  return { heard: (p, _r, duplicate) => !duplicate && log.heard.push(p), echoed: (id) => log.echoed.push(id) };
}

function node(medium: SimulatedMedium, nodeNum: number, region = EU_868) {
  const log = { heard: [] as AirPacket[], echoed: [] as number[] };
  const port = medium.attach({ nodeNum, region, preset: MODEM_PRESETS.LONG_FAST, station: station(log) });
  return { port, ...log };
}

/** The most airtime of `log` inside any one hour (checked at every transmission's end, where the maximum lies). */
function worstHour(log: readonly Transmission[]): number {
  let worst = 0;
  for (const t of log) {
    const from = t.end - HOUR;
    worst = Math.max(worst, log.reduce((sum, u) => sum + Math.max(0, Math.min(u.end, t.end) - Math.max(u.start, from)), 0));
  }
  return worst;
}

describe('SimulatedMedium', () => {
  it('a packet takes its LongFast airtime and reaches everyone else', () => {
    const clock = new ManualClock();
    const medium = new SimulatedMedium({ clock });
    const a = node(medium, 1);
    const b = node(medium, 2);
    const c = node(medium, 3);
    a.port.transmit(packet(1, 10, 200, 0));
    const airtime = packetAirtimeMs(200);
    clock.advance(airtime - 1);
    expect(b.heard).toHaveLength(0);
    clock.advance(1);
    expect(b.heard.map((p) => p.id)).toEqual([10]);
    expect(c.heard.map((p) => p.id)).toEqual([10]);
    expect(a.heard).toHaveLength(0);
    expect(medium.stats.airtimeMs.get(1)).toBeCloseTo(airtime);
  });

  it('listens before talking: a second sender waits until the channel is free', () => {
    const clock = new ManualClock();
    const medium = new SimulatedMedium({ clock });
    const a = node(medium, 1);
    const b = node(medium, 2);
    const starts: Transmission[] = [];
    medium.onTransmission((t) => starts.push(t));
    a.port.transmit(packet(1, 1, 100, 0));
    clock.advance(10);
    b.port.transmit(packet(2, 2, 100, 0));
    clock.advance(10_000);
    expect(starts.map((t) => t.nodeNum)).toEqual([1, 2]);
    expect(starts[1]!.start).toBeGreaterThanOrEqual(starts[0]!.end);
  });

  it('floods along a line, each relay once, no further than the hop limit', () => {
    const clock = new ManualClock();
    const medium = new SimulatedMedium({ clock, neighbours: SimulatedMedium.line([1, 2, 3, 4, 5]) });
    const nodes = [1, 2, 3, 4, 5].map((n) => node(medium, n));
    nodes[0]!.port.transmit(packet(1, 7, 40, 2));
    clock.advance(60_000);
    expect(nodes.map((n) => n.heard.length)).toEqual([0, 1, 1, 1, 0]);
    expect(nodes[3]!.heard[0]!.hopLimit).toBe(0);
    expect(medium.stats.packetsOnAir).toBe(3); // 1 sends, 2 and 3 relay; 4 got hop limit 0
    expect(nodes[0]!.echoed).toEqual([7]); // 1 heard 2 rebroadcast its packet: the implicit ack
  });

  it('a relay drops its rebroadcast when a neighbour rebroadcast first (everyone hears everyone)', () => {
    const clock = new ManualClock();
    const medium = new SimulatedMedium({ clock, seed: 3 });
    const nodes = [1, 2, 3, 4, 5].map((n) => node(medium, n));
    nodes[0]!.port.transmit(packet(1, 9, 40, 3));
    clock.advance(60_000);
    expect(nodes.slice(1).every((n) => n.heard.length === 1)).toBe(true);
    expect(medium.stats.packetsOnAir).toBe(2); // the sender and the first relay
  });

  it('loses receptions at the loss rate, repeatably for a seed', () => {
    const run = () => {
      const clock = new ManualClock();
      const medium = new SimulatedMedium({ clock, loss: 0.3, seed: 42 });
      const a = node(medium, 1);
      const b = node(medium, 2);
      for (let i = 0; i < 400; i++) {
        a.port.transmit(packet(1, i + 1, 20, 0));
        clock.advance(5_000);
      }
      return b.heard.length;
    };
    const got = run();
    expect(got).toBeGreaterThan(400 * 0.6);
    expect(got).toBeLessThan(400 * 0.8);
    expect(run()).toBe(got);
  });

  it('an over-budget burst waits: no rolling hour holds more than 10% airtime at EU_868, and all of it goes', () => {
    const clock = new ManualClock();
    const medium = new SimulatedMedium({ clock, queueLimit: 400 });
    const a = node(medium, 1);
    const b = node(medium, 2);
    const airtime = packetAirtimeMs(233);
    const burst = Math.ceil((0.1 * HOUR) / airtime) + 60; // more than an hour's budget
    for (let i = 0; i < burst; i++) expect(a.port.transmit(packet(1, i + 1, 233, 0)).queued).toBe(true);
    clock.advance(HOUR);
    expect(b.heard.length).toBeLessThan(burst); // held, not sent
    expect(a.port.queued()).toBeGreaterThan(0);
    expect(a.port.airtimeLastHourMs()).toBeLessThanOrEqual(0.1 * HOUR);
    clock.advance(2 * HOUR);
    expect(b.heard).toHaveLength(burst);
    const log = medium.transmissionsOf(1);
    expect(worstHour(log)).toBeLessThanOrEqual(0.1 * HOUR + 1e-6);
    expect(worstHour(log)).toBeGreaterThan(0.1 * HOUR - airtime); // it used its budget, not less
  });

  it('a node in a region without a duty cycle sends a burst back to back', () => {
    const clock = new ManualClock();
    const medium = new SimulatedMedium({ clock, queueLimit: 400 });
    const a = node(medium, 1, US);
    const b = node(medium, 2, US);
    const airtime = packetAirtimeMs(233);
    const burst = Math.ceil((0.1 * HOUR) / airtime) + 60;
    for (let i = 0; i < burst; i++) a.port.transmit(packet(1, i + 1, 233, 0));
    clock.advance(burst * (airtime + 60));
    expect(b.heard).toHaveLength(burst);
  });

  it('a full queue refuses, saying when the duty cycle is why', () => {
    const clock = new ManualClock();
    const medium = new SimulatedMedium({ clock, queueLimit: 4 });
    const a = node(medium, 1);
    node(medium, 2);
    for (let i = 0; i < 200; i++) {
      a.port.transmit(packet(1, i + 1, 233, 0));
      clock.advance(2_500);
    }
    for (let i = 0; i < 4; i++) a.port.transmit(packet(1, 1000 + i, 233, 0));
    expect(a.port.transmit(packet(1, 2000, 233, 0))).toEqual({ queued: false, refusal: 'queue-full-duty-cycle' });
  });

  it('refuses node numbers that are not Meshtastic node numbers, and a second node with one number', () => {
    const medium = new SimulatedMedium({ clock: new ManualClock() });
    expect(() => node(medium, 0)).toThrow(/node number/);
    expect(() => node(medium, BROADCAST_NUM)).toThrow(/node number/);
    node(medium, 5);
    expect(() => node(medium, 5)).toThrow(/already/);
    expect(() => new SimulatedMedium({ clock: new ManualClock(), loss: 1.5 })).toThrow(/loss/);
  });
});
