import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedNetwork, type SimulatedPeer } from '../simulation/simulatedNetwork';
import type { SoukNode } from '../node/soukNode';
import type { Clock } from '../clock';
import { eventually } from '../test/rawPeer';
import { MemoryStorage } from '../storage/memoryStorage';
import { SoukNode as Node } from '../node/soukNode';
import { createMemoryLinkPair } from '../link/memoryLink';
import { slotId, type EventRef } from './tradeEvent';

const networks: SimulatedNetwork[] = [];
afterEach(() => {
  for (const network of networks.splice(0)) network.close();
});

async function market(buyers: number, stock: number, autoAcceptUpTo: number | null = 100) {
  const network = new SimulatedNetwork();
  networks.push(network);
  const seller = await network.addNode('Seller');
  const product = await seller.node.addProduct({ name: 'Saffron', sku: 'SAF', unit: 'g', price: 500, stock });
  await seller.node.setOffer(product, { quantity: stock, price: 500 });
  await seller.node.setTradeRules({ autoAcceptUpTo, holdMinutes: 60 });
  const list: SimulatedPeer[] = [];
  for (let i = 0; i < buyers; i++) {
    const buyer = await network.addNode(`Buyer ${i}`);
    network.connect(seller, buyer);
    list.push(buyer);
  }
  const sellerId = seller.node.view().shop!.vaultId;
  await eventually(() => list.every((b) => b.node.marketplace('Saffron').offers.some((o) => o.vaultId === sellerId)), 30_000, 'every buyer sees the offer');
  return { network, seller, product, sellerId, buyers: list };
}

const stateOf = (node: SoukNode, request: EventRef) => node.reservations().find((r) => r.request.id === request.id && r.request.vault === request.vault)?.state;
const stockOf = (node: SoukNode) => node.products().products[0]!.stock;
const final = (state: string | undefined) => state === 'accepted' || state === 'refused';

describe('the race for the last units (20 buyers, 5 units)', () => {
  it('exactly 5 units are held and sold; everyone else gets a clear refusal', async () => {
    const { seller, product, sellerId, buyers } = await market(20, 5);
    // Everyone at once.
    const requests = await Promise.all(buyers.map((b) => b.node.reserve(sellerId, product, 1, 'mine')));
    await eventually(() => buyers.every((b, i) => final(stateOf(b.node, requests[i]!))), 60_000, 'every buyer has its answer');
    const states = buyers.map((b, i) => stateOf(b.node, requests[i]!));
    expect(states.filter((s) => s === 'accepted')).toHaveLength(5);
    expect(states.filter((s) => s === 'refused')).toHaveLength(15);
    for (const [i, b] of buyers.entries()) {
      const r = b.node.reservations().find((x) => x.request.id === requests[i]!.id)!;
      if (r.state === 'refused') expect(r.refusal!.reason).toBe('not enough available');
    }
    // The seller agrees, and each request has exactly one answer in its vault.
    const sold = seller.node.reservations();
    expect(sold.filter((r) => r.state === 'accepted')).toHaveLength(5);
    expect(sold).toHaveLength(20);
    await eventually(() => buyers.every((b) => b.node.marketplace('Saffron').offers.find((o) => o.vaultId === sellerId)?.quantity === 0), 30_000, 'the offer shows none left');
    for (const r of sold.filter((x) => x.state === 'accepted')) await seller.node.fulfilReservation(r.request);
    for (const r of sold.filter((x) => x.state === 'refused')) await expect(seller.node.fulfilReservation(r.request)).rejects.toThrow(/refused/);
    expect(stockOf(seller.node)).toBe(0);
    await eventually(() => buyers.filter((b, i) => stateOf(b.node, requests[i]!) === 'fulfilled').length === 5, 30_000, 'five buyers see their sale');
  });

  it('buyers asking for different quantities never get more than the stock between them', async () => {
    const { seller, product, sellerId, buyers } = await market(12, 7);
    const requests = await Promise.all(buyers.map((b, i) => b.node.reserve(sellerId, product, 1 + (i % 3))));
    await eventually(() => buyers.every((b, i) => final(stateOf(b.node, requests[i]!))), 60_000, 'answers');
    const held = buyers.reduce((sum, b, i) => sum + (stateOf(b.node, requests[i]!) === 'accepted' ? 1 + (i % 3) : 0), 0);
    expect(held).toBeLessThanOrEqual(7);
    // Judged in order: nothing refused that would still have fit.
    expect(held).toBeGreaterThanOrEqual(7 - 2);
    expect(stockOf(seller.node)).toBe(7);
  });
});

describe('duplicated and retried requests', () => {
  it('restarts on both sides and a second link never answer a request twice nor sell twice', async () => {
    const { network, seller, product, sellerId, buyers } = await market(1, 10);
    const buyer = buyers[0]!;
    const request = await buyer.node.reserve(sellerId, product, 4);
    await eventually(() => stateOf(buyer.node, request) === 'accepted', 30_000, 'accepted');
    // The buyer's device restarts (its request is the same event) and the seller restarts too.
    await network.restart(buyer);
    await network.restart(seller);
    // A second link between the same two nodes: the same vault heard twice.
    network.connect(seller, buyer);
    await eventually(() => seller.node.view().peers.length >= 1 && buyer.node.view().peers.length >= 1, 30_000, 'relinked');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(seller.node.reservations()).toHaveLength(1);
    expect(seller.node.reservations()[0]!.state).toBe('accepted');
    await seller.node.fulfilReservation(request);
    await network.restart(seller);
    await expect(seller.node.fulfilReservation(request)).rejects.toThrow(/already fulfilled/);
    expect(stockOf(seller.node)).toBe(6);
    await eventually(() => stateOf(buyer.node, request) === 'fulfilled', 30_000, 'fulfilled at the buyer');
    // The seller's vault has exactly one answer and one closing step for the request.
    const steps = seller.node.reservations()[0]!.steps.map((s) => s.type).sort();
    expect(steps).toEqual(['offerFulfilled', 'reservationAccepted', 'reservationRequested']);
    expect(seller.node.reservations()[0]!.steps.find((s) => s.type === 'offerFulfilled')!.id).toBe(slotId('close', request));
  });
});

/** Real time that a test can move forward at once: timers due by then fire on the jump. */
class JumpingClock implements Clock {
  private offset = 0;
  private readonly timers = new Set<{ at: number; fire: () => void }>();
  now(): number {
    return Date.now() + this.offset;
  }
  setTimer(callback: () => void, ms: number): () => void {
    const timer = { at: this.now() + ms, fire: () => {} };
    const handle = setTimeout(() => timer.fire(), ms);
    timer.fire = () => {
      clearTimeout(handle);
      if (!this.timers.delete(timer)) return;
      callback();
    };
    this.timers.add(timer);
    return () => {
      clearTimeout(handle);
      this.timers.delete(timer);
    };
  }
  jump(ms: number): void {
    this.offset += ms;
    for (const timer of [...this.timers]) if (timer.at <= this.now()) timer.fire();
  }
}

describe('holds expire on the seller clock', () => {
  it('an accepted hold past its time is written as expired and the offer comes back', async () => {
    const clock = new JumpingClock();
    const storage = new MemoryStorage();
    const seller = await Node.open({ storage, clock });
    await seller.createShop({ name: 'Seller', area: 'Old Town' });
    const buyer = await Node.open({ storage: new MemoryStorage() });
    await buyer.createShop({ name: 'Buyer', area: 'Old Town' });
    try {
      const product = await seller.addProduct({ name: 'Saffron', sku: 'SAF', unit: 'g', price: 500, stock: 5 });
      await seller.setOffer(product, { quantity: 5, price: 500 });
      await seller.setTradeRules({ autoAcceptUpTo: 5, holdMinutes: 30 });
      const [x, y] = createMemoryLinkPair('s', 'b');
      seller.addLink(x);
      buyer.addLink(y);
      const sellerId = seller.view().shop!.vaultId;
      await eventually(() => buyer.marketplace('Saffron').offers.some((o) => o.vaultId === sellerId), 10_000, 'offer');
      const request = await buyer.reserve(sellerId, product, 5);
      await eventually(() => stateOf(buyer, request) === 'accepted', 10_000, 'accepted');
      await eventually(() => buyer.marketplace('Saffron').offers[0]!.quantity === 0, 10_000, 'held');
      clock.jump(29 * 60_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(stateOf(seller, request)).toBe('accepted');
      clock.jump(2 * 60_000);
      await eventually(() => seller.reservations()[0]!.steps.some((s) => s.type === 'reservationExpired'), 10_000, 'expiry written');
      // Half an hour of the seller's time ended its link (no heartbeat heard): the two meet again.
      const [x2, y2] = createMemoryLinkPair('s2', 'b2');
      seller.addLink(x2);
      buyer.addLink(y2);
      await eventually(() => stateOf(buyer, request) === 'expired' && buyer.marketplace('Saffron').offers[0]!.quantity === 5, 10_000, 'the buyer sees the expiry and the offer back');
      await expect(seller.fulfilReservation(request)).rejects.toThrow(/expired/);
      expect(seller.products().products[0]!.stock).toBe(5);
    } finally {
      seller.close();
      buyer.close();
    }
  });
});
