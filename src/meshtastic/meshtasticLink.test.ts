import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../core/clock';
import { DatagramLinkError, type Datagram } from '../core/link/datagramLink';
import { packetAirtimeMs } from '../core/radio/loraAirtime';
import { MeshtasticLink } from './meshtasticLink';
import { SimulatedDevice, type SimulatedDeviceOptions } from './simulator/simulatedDevice';
import { SimulatedMedium, type Transmission } from './simulator/simulatedMedium';
import { streamTransport } from './streamTransport';

/**
 * The real @meshtastic/core MeshDevice over streamTransport against simulated devices. Core uses
 * real timers (a 200 ms wait before each write, 60 s timeouts), so these tests fake the timers
 * and Date, and the medium, devices and links use the (faked) system clock: one time base.
 */

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
});
afterEach(() => {
  vi.useRealTimers();
});

const clock = systemClock;
const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);

interface Radio {
  device: SimulatedDevice;
  link: MeshtasticLink;
  received: Datagram[];
  closed: string[];
}

function radio(medium: SimulatedMedium, nodeNum: number, options: Partial<SimulatedDeviceOptions> = {}): Radio {
  const device = new SimulatedDevice({ medium, clock, nodeNum, ...options });
  const streams = device.plugIn();
  const link = new MeshtasticLink(streamTransport(streams.readable, streams.writable), { clock, label: `radio ${nodeNum}` });
  link.device.log.settings.minLevel = 7; // core logs every frame
  const received: Datagram[] = [];
  const closed: string[] = [];
  link.start({ receive: (d) => received.push(d), closed: (reason) => closed.push(reason) });
  return { device, link, received, closed };
}

async function configured(...radios: Radio[]): Promise<void> {
  await advance(1_000);
  for (const r of radios) expect(r.link.info().state).toBe('connected');
}

/** Lets simulated time run (at least `ms`, then on until `promise` settles, at most 10 minutes) and says how it settled. */
async function settle<T>(promise: Promise<T>, ms = 0): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | null = null;
  promise.then(
    (value) => (outcome = { ok: true, value }),
    (error: unknown) => (outcome = { ok: false, error }),
  );
  await advance(ms);
  for (let waited = 0; outcome === null && waited < 600_000; waited += 1_000) await advance(1_000);
  if (outcome === null) throw new Error('still pending after 10 simulated minutes');
  return outcome;
}

const bytes = (...values: number[]) => new Uint8Array(values);
const HOUR = 3_600_000;

/** The most airtime inside any one hour (the maximum lies at a transmission's end). */
function worstHour(log: readonly Transmission[]): number {
  let worst = 0;
  for (const t of log) worst = Math.max(worst, log.reduce((sum, u) => sum + Math.max(0, Math.min(u.end, t.end) - Math.max(u.start, t.end - HOUR)), 0));
  return worst;
}

describe('MeshtasticLink over the real MeshDevice and a simulated radio', () => {
  beforeEach(() => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    vi.spyOn(console, 'error').mockImplementation(() => {}); // core reports each routing error
  });

  it('the config handshake reaches DeviceConfigured and info() shows the device', async () => {
    const medium = new SimulatedMedium({ clock });
    const a = radio(medium, 0x1a2b3c4d, { longName: 'Souk stall 7', shortName: 'SK7' });
    expect(a.link.address).toBeNull();
    await configured(a);
    expect(a.link.address).toBe(0x1a2b3c4d);
    const info = a.link.info();
    expect(info.device).toEqual({
      longName: 'Souk stall 7',
      shortName: 'SK7',
      nodeNum: 0x1a2b3c4d,
      firmware: '2.6.7-sim',
      hardware: 'PORTDUINO',
      region: 'EU_868',
      preset: 'LONG_FAST',
      channel: '',
      batteryLevel: 87,
    });
    expect(info.region).toBe(3);
    expect(info.preset).toBe(0);
    expect(info.channelUtilization).toBe(0);
  });

  it('a unicast resolves on the destination’s ack and arrives with its signal and hops', async () => {
    const medium = new SimulatedMedium({ clock });
    const a = radio(medium, 11);
    const b = radio(medium, 22);
    await configured(a, b);
    const sent = await settle(a.link.send(bytes(1, 2, 3), 22), 30_000);
    expect(sent).toEqual({ ok: true, value: undefined });
    expect(b.received).toHaveLength(1);
    const got = b.received[0]!;
    expect(got.from).toBe(11);
    expect(got.to).toBe(22);
    expect([...got.payload]).toEqual([1, 2, 3]);
    expect(got.hopsAway).toBe(0);
    expect(typeof got.snr).toBe('number');
    expect(got.receivedAt).toBeLessThanOrEqual(Date.now());
    expect(a.received).toHaveLength(0);
    // b's radio page now lists a as a neighbour, heard directly.
    expect(b.link.info().neighbours.find((n) => n.nodeNum === 11)).toMatchObject({ nodeNum: 11, hopsAway: 0 });
  });

  it('a unicast to a node nobody hears rejects with DatagramLinkError after the retries, never hanging', async () => {
    const medium = new SimulatedMedium({ clock });
    const a = radio(medium, 11);
    radio(medium, 22);
    await configured(a);
    const sent = await settle(a.link.send(bytes(9), 999), 60_000);
    expect(sent.ok).toBe(false);
    expect((sent as { error: unknown }).error).toBeInstanceOf(DatagramLinkError);
    expect(String((sent as { error: Error }).error.message)).toMatch(/MAX_RETRANSMIT/);
  });

  it('a broadcast crosses three hops of a line and no further than its hop limit; the implicit ack resolves it', async () => {
    const medium = new SimulatedMedium({ clock, neighbours: SimulatedMedium.line([1, 2, 3, 4, 5]) });
    const radios = [1, 2, 3, 4, 5].map((n) => radio(medium, n));
    await configured(...radios);
    const sent = await settle(radios[0]!.link.send(bytes(7, 7), 'broadcast', { hopLimit: 2 }), 60_000);
    expect(sent.ok).toBe(true);
    expect(radios.map((r) => r.received.length)).toEqual([0, 1, 1, 1, 0]);
    expect(radios.slice(1, 4).map((r) => r.received[0]!.hopsAway)).toEqual([0, 1, 2]);
    expect(radios[3]!.received[0]!.to).toBe('broadcast');
  });

  it('with 30% loss on five radios most broadcasts reach everyone', async () => {
    const medium = new SimulatedMedium({ clock, loss: 0.3, seed: 7 });
    const radios = [1, 2, 3, 4, 5].map((n) => radio(medium, n));
    await configured(...radios);
    const count = 20;
    for (let i = 0; i < count; i++) await settle(radios[i % 5]!.link.send(bytes(i), 'broadcast'), 15_000);
    const delivered = radios.reduce((sum, r) => sum + r.received.length, 0);
    expect(delivered / (count * 4)).toBeGreaterThan(0.8);
    for (const r of radios) expect(new Set(r.received.map((d) => `${d.from}:${d.payload[0]}`)).size).toBe(r.received.length); // no duplicates
  });

  it('refuses what the radio cannot carry: too long, before it is ready, a bad address or hop limit', async () => {
    const medium = new SimulatedMedium({ clock });
    const a = radio(medium, 11);
    await expect(a.link.send(bytes(1), 'broadcast')).rejects.toThrow(/not ready/);
    await configured(a);
    await expect(a.link.send(new Uint8Array(234), 'broadcast')).rejects.toBeInstanceOf(DatagramLinkError);
    await expect(a.link.send(bytes(1), 0)).rejects.toThrow(/node number/);
    await expect(a.link.send(bytes(1), 'broadcast', { hopLimit: 8 })).rejects.toThrow(/hop limit/);
  });

  it('duty cycle through the real client: an over-budget burst waits in the radio, a full queue says DUTY_CYCLE_LIMIT, no hour over 10%', async () => {
    const medium = new SimulatedMedium({ clock, queueLimit: 4 });
    const a = radio(medium, 11);
    const b = radio(medium, 22);
    await configured(a, b);
    const airtime = packetAirtimeMs(233);
    const payload = new Uint8Array(233).fill(7);
    const withinBudget = Math.floor((0.1 * HOUR) / airtime);
    for (let i = 0; i < withinBudget + 4; i++) await settle(a.link.send(payload, 'broadcast', { hopLimit: 1 }), 0);
    const burst = await settle(Promise.allSettled(Array.from({ length: 8 }, () => a.link.send(payload, 'broadcast', { hopLimit: 1 }))), 0);
    const reasons = (burst as { value: PromiseSettledResult<void>[] }).value.flatMap((r) => (r.status === 'rejected' ? [String((r.reason as Error).message)] : []));
    expect(reasons.some((m) => /DUTY_CYCLE_LIMIT/.test(m))).toBe(true);
    await advance(2 * HOUR);
    expect(worstHour(medium.transmissionsOf(11))).toBeLessThanOrEqual(0.1 * HOUR + 1e-6);
    expect(b.received.length).toBeGreaterThan(withinBudget); // the held ones went, later
  });

  it('a payload holding 0x94 0xC3: core’s de-framer drops it and stalls on the bytes after it, read as a length', async () => {
    // What @meshtastic/core 2.6.7's fromDeviceStream does with a frame whose protobuf holds
    // 0x94 0xC3: it discards the frame, resynchronises on the 0x94 0xC3 inside it and reads the
    // two bytes after as a frame length (here 0x02xx: over 512 bytes), so the frames that follow
    // wait until that many bytes have come. Radio payloads must never hold these two bytes.
    const medium = new SimulatedMedium({ clock });
    const a = radio(medium, 11);
    const b = radio(medium, 22);
    await configured(a, b);
    expect((await settle(a.link.send(bytes(1, 0x94, 0xc3, 2), 22), 20_000)).ok).toBe(true); // b's radio got it and acked
    expect((await settle(a.link.send(bytes(5, 99), 22), 20_000)).ok).toBe(true);
    expect(b.received).toHaveLength(0); // the next one is held up too
    for (let i = 0; i < 12; i++) await settle(a.link.send(bytes(5, i), 22), 2_000);
    const payloads = b.received.map((d) => [...d.payload]);
    expect(payloads).not.toContainEqual([1, 0x94, 0xc3, 2]);
    expect(payloads.slice(-3)).toEqual([[5, 9], [5, 10], [5, 11]]); // it recovers once the bogus length has passed
  });

  it('unplugging closes the link once with a reason and rejects what waits; the radio keeps what it hears for the next client', async () => {
    const medium = new SimulatedMedium({ clock });
    const a = radio(medium, 11);
    const b = radio(medium, 22);
    await configured(a, b);
    const waiting = settle(a.link.send(bytes(1), 22), 0);
    a.device.unplug();
    await advance(1_000);
    expect(a.closed).toHaveLength(1);
    expect(a.closed[0]).toMatch(/unplugged/);
    expect(a.link.info().state).toBe('unplugged');
    const outcome = await waiting;
    expect(outcome.ok).toBe(false);
    expect((outcome as { error: unknown }).error).toBeInstanceOf(DatagramLinkError);
    await expect(a.link.send(bytes(2), 22)).rejects.toBeInstanceOf(DatagramLinkError);
    // b sends while a is unplugged; a's radio holds it and hands it to the next client.
    await settle(b.link.send(bytes(42), 11), 20_000);
    const streams = a.device.plugIn();
    const again = new MeshtasticLink(streamTransport(streams.readable, streams.writable), { clock });
    again.device.log.settings.minLevel = 7;
    const later: Datagram[] = [];
    again.start({ receive: (d) => later.push(d), closed: () => {} });
    await advance(1_000);
    expect(again.info().state).toBe('connected');
    expect(later.map((d) => [...d.payload])).toEqual([[42]]);
    a.link.close('again'); // closing a closed link changes nothing
    expect(a.closed).toHaveLength(1);
  });

  it('close() closes once, stops delivery and rejects later sends (DatagramLink conformance)', async () => {
    const medium = new SimulatedMedium({ clock });
    const a = radio(medium, 11);
    const b = radio(medium, 22);
    await configured(a, b);
    await settle(a.link.send(bytes(1), 'broadcast'), 10_000);
    expect(b.received).toHaveLength(1);
    b.link.close('merchant disconnected');
    b.link.close('twice');
    expect(b.closed).toEqual(['merchant disconnected']);
    expect(b.link.info().state).toBe('off');
    await settle(a.link.send(bytes(2), 'broadcast'), 10_000);
    expect(b.received).toHaveLength(1);
    await expect(b.link.send(bytes(3), 'broadcast')).rejects.toBeInstanceOf(DatagramLinkError);
    expect(b.device.plugged).toBe(false); // the transport was let go
  });

  it('a radio that never finishes its configuration closes the link instead of hanging', async () => {
    const medium = new SimulatedMedium({ clock });
    const device = new SimulatedDevice({ medium, clock, nodeNum: 5 });
    const silent = new ReadableStream<Uint8Array>({ start() {} }); // the device never answers
    const link = new MeshtasticLink(streamTransport(silent, device.plugIn().writable), { clock, configureTimeoutMs: 10_000 });
    link.device.log.settings.minLevel = 7;
    const closed: string[] = [];
    link.start({ receive: () => {}, closed: (r) => closed.push(r) });
    await advance(11_000);
    expect(closed).toEqual([expect.stringMatching(/configuration/)]);
  });
});
