import { afterEach, describe, expect, it } from 'vitest';
import { acceptsIncoming, peersToDial } from '../mesh/peerSelection';
import { eventually } from '../test/rawPeer';
import { SimulatedNetwork, type SimulatedPeer } from './simulatedNetwork';

const networks: SimulatedNetwork[] = [];
afterEach(() => {
  for (const network of networks.splice(0)) network.close();
});

async function shops(count: number): Promise<SimulatedNetwork> {
  const network = new SimulatedNetwork();
  networks.push(network);
  for (let i = 0; i < count; i++) {
    const peer = await network.addNode(`shop-${i}`);
    const id = await peer.node.addProduct({ name: `Item of shop ${i}`, sku: `S${i}`, unit: 'each', price: 100 + i, stock: 10 });
    await peer.node.setOffer(id, { quantity: 5, price: 100 + i });
  }
  return network;
}

function isConnected(peers: SimulatedPeer[], edges: [number, number][]): boolean {
  const seen = new Set([0]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [a, b] of edges) {
      if (seen.has(a) !== seen.has(b)) {
        seen.add(a);
        seen.add(b);
        grew = true;
      }
    }
  }
  return seen.size === peers.length;
}

describe('twenty nodes in one process', () => {
  it('converge along a line, where each vault crosses up to 19 hops', async () => {
    const network = await shops(20);
    for (let i = 1; i < 20; i++) network.connect(network.peers[i - 1]!, network.peers[i]!);
    await eventually(() => network.converged(), 30_000, 'convergence along the line');
    const first = network.peers[0]!.node;
    expect(first.marketplace('').total).toBe(20);
    expect(first.marketplace('shop 19').offers[0]!.price).toBe(119);
    // A change at one end reaches the other.
    const last = network.peers[19]!.node;
    await last.updateProduct(last.products().products[0]!.id, { name: 'Renamed at the end', sku: 'S19', unit: 'each', price: 119, stock: 10 });
    await eventually(() => first.marketplace('renamed').total === 1, 30_000, 'rename to cross the line');
  });

  it('converge in a random sparse graph where no node has more than 3 links', async () => {
    const network = await shops(20);
    const max = 3;
    const links = new Map(network.peers.map((p) => [p.name, new Set<string>()]));
    const edges: [number, number][] = [];
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    // Each node joins in turn and dials what peer selection picks among those already present.
    for (let i = 1; i < 20; i++) {
      const me = network.peers[i]!;
      const present = network.peers.slice(0, i).map((p) => p.name);
      // A busy peer is avoided and another one dialed, as the leader tab does.
      const busy = new Set<string>();
      for (;;) {
        const dial = peersToDial({ self: me.name, present, linked: links.get(me.name)!, avoid: busy, maxConnections: 2 }, random);
        if (dial.length === 0) break;
        for (const name of dial) {
          const other = network.byName(name);
          if (!acceptsIncoming({ self: name, present, linked: links.get(name)!, avoid: new Set(), maxConnections: max }, me.name)) {
            busy.add(name);
            continue;
          }
          links.get(me.name)!.add(name);
          links.get(name)!.add(me.name);
          edges.push([i, network.peers.indexOf(other)]);
          network.connect(me, other);
        }
      }
    }
    expect(isConnected(network.peers, edges)).toBe(true);
    for (const set of links.values()) expect(set.size).toBeLessThanOrEqual(max);
    expect(edges.length).toBeLessThan((20 * 19) / 2 / 4);
    await eventually(() => network.converged(), 30_000, 'convergence in the sparse graph');
    for (const peer of network.peers) expect(peer.node.marketplace('').total).toBe(20);
  });

  it('a node restarted from its storage catches up on what it missed', async () => {
    const network = await shops(5);
    for (let i = 1; i < 5; i++) network.connect(network.peers[i - 1]!, network.peers[i]!);
    await eventually(() => network.converged(), 20_000);
    const sleeper = network.peers[2]!;
    sleeper.node.close();
    const writer = network.peers[0]!.node;
    await writer.setOffer(writer.products().products[0]!.id, { quantity: 2, price: 555 });
    const freshness = (peer: typeof sleeper) => peer.node.view().vaults.map((v) => [v.vaultId, v.asOf]).sort();
    const before = freshness(sleeper);
    await network.restart(sleeper);
    expect(sleeper.node.marketplace('').total).toBe(5);
    // "As of" survives the restart for every vault it had not missed.
    expect(freshness(sleeper).filter(([id]) => id !== writer.view().shop!.vaultId)).toEqual(before.filter(([id]) => id !== writer.view().shop!.vaultId));
    await eventually(() => sleeper.node.marketplace('shop 0').offers[0]?.price === 555, 20_000, 'restarted node to catch up');
    await eventually(() => network.converged(), 20_000);
  });
});
