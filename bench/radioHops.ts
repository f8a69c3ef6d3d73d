import { systemClock } from '../src/core/clock';
import { closeAll, link, shopNode } from '../src/core/attacks/attackKit';
import { packetAirtimeMs } from '../src/core/radio/loraAirtime';
import { encodeEnvelope } from '../src/core/radio/radioEnvelope';
import { RadioSync } from '../src/core/radio/radioSync';
import type { RadioUpdate } from '../src/core/radio/radioVaultSource';
import type { SoukNode } from '../src/core/node/soukNode';
import { MeshtasticLink } from '../src/meshtastic/meshtasticLink';
import { seededRandom, SimulatedMedium } from '../src/meshtastic/simulator/simulatedMedium';
import { SimulatedDevice } from '../src/meshtastic/simulator/simulatedDevice';
import { streamTransport } from '../src/meshtastic/streamTransport';

const TRIALS = 3;
const LOSS = 0.1;

/**
 * `radio-hops`: how long a stock change takes to cross 3 hops of LongFast radios with 10% loss,
 * end to end through real nodes, the radio engine, @meshtastic/core's MeshDevice and simulated
 * devices on a line (A – B – C – D; each hears only its neighbours, Meshtastic's flooding relays).
 * Real time (the medium uses LongFast airtime on the system clock). ref = three packets' airtime
 * (the update's own, once per hop).
 */
export async function radioHops(): Promise<void> {
  const times: number[] = [];
  let ref = 0;
  for (let trial = 0; trial < TRIALS; trial++) {
    const nodes: SoukNode[] = [];
    for (const name of ['A', 'B', 'C', 'D']) nodes.push(await shopNode(`Stall ${name}`));
    const product = await nodes[0]!.addProduct({ name: 'Honey', sku: 'H', unit: 'jar', price: 700, stock: 50 });
    await nodes[0]!.setOffer(product, { quantity: 50, price: 700 });
    const ends = nodes.slice(1).flatMap((n) => link(nodes[0]!, n));
    await until(() => nodes.every((n) => offered(n)?.quantity === 50), 20_000);
    for (const end of ends) end.close('apart');
    const nums = [0x0a, 0x0b, 0x0c, 0x0d];
    const medium = new SimulatedMedium({ clock: systemClock, seed: 1000 + trial, loss: LOSS, neighbours: SimulatedMedium.line(nums) });
    const stations = nodes.map((node, i) => {
      const device = new SimulatedDevice({ medium, clock: systemClock, nodeNum: nums[i]! });
      const streams = device.plugIn();
      const radio = new MeshtasticLink(streamTransport(streams.readable, streams.writable), { clock: systemClock });
      radio.device.log.settings.minLevel = 7;
      const sync = new RadioSync({ source: node.radioSource(), clock: systemClock, random: seededRandom(trial * 10 + i) });
      const stop = radio.onInfo((info) => sync.setRadio({ region: info.region, preset: info.preset, channelUtilization: info.channelUtilization }));
      sync.attach(radio);
      return { radio, sync, stop };
    });
    await until(() => stations.every((s) => s.radio.info().state === 'connected'), 20_000);
    // Let the greeting summaries settle (they find nothing to send: every node holds every vault).
    await new Promise((resolve) => setTimeout(resolve, 25_000));
    const updates: RadioUpdate[] = [];
    const unsubscribe = nodes[0]!.radioSource().onOwnUpdate((u) => updates.push(u));
    const start = Date.now();
    await nodes[0]!.adjustStock(product, -7);
    await until(() => offered(nodes[3]!)?.quantity === 43, 180_000);
    times.push(Date.now() - start);
    ref = 3 * packetAirtimeMs(encodeEnvelope({ kind: 'update', cls: 'stock', urgent: false, update: updates[0]!.bytes }).length);
    unsubscribe();
    for (const s of stations) {
      s.stop();
      s.sync.close();
      s.radio.close('bench over');
    }
    closeAll();
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  console.log(`# radio-hops: a stock change from A reaching D across 3 LongFast hops at ${LOSS * 100}% loss, ${TRIALS} trials: ${times.map((t) => `${(t / 1000).toFixed(1)} s`).join(', ')}; ref = the update's airtime on each of 3 hops`);
  console.log(`BENCH radio-hops ${median} ms ref=${Math.round(ref)} ratio=${(median / ref).toFixed(2)}`);
}

const offered = (node: SoukNode) => node.marketplace('Honey').offers.find((o) => o.name === 'Honey');

async function until(condition: () => boolean, limitMs: number): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > limitMs) throw new Error('radio-hops: timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
