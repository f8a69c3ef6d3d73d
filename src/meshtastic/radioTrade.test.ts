import * as A from '@automerge/automerge';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../core/clock';
import { closeAll, link, openNode, shopNode, vaultOf } from '../core/attacks/attackKit';
import { RadioSync } from '../core/radio/radioSync';
import { seededRandom, SimulatedMedium, type Transmission } from './simulator/simulatedMedium';
import { SimulatedDevice } from './simulator/simulatedDevice';
import { MeshtasticLink } from './meshtasticLink';
import { streamTransport } from './streamTransport';
import type { SoukNode } from '../core/node/soukNode';
import type { RadioUpdate } from '../core/radio/radioVaultSource';
import { encodeEnvelope } from '../core/radio/radioEnvelope';

/**
 * Shops trading over radio only: real SoukNodes, the radio sync engine, @meshtastic/core's
 * MeshDevice (through MeshtasticLink) and simulated Meshtastic devices on a simulated LoRa medium
 * (LongFast airtime, loss, hops, EU_868 duty cycle). Core needs real timers, so time is faked and
 * everything runs on the one (faked) system clock.
 */

const clock = systemClock;
const HOUR = 3_600_000;

beforeEach(() => {
  vi.spyOn(console, 'warn').mockImplementation(() => {});
  vi.spyOn(console, 'error').mockImplementation(() => {});
});
afterEach(() => {
  for (const station of stations.splice(0)) station.close();
  closeAll();
  vi.useRealTimers();
  vi.restoreAllMocks();
});

interface Station {
  node: SoukNode;
  device: SimulatedDevice;
  sync: RadioSync;
  close(): void;
}
const stations: Station[] = [];

function station(medium: SimulatedMedium, nodeNum: number, node: SoukNode, seed: number): Station {
  const device = new SimulatedDevice({ medium, clock, nodeNum, longName: `Radio ${nodeNum}` });
  const sync = new RadioSync({ source: node.radioSource(), clock, random: seededRandom(seed) });
  const plug = () => {
    const streams = device.plugIn();
    const radio = new MeshtasticLink(streamTransport(streams.readable, streams.writable), { clock, label: `radio ${nodeNum}` });
    radio.device.log.settings.minLevel = 7;
    const stop = radio.onInfo((info) => sync.setRadio({ region: info.region, preset: info.preset, channelUtilization: info.channelUtilization }));
    sync.attach(radio);
    return { radio, stop };
  };
  let plugged = plug();
  const s: Station & { replug(): void } = {
    node,
    device,
    sync,
    replug() {
      plugged = plug();
    },
    close() {
      plugged.stop();
      sync.close();
      plugged.radio.close('test over');
    },
  };
  stations.push(s);
  return s;
}

/** Runs simulated time until `condition` holds (checking every `step`), at most `limitMs`. */
async function until(condition: () => boolean, what: string, limitMs = 30 * 60_000, step = 1_000): Promise<number> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > limitMs) throw new Error(`timed out (simulated ${limitMs / 60_000} min) waiting for ${what}`);
    await vi.advanceTimersByTimeAsync(step);
  }
  return Date.now() - start;
}

const offered = (node: SoukNode, name: string) => node.marketplace(name).offers.find((o) => o.name === name);

/** The most airtime inside any one hour (the maximum lies at a transmission's end). */
function worstHour(log: readonly Transmission[]): number {
  let worst = 0;
  for (const t of log) worst = Math.max(worst, log.reduce((sum, u) => sum + Math.max(0, Math.min(u.end, t.end) - Math.max(u.start, t.end - HOUR)), 0));
  return worst;
}

/** Shops that have met once (each holds the others' vaults), then apart: only their radios remain. */
async function metOnce(names: string[]) {
  const nodes: SoukNode[] = [];
  const products: string[] = [];
  for (const name of names) {
    const node = await shopNode(name);
    const product = await node.addProduct({ name: `${name} honey`, sku: 'H', unit: 'jar', price: 700, stock: 20 });
    await node.setOffer(product, { quantity: 20, price: 700 });
    nodes.push(node);
    products.push(product);
  }
  const ends = [];
  for (let i = 0; i < nodes.length; i++) for (let j = i + 1; j < nodes.length; j++) ends.push(...link(nodes[i]!, nodes[j]!));
  const deadline = Date.now() + 20_000;
  while (!nodes.every((n) => names.every((name) => offered(n, `${name} honey`)))) {
    if (Date.now() > deadline) throw new Error('the shops did not meet');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  for (const end of ends) end.close('apart');
  return { nodes, products };
}

describe('trading over Meshtastic radios only (real client, simulated radios)', () => {
  it('two shops at 30% loss: a stock change on each reaches the other, marked via radio, and a forged packet is refused', async () => {
    const { nodes, products } = await metOnce(['Hill', 'Valley']);
    const [hill, valley] = nodes as [SoukNode, SoukNode];
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const medium = new SimulatedMedium({ clock, seed: 7, loss: 0.3 });
    const a = station(medium, 0xa1, hill, 1);
    const b = station(medium, 0xb2, valley, 2);
    await vi.advanceTimersByTimeAsync(2_000);
    const sent: RadioUpdate[] = [];
    hill.radioSource().onOwnUpdate((u) => sent.push(u));
    await hill.adjustStock(products[0]!, -3);
    await valley.adjustStock(products[1]!, -5);
    await until(() => offered(valley, 'Hill honey')?.quantity === 17 && offered(hill, 'Valley honey')?.quantity === 15, 'both stock changes');
    expect(offered(valley, 'Hill honey')?.viaRadio).toBe(true);
    expect(offered(hill, 'Valley honey')?.viaRadio).toBe(true);
    await until(() => a.sync.status().sent > 0, 'Hill’s radio to confirm a send');
    expect(b.sync.status().taken).toBeGreaterThan(0);

    // A rogue radio on the same medium sends Hill's next update with one signature byte changed.
    await hill.adjustStock(products[0]!, -1);
    const genuine = sent.at(-1)!;
    await until(() => offered(valley, 'Hill honey')?.quantity === 16, 'the genuine update');
    // Valley must not hear the genuine one first: Hill pauses radio sync before the edit.
    a.sync.pause(true);
    await hill.adjustStock(products[0]!, -10);
    const next = sent.at(-1)!;
    const forged = next.bytes.slice();
    forged[forged.length - 2]! ^= 0x20;
    const rogueDevice = new SimulatedDevice({ medium, clock, nodeNum: 0xbad, longName: 'Rogue' });
    const rogueStreams = rogueDevice.plugIn();
    const rogue = new MeshtasticLink(streamTransport(rogueStreams.readable, rogueStreams.writable), { clock, label: 'rogue' });
    rogue.device.log.settings.minLevel = 7;
    rogue.start({ receive: () => {}, closed: () => {} });
    await vi.advanceTimersByTimeAsync(2_000);
    const before = b.sync.status().refusals.length;
    void rogue.send(encodeEnvelope({ kind: 'update', cls: 'stock', urgent: false, update: forged }), 'broadcast').catch(() => {});
    await until(() => b.sync.status().refusals.length > before, 'the forgery to be refused');
    expect(b.sync.status().refusals[0]!.reason).toMatch(/signature/);
    expect(genuine.kind).toBe('compact');
    expect(offered(valley, 'Hill honey')?.quantity).toBe(16);
    // The genuine update still arrives afterwards, from Hill.
    a.sync.pause(false);
    await until(() => offered(valley, 'Hill honey')?.quantity === 6, 'the genuine next update');
    rogue.close('done');
  }, 120_000);

  it('five shops on a line (four hops end to end) at 30% loss converge; the one truth: the same heads whichever way it came', async () => {
    const names = ['One', 'Two', 'Three', 'Four', 'Five'];
    const { nodes, products } = await metOnce(names);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const nums = [0x11, 0x22, 0x33, 0x44, 0x55];
    const medium = new SimulatedMedium({ clock, seed: 11, loss: 0.3, neighbours: SimulatedMedium.line(nums) });
    nodes.forEach((node, i) => station(medium, nums[i]!, node, 100 + i));
    await vi.advanceTimersByTimeAsync(2_000);
    for (let i = 0; i < nodes.length; i++) await nodes[i]!.adjustStock(products[i]!, -(i + 1));
    const converged = () => nodes.every((node) => names.every((name, i) => offered(node, `${name} honey`)?.quantity === 20 - (i + 1)));
    await until(converged, 'all five to hold every stock change', 3 * HOUR, 5_000);
    // One truth: a node that took everything by radio holds what a node linked to each shop holds.
    vi.useRealTimers();
    const witness = await openNode();
    for (const node of nodes) link(witness, node);
    const deadline = Date.now() + 20_000;
    while (!names.every((name, i) => offered(witness, `${name} honey`)?.quantity === 20 - (i + 1))) {
      if (Date.now() > deadline) throw new Error('the witness did not catch up');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const node of nodes) for (const other of nodes) {
      const vault = vaultOf(other);
      expect(await headsOf(node, vault)).toEqual(await headsOf(witness, vault));
    }
  }, 300_000);

  it('an over-budget burst at EU_868 waits for the hour to roll instead of breaking the duty cycle, and then all of it goes', async () => {
    const { nodes } = await metOnce(['Busy', 'Quiet']);
    const [busy, quiet] = nodes as [SoukNode, SoukNode];
    // 230 products, each offered: 230 own updates of ~1.8 s airtime each, over the 360 s an hour allows.
    const ids: string[] = [];
    for (let i = 0; i < 230; i++) ids.push(await busy.addProduct({ name: `Spice ${i}`, sku: `S${i}`, unit: 'kg', price: 100 + i, stock: 50 }));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    const medium = new SimulatedMedium({ clock, seed: 5, loss: 0 });
    const log: Transmission[] = [];
    const quietLog: Transmission[] = [];
    medium.onTransmission((t) => {
      if (t.nodeNum === 0xb1) log.push(t);
      if (t.nodeNum === 0xc1) quietLog.push(t);
    });
    const a = station(medium, 0xb1, busy, 3);
    station(medium, 0xc1, quiet, 4);
    await vi.advanceTimersByTimeAsync(2_000);
    for (const id of ids) await busy.setOffer(id, { quantity: 10, price: 150 });
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    // Not all gone yet: it waits in the queue.
    expect(a.sync.status().budget.queuedBytes).toBeGreaterThan(0);
    expect(ids.some((_, i) => offered(quiet, `Spice ${i}`)?.quantity !== 10)).toBe(true);
    const elapsed = await until(() => ids.every((_, i) => offered(quiet, `Spice ${i}`)?.quantity === 10), 'every offer to arrive', 12 * HOUR, 60_000);
    expect(elapsed).toBeGreaterThan(HOUR - 10 * 60_000);
    // Every broadcast is acknowledged by the neighbour's rebroadcast (Meshtastic's implicit ack), which
    // spends the neighbour's airtime too: neither radio ever goes past 10% of any hour.
    expect(worstHour(log)).toBeLessThanOrEqual(0.1 * HOUR);
    expect(worstHour(quietLog)).toBeLessThanOrEqual(0.1 * HOUR);
    expect(a.sync.status().budget.allowedMs).toBe(0.1 * HOUR);
  }, 300_000);
});

/** The heads of the vault's document as the node holds it. */
async function headsOf(node: SoukNode, vault: string): Promise<string[]> {
  const doc = await (node as unknown as { store: { doc(id: string): Promise<A.Doc<unknown> | undefined> } }).store.doc(vault);
  return A.getHeads(doc!).sort();
}
