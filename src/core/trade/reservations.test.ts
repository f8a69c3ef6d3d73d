import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, link, shopNode, vaultOf } from '../attacks/attackKit';
import type { SoukNode } from '../node/soukNode';
import type { ReservationView } from '../node/tradeDesk';
import { eventually } from '../test/rawPeer';
import type { EventRef } from './tradeEvent';

afterEach(closeAll);

/** A seller with `stock` of one product, offered whole, answering by `autoAcceptUpTo`. */
async function seller(stock: number, autoAcceptUpTo: number | null = 100, holdMinutes = 60): Promise<{ node: SoukNode; product: string }> {
  const node = await shopNode('Seller');
  const product = await node.addProduct({ name: 'Saffron', sku: 'SAF', unit: 'g', price: 500, stock });
  await node.setOffer(product, { quantity: stock, price: 500 });
  await node.setTradeRules({ autoAcceptUpTo, holdMinutes });
  return { node, product };
}

const offerAt = (node: SoukNode, sellerId: string) => node.marketplace('Saffron').offers.find((o) => o.vaultId === sellerId);
const find = (node: SoukNode, request: EventRef): ReservationView | undefined => node.reservations().find((r) => r.request.id === request.id && r.request.vault === request.vault);
const stateAt = (node: SoukNode, request: EventRef) => find(node, request)?.state;

describe('reservations between two shops', () => {
  it('a request is accepted by the seller rule, the offer drops once, fulfilment moves stock once, and both sides see every step', async () => {
    const { node: s, product } = await seller(10);
    const b = await shopNode('Buyer');
    link(s, b);
    await eventually(() => offerAt(b, vaultOf(s))?.quantity === 10, 10_000, 'buyer sees the offer');
    const request = await b.reserve(vaultOf(s), product, 3, 'for Friday');
    expect(stateAt(b, request)).toBe('sent');
    await eventually(() => stateAt(b, request) === 'accepted', 10_000, 'buyer sees the acceptance');
    expect(stateAt(s, request)).toBe('accepted');
    expect(find(s, request)!.note).toBe('for Friday');
    expect(find(s, request)!.buyerName).toBe('Buyer');
    await eventually(() => offerAt(b, vaultOf(s))?.quantity === 7, 10_000, 'the offer drops by the hold');
    expect(s.products().products[0]!.stock).toBe(10);
    await s.fulfilReservation(request);
    await expect(s.fulfilReservation(request)).rejects.toThrow(/already fulfilled/);
    expect(s.products().products[0]!.stock).toBe(7);
    await eventually(() => stateAt(b, request) === 'fulfilled', 10_000, 'buyer sees the fulfilment');
    // Drops once: fulfilled, the hold gone, the stock 7, the offer 7 (not 4).
    await eventually(() => offerAt(b, vaultOf(s))?.quantity === 7, 10_000, 'offer after fulfilment');
    expect(s.products().products[0]!.offer!.quantity).toBe(7);
    expect(find(b, request)!.fulfilled).toMatchObject({ quantity: 3, price: 500 });
    // Offering the product was itself a signed event: the trail starts there.
    const created = [...s.trade.currentIndex().eventsOf(vaultOf(s).slice(0, 16))!.values()].filter((e) => e.type === 'offerCreated');
    expect(created).toMatchObject([{ product, quantity: 10, price: 500 }]);
    await s.setOffer(product, { quantity: 6, price: 520 });
    expect([...s.trade.currentIndex().eventsOf(vaultOf(s).slice(0, 16))!.values()].filter((e) => e.type === 'offerCreated')).toHaveLength(1);
  });

  it('requests above the auto-accept limit wait for the merchant (seen), who accepts or refuses with a reason', async () => {
    const { node: s, product } = await seller(10, 2);
    const b = await shopNode('Buyer');
    link(s, b);
    await eventually(() => offerAt(b, vaultOf(s)) !== undefined, 10_000, 'offer');
    const big = await b.reserve(vaultOf(s), product, 4);
    const other = await b.reserve(vaultOf(s), product, 5);
    await eventually(() => stateAt(b, big) === 'seen' && stateAt(b, other) === 'seen', 10_000, 'both seen');
    await s.answerReservation(big, true);
    await s.answerReservation(other, false, 'closed on Fridays');
    await expect(s.answerReservation(other, true)).rejects.toThrow(/not waiting/);
    await eventually(() => stateAt(b, big) === 'accepted' && stateAt(b, other) === 'refused', 10_000, 'answers');
    expect(find(b, other)!.refusal).toMatchObject({ text: 'closed on Fridays' });
  });

  it('a buyer cancelling an accepted hold releases it on the seller; messages go both ways', async () => {
    const { node: s, product } = await seller(4);
    const b = await shopNode('Buyer');
    link(s, b);
    await eventually(() => offerAt(b, vaultOf(s)) !== undefined, 10_000, 'offer');
    const request = await b.reserve(vaultOf(s), product, 4);
    await eventually(() => offerAt(b, vaultOf(s))?.quantity === 0, 10_000, 'all held');
    await b.messageReservation(request, 'Can I collect at noon?');
    await eventually(() => find(s, request)?.messages.length === 1, 10_000, 'seller reads the message');
    await s.messageReservation(request, 'Yes');
    await eventually(() => find(b, request)?.messages.map((m) => `${m.from}:${m.text}`).sort().join('|') === 'buyer:Can I collect at noon?|seller:Yes', 10_000, 'both messages');
    await b.cancelReservation(request);
    await eventually(() => stateAt(s, request) === 'cancelled' && offerAt(b, vaultOf(s))?.quantity === 4, 10_000, 'hold released');
    expect(find(s, request)!.cancelledBy).toBe('buyer');
    await expect(s.fulfilReservation(request)).rejects.toThrow(/cancelled/);
    expect(s.products().products[0]!.stock).toBe(4);
  });

  it('a request made while the seller is unreachable waits, and is answered once they meet', async () => {
    const { node: s, product } = await seller(5);
    const b = await shopNode('Buyer');
    const [x] = link(s, b);
    await eventually(() => offerAt(b, vaultOf(s)) !== undefined, 10_000, 'offer');
    x.close('partition');
    await eventually(() => b.view().peers.length === 0 && s.view().peers.length === 0, 10_000, 'apart');
    const request = await b.reserve(vaultOf(s), product, 2);
    expect(stateAt(b, request)).toBe('sent');
    expect(s.reservations()).toHaveLength(0);
    link(s, b);
    await eventually(() => stateAt(b, request) === 'accepted', 10_000, 'answered after the partition heals');
    expect(s.reservations()).toHaveLength(1);
  });

  it('refuses what is not there: more than available, a withdrawn offer, an old price', async () => {
    const { node: s, product } = await seller(5);
    const b = await shopNode('Buyer');
    link(s, b);
    await eventually(() => offerAt(b, vaultOf(s)) !== undefined, 10_000, 'offer');
    await expect(b.reserve(vaultOf(s), product, 6)).rejects.toThrow(/Only 5/);
    await expect(b.reserve(vaultOf(b), product, 1)).rejects.toThrow(/own shop/);
    const first = await b.reserve(vaultOf(s), product, 4);
    await eventually(() => stateAt(b, first) === 'accepted', 10_000, 'first accepted');
    // The buyer's view may lag: a request for what is no longer there is refused by the seller.
    const second = await b.reserve(vaultOf(s), product, 1);
    const third = await b.reserve(vaultOf(s), product, 1);
    await eventually(() => stateAt(b, second) !== 'sent' && stateAt(b, third) !== 'sent', 10_000, 'answered');
    expect([stateAt(b, second), stateAt(b, third)].sort()).toEqual(['accepted', 'refused']);
    const refused = [second, third].map((r) => find(b, r)!).find((r) => r.state === 'refused')!;
    expect(refused.refusal!.reason).toBe('not enough available');
  });
});

describe('a flood of requests', () => {
  it('one buyer’s flood is answered only up to its budget; another buyer is still answered; a trusted buyer has no budget', async () => {
    const { node: s, product } = await seller(1000);
    const flood = await shopNode('Flood');
    const honest = await shopNode('Honest');
    link(s, flood);
    link(s, honest);
    await eventually(() => offerAt(flood, vaultOf(s)) !== undefined && offerAt(honest, vaultOf(s)) !== undefined, 10_000, 'offers');
    const requests: EventRef[] = [];
    for (let i = 0; i < 45; i++) requests.push(await flood.reserve(vaultOf(s), product, 1));
    await eventually(() => requests.filter((r) => stateAt(flood, r) === 'accepted').length === 20, 20_000, 'twenty answered');
    const mine = await honest.reserve(vaultOf(s), product, 1);
    await eventually(() => stateAt(honest, mine) === 'accepted', 10_000, 'the honest buyer is answered');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(requests.filter((r) => stateAt(flood, r) === 'accepted')).toHaveLength(20);
    expect(requests.filter((r) => stateAt(flood, r) === 'sent')).toHaveLength(25);
    // The seller can still answer the waiting ones by hand.
    await eventually(() => s.reservations().length === 46, 10_000, 'the seller holds every request');
    const waiting = requests.find((r) => stateAt(s, r) === 'sent')!;
    await s.answerReservation(waiting, true);
    await eventually(() => stateAt(flood, waiting) === 'accepted', 10_000, 'the answer by hand arrives');
    // Trusting the buyer lifts its budget.
    await s.setTrusted(vaultOf(flood), true);
    await flood.reserve(vaultOf(s), product, 1);
    await eventually(() => requests.filter((r) => stateAt(flood, r) === 'accepted').length === 45, 20_000, 'the rest answered once trusted');
  });
});
