import * as A from '@automerge/automerge';
import { createMemoryLinkPair, type LinkTap, type MemoryLinkOptions } from '../link/memoryLink';
import { SoukNode, type SoukNodeOptions } from '../node/soukNode';
import { MemoryStorage } from '../storage/memoryStorage';
import { compressChange } from '../test/compressChange';
import type { HostileOwner } from '../test/hostileOwner';
import { eventually, RawPeer } from '../test/rawPeer';
import type { RadioUpdate } from '../radio/radioVaultSource';
import { fromHex, toHex } from '../wire/hex';

/** Nodes opened by a test, closed after it. */
export const opened: SoukNode[] = [];

export function closeAll(): void {
  for (const node of opened.splice(0)) node.close();
}

export async function openNode(options: Partial<SoukNodeOptions> = {}): Promise<SoukNode> {
  const node = await SoukNode.open({ storage: new MemoryStorage(), ...options });
  opened.push(node);
  return node;
}

export async function shopNode(name: string, options: Partial<SoukNodeOptions> = {}): Promise<SoukNode> {
  const node = await openNode(options);
  await node.createShop({ name, area: 'Old Town', currency: 'EUR', exactLocation: 'Stall 14' });
  return node;
}

export function link(a: SoukNode, b: SoukNode, tap?: LinkTap, options?: MemoryLinkOptions) {
  const [x, y] = createMemoryLinkPair('a', 'b', tap, options);
  a.addLink(x);
  b.addLink(y);
  return [x, y] as const;
}

export const vaultOf = (node: SoukNode) => node.view().shop!.vaultId;
export const nodeIdOf = (node: SoukNode) => toHex(node.nodeId);
export const priceAt = (node: SoukNode, product: string, seller?: string) =>
  node.marketplace(product).offers.find((o) => o.name === product && (!seller || o.seller === seller))?.price;

/** An honest owner with one offer, and a victim that has its vault. */
export async function ownerAndVictim() {
  const owner = await shopNode('Owner');
  const victim = await shopNode('Victim');
  const product = await owner.addProduct({ name: 'Honey', sku: 'H', unit: 'jar', price: 700, stock: 9 });
  await owner.setOffer(product, { quantity: 9, price: 700 });
  link(owner, victim);
  await eventually(() => priceAt(victim, 'Honey') === 700, 10_000, 'the honest offer to arrive');
  return { owner, victim, product, vault: vaultOf(owner) };
}

/** The bundle a node serves for a vault (its canonical encoding), fetched like a peer would. */
export async function servedSnapshot(node: SoukNode, vault: string): Promise<Uint8Array> {
  const reader = new RawPeer(node, 'reader');
  await reader.hello();
  await reader.send({ type: 'want', vaultId: fromHex(vault), have: [] });
  const message = await reader.waitFor('changes');
  reader.end.close('done');
  return message.changes[0]!;
}

/** The honest owner's next edit reaches the victim (its edits still flow). */
export async function honestEditFlows(owner: SoukNode, victim: SoukNode, product: string, price: number): Promise<void> {
  await owner.setOffer(product, { quantity: 9, price });
  await eventually(() => priceAt(victim, 'Honey', 'Owner') === price, 10_000, 'the honest edit to arrive');
}

export function noHonestNodeBlocked(...nodes: SoukNode[]): void {
  const honest = new Set(nodes.map(nodeIdOf));
  for (const node of nodes) {
    for (const blocked of node.view().blockedPeers) if (honest.has(blocked)) throw new Error(`${node.view().shop?.name} blocked an honest node`);
    for (const other of nodes) if (node.policy.offences(nodeIdOf(other)) > 0) throw new Error('an offence was counted against an honest node');
  }
}

/** Every stored vault encoding is this node's own canonical A.save of it. */
export async function storesCanonicalBytes(storage: MemoryStorage, vault: string): Promise<Uint8Array> {
  const stored = await storage.load(['vault', vault, 'doc']);
  if (!stored) throw new Error('vault not stored');
  const canonical = A.save(A.load(stored));
  if (toHex(canonical) !== toHex(stored)) throw new Error('stored bytes are not the canonical encoding');
  return stored;
}

/**
 * Plays the hostile owners' side of `peer`'s link: answers every want it receives for one of
 * them (each vault once), with changes when asked with heads and `incremental` is set, else the
 * whole document. Runs until `stop()`; `served` holds the vaults answered.
 */
export function serveWants(peer: RawPeer, owners: HostileOwner[], incremental = false): { stop: () => void; served: Set<string> } {
  const served = new Set<string>();
  let seen = 0;
  let stopped = false;
  void (async () => {
    while (!stopped && peer.closedReason === undefined) {
      const messages = peer.received.slice(seen);
      seen = peer.received.length;
      for (const message of messages) {
        if (message.type !== 'want') continue;
        const owner = owners.find((o) => o.id === toHex(message.vaultId));
        if (!owner) continue;
        served.add(owner.id);
        if (incremental && message.have.length > 0) {
          const changes = A.getChangesSince(owner.doc, message.have).map(compressChange);
          await peer.send({ type: 'changes', statements: [owner.statement()], snapshot: false, changes });
        } else await peer.send({ type: 'changes', statements: [owner.statement()], snapshot: true, changes: [owner.snapshot()] });
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  })();
  return { stop: () => (stopped = true), served };
}

/** A seller with honey on offer, a buyer holding that version, then apart (no link: the radio is all they have). */
export async function radioApart() {
  const seller = await shopNode('Hill Stall');
  const honey = await seller.addProduct({ name: 'Honey', sku: 'H', unit: 'jar', price: 700, stock: 10 });
  await seller.setOffer(honey, { quantity: 8, price: 700 });
  const buyer = await shopNode('Valley Shop');
  const ends = link(seller, buyer);
  await eventually(() => buyer.marketplace('Honey').offers.find((o) => o.name === 'Honey')?.quantity === 8, 10_000, 'the buyer to hold the offer');
  for (const end of ends) end.close('apart');
  const updates: RadioUpdate[] = [];
  seller.radioSource().onOwnUpdate((update) => updates.push(update));
  return { seller, buyer, honey, updates };
}
