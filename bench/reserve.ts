import { SimulatedNetwork, type SimulatedPeer } from '../src/core/simulation/simulatedNetwork';
import { eventually } from '../src/core/test/rawPeer';
import type { EventRef } from '../src/core/trade/tradeEvent';

const BUYERS = 100;

/** A seller linked to `count` buyers in memory (real link backpressure), every buyer holding the seller's offer and the seller every buyer's vault. */
async function market(count: number): Promise<{ network: SimulatedNetwork; seller: SimulatedPeer; buyers: SimulatedPeer[]; product: string; sellerId: string }> {
  const network = new SimulatedNetwork();
  const seller = await network.addNode('Seller');
  const product = await seller.node.addProduct({ name: 'Saffron', sku: 'SAF', unit: 'g', price: 500, stock: 1000 });
  await seller.node.setOffer(product, { quantity: 1000, price: 500 });
  await seller.node.setTradeRules({ autoAcceptUpTo: 10, holdMinutes: 60 });
  const buyers: SimulatedPeer[] = [];
  for (let i = 0; i < count; i++) {
    const buyer = await network.addNode(`Buyer ${i}`);
    network.connect(seller, buyer);
    buyers.push(buyer);
  }
  const sellerId = seller.node.view().shop!.vaultId;
  await eventually(() => buyers.every((b) => b.node.marketplace('Saffron').offers.some((o) => o.vaultId === sellerId)), 120_000, 'every buyer holds the offer');
  await eventually(() => buyers.every((b) => seller.node.statementsOf(b.node.view().shop!.vaultId) !== undefined), 120_000, 'the seller holds every buyer');
  return { network, seller, buyers, product, sellerId };
}

const stateOf = (peer: SimulatedPeer, request: EventRef) => peer.node.trade.reservation(request)?.state;

/**
 * `reserve`: 100 buyers each reserve from one seller at once; the value is the time until every
 * buyer sees its final answer (accepted or refused). The reference is the time, in the same
 * network, for 100 plain stock edits on the seller to reach every buyer.
 */
export async function reserve(): Promise<void> {
  const { network, seller, buyers, product, sellerId } = await market(BUYERS);
  try {
    // Reference: 100 stock edits on the seller, until every buyer holds the last version.
    const refStart = performance.now();
    // The whole stock is offered: each edit moves the shared offer, as a reservation's answer does.
    for (let i = 0; i < BUYERS; i++) await seller.node.adjustStock(product, -1);
    const target = seller.node.statementsOf(sellerId)!;
    const counter = Math.max(...target.map((s) => s.counter));
    await eventually(() => buyers.every((b) => (b.node.statementsOf(sellerId) ?? []).some((s) => s.counter >= counter)), 300_000, 'every buyer holds the last edit');
    const ref = performance.now() - refStart;

    const start = performance.now();
    const requests = await Promise.all(buyers.map((b) => b.node.reserve(sellerId, product, 1)));
    await eventually(
      () => buyers.every((b, i) => ['accepted', 'refused'].includes(stateOf(b, requests[i]!) ?? '')),
      300_000,
      'every buyer sees its answer',
    );
    const ms = performance.now() - start;
    const accepted = buyers.filter((b, i) => stateOf(b, requests[i]!) === 'accepted').length;
    if (accepted !== BUYERS) throw new Error(`expected every request accepted, ${accepted} were`);
    console.log(`BENCH reserve ${ms.toFixed(0)} ms ref=${ref.toFixed(0)} ms ratio=${(ms / ref).toFixed(2)}`);
  } finally {
    network.close();
  }
}
