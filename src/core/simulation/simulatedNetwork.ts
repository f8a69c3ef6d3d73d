import { versionNumber } from '../vault/vaultVersion';
import { createMemoryLinkPair, type LinkTap } from '../link/memoryLink';
import { SoukNode } from '../node/soukNode';
import { MemoryStorage } from '../storage/memoryStorage';

export interface SimulatedPeer {
  name: string;
  storage: MemoryStorage;
  node: SoukNode;
}

/**
 * Many nodes in one process, linked in memory along whatever edges a test draws. Each node has
 * its own storage, so one can be stopped and reopened from what it saved.
 */
export class SimulatedNetwork {
  readonly peers: SimulatedPeer[] = [];
  private readonly edges = new Set<string>();

  constructor(private readonly tap?: LinkTap) {}

  async addNode(name: string, withShop = true): Promise<SimulatedPeer> {
    const storage = new MemoryStorage();
    const node = await SoukNode.open({ storage });
    if (withShop) await node.createShop({ name, area: `Area ${this.peers.length % 4}` });
    const peer = { name, storage, node };
    this.peers.push(peer);
    return peer;
  }

  connect(a: SimulatedPeer, b: SimulatedPeer): void {
    const [x, y] = createMemoryLinkPair(`${a.name}→${b.name}`, `${b.name}→${a.name}`, this.tap);
    a.node.addLink(x);
    b.node.addLink(y);
    this.edges.add(`${a.name}|${b.name}`);
  }

  /** Stops a node and opens it again from its own storage, relinking its edges. */
  async restart(peer: SimulatedPeer): Promise<void> {
    peer.node.close();
    peer.node = await SoukNode.open({ storage: peer.storage });
    await peer.node.whenContentLoaded();
    for (const edge of this.edges) {
      const [a, b] = edge.split('|');
      if (a === peer.name || b === peer.name) this.connect(this.byName(a!), this.byName(b!));
    }
  }

  byName(name: string): SimulatedPeer {
    const peer = this.peers.find((p) => p.name === name);
    if (!peer) throw new Error(`no simulated node ${name}`);
    return peer;
  }

  /** True when every node holds every shop's vault at its owner's latest signed heads. */
  converged(): boolean {
    const owners = this.peers.filter((p) => p.node.hasShop);
    return owners.every((owner) => {
      const id = owner.node.view().shop!.vaultId;
      const truth = versionNumber(owner.node.statementsOf(id)!);
      return this.peers.every((p) => versionNumber(p.node.statementsOf(id) ?? []) === truth);
    });
  }

  close(): void {
    for (const peer of this.peers) peer.node.close();
  }
}
