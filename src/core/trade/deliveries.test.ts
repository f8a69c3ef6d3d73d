import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, link, openNode, vaultOf } from '../attacks/attackKit';
import type { SoukNode } from '../node/soukNode';
import type { DeliveryView } from '../node/deliveryDesk';
import { ManualClock } from '../test/manualClock';
import { vaultPrefix, type EventRef } from './tradeEvent';

afterEach(closeAll);

async function participant(clock: ManualClock, name: string, area: string, role: 'shop' | 'driver' = 'shop'): Promise<SoukNode> {
  const node = await openNode({ clock });
  await node.createShop({ name, area, currency: 'EUR', role });
  return node;
}

/** Moves the shared clock in steps the links' heartbeats survive, letting the nodes work between steps. */
async function pass(clock: ManualClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 4000) {
    clock.advance(Math.min(4000, ms - t));
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Waits for `condition` while the shared clock moves 100 ms a tick (the seller's node gathers answers for 50 ms on its clock). */
async function ticking(clock: ManualClock, condition: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    clock.advance(100);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const seconds = (clock: ManualClock) => Math.floor(clock.now() / 1000);
const deliveryAt = (node: SoukNode, request: EventRef): DeliveryView | undefined =>
  node.deliveryList().find((d) => d.reservation.vault === request.vault && d.reservation.id === request.id);
const reservationState = (node: SoukNode, request: EventRef) => node.reservations().find((r) => r.request.id === request.id)?.state;

describe('deliveries: a driver who goes silent is replaced', () => {
  it('seller, buyer and two drivers: reserve → accept → fulfil → request → driver 1 silent → driver 2 → picked up → delivered; the hand-over is seen on every side and the late acceptance changes nothing', async () => {
    const clock = new ManualClock();
    const seller = await participant(clock, 'Seller', 'Old Town');
    const buyer = await participant(clock, 'Buyer', 'New Town');
    const driver1 = await participant(clock, 'Driver One', 'Old Town', 'driver');
    const driver2 = await participant(clock, 'Driver Two', 'Old Town', 'driver');
    expect(driver1.view().shop!.role).toBe('driver');
    expect(seller.view().shop!.role).toBe('shop');
    const product = await seller.addProduct({ name: 'Saffron', sku: 'SAF', unit: 'g', price: 500, stock: 10 });
    await seller.setOffer(product, { quantity: 10, price: 500 });
    await seller.setTradeRules({ autoAcceptUpTo: 100, holdMinutes: 600 });
    const now = seconds(clock);
    // Case and spaces of the area do not matter; the seller trusts driver 1, so it is proposed first.
    await seller.setTrusted(vaultOf(driver1), true);
    await driver1.announceCapacity({ area: 'new  town', load: 10, from: now, until: now + 8 * 3600 });
    await driver2.announceCapacity({ area: 'New Town', load: 5, from: now, until: now + 8 * 3600 });
    await expect(seller.announceCapacity({ area: 'New Town', load: 5, from: now, until: now + 3600 })).rejects.toThrow(/Only a driver/);

    link(seller, buyer);
    const [toDriver1] = link(seller, driver1);
    link(seller, driver2);
    await ticking(clock, () => buyer.marketplace('Saffron').offers.length === 1, 10_000, 'buyer sees the offer');
    const request = await buyer.reserve(vaultOf(seller), product, 3);
    await ticking(clock, () => reservationState(seller, request) === 'accepted', 10_000, 'accepted');
    await expect(seller.requestDelivery(request)).rejects.toThrow(/Only a fulfilled sale/);
    await seller.fulfilReservation(request);

    await ticking(clock, () => seller.proposedDrivers(request).length === 2, 10_000, 'both drivers proposed');
    expect(seller.proposedDrivers(request).map((p) => p.name)).toEqual(['Driver One', 'Driver Two']);
    expect(seller.deliveryBoard().awaiting.map((r) => r.request.id)).toEqual([request.id]);
    const first = await seller.requestDelivery(request);
    await expect(seller.requestDelivery(request)).rejects.toThrow(/Driver One is on this delivery/);
    expect(seller.deliveryBoard().awaiting).toHaveLength(0);
    await ticking(clock, () => deliveryAt(driver1, request)?.mineIsCurrent === true, 10_000, 'driver 1 is offered the job');
    expect(deliveryAt(driver1, request)!.state).toBe('proposed');
    expect(deliveryAt(driver1, request)!.to).toBe('New Town');
    await ticking(clock, () => deliveryAt(buyer, request)?.current.driverName === 'Driver One', 10_000, 'buyer sees driver 1 asked');

    // Driver 1 goes silent (its link drops) past the answer deadline: the seller's node hands the job to driver 2.
    toDriver1.close('driver 1 goes silent');
    await ticking(clock, () => seller.view().peers.length === 2, 10_000, 'driver 1 gone');
    await pass(clock, 31 * 60 * 1000);
    await ticking(clock, () => deliveryAt(seller, request)?.legs.length === 2, 10_000, 'replaced');
    const atSeller = deliveryAt(seller, request)!;
    expect(atSeller.legs[0]!.state).toBe('replaced');
    expect(atSeller.legs[0]!.replacedBecause).toBe('no answer');
    expect(atSeller.current.driverName).toBe('Driver Two');
    expect(atSeller.handOvers.map((h) => `${h.fromName}→${h.toName}:${h.reason}`)).toEqual(['Driver One→Driver Two:no answer']);

    await ticking(clock, () => deliveryAt(driver2, request)?.mineIsCurrent === true, 10_000, 'driver 2 is offered the job');
    const job = deliveryAt(driver2, request)!.current.ref;
    expect(job).not.toEqual(first);
    await expect(driver2.reportPickedUp(job)).rejects.toThrow(/Accept the job first/);
    await driver2.answerDelivery(job, true);
    await ticking(clock, () => deliveryAt(buyer, request)?.state === 'accepted', 10_000, 'buyer sees driver 2 accept');
    await driver2.reportPickedUp(job);
    await ticking(clock, () => deliveryAt(seller, request)?.state === 'pickedUp', 10_000, 'seller sees the pick-up');
    await driver2.reportDelivered(job);
    await ticking(clock, () => reservationState(seller, request) === 'delivered' && reservationState(buyer, request) === 'delivered', 10_000, 'delivered on both sides');
    for (const side of [seller, buyer]) {
      const d = deliveryAt(side, request)!;
      expect(d.state).toBe('delivered');
      expect(d.handOvers).toHaveLength(1);
      expect(d.handOvers[0]).toMatchObject({ fromName: 'Driver One', toName: 'Driver Two', reason: 'no answer' });
    }
    expect(deliveryAt(buyer, request)!.side).toBe('buyer');
    expect(deliveryAt(seller, request)!.side).toBe('seller');

    // Driver 1, still cut off, accepts late: its node does not yet know; once it syncs, nothing changes.
    expect(deliveryAt(driver1, request)!.state).toBe('silent');
    await driver1.answerDelivery(first, true);
    link(seller, driver1);
    await ticking(clock, () => deliveryAt(seller, request)?.legs[0]!.late.length === 1, 10_000, 'seller carries the late acceptance');
    await ticking(clock, () => deliveryAt(driver1, request)?.mineIsCurrent === false, 10_000, 'driver 1 learns it was replaced');
    await expect(driver1.reportPickedUp(first)).rejects.toThrow(/another driver/);
    for (const side of [seller, buyer, driver1, driver2]) {
      const d = deliveryAt(side, request)!;
      expect(d.state).toBe('delivered');
      expect(d.current.driverPrefix).toBe(vaultPrefix(vaultOf(driver2)));
      expect(d.legs[0]!.acceptedAt).toBeNull();
    }
    await ticking(clock, () => deliveryAt(buyer, request)?.legs[0]!.late.length === 1, 10_000, 'buyer sees the late step as late');
    expect(reservationState(buyer, request)).toBe('delivered');
  }, 60_000);

  it('a declined job is handed on at once; with no driver left the delivery waits and can be asked again', async () => {
    const clock = new ManualClock();
    const seller = await participant(clock, 'Seller', 'Old Town');
    const buyer = await participant(clock, 'Buyer', 'Harbour');
    const driver1 = await participant(clock, 'Driver One', 'Old Town', 'driver');
    const driver2 = await participant(clock, 'Driver Two', 'Old Town', 'driver');
    const product = await seller.addProduct({ name: 'Saffron', sku: 'SAF', unit: 'g', price: 500, stock: 10 });
    await seller.setOffer(product, { quantity: 10, price: 500 });
    await seller.setTradeRules({ autoAcceptUpTo: 100, holdMinutes: 600 });
    const now = seconds(clock);
    await driver1.announceCapacity({ area: 'Harbour', load: 10, from: now, until: now + 8 * 3600 });
    link(seller, buyer);
    link(seller, driver1);
    link(seller, driver2);
    await ticking(clock, () => buyer.marketplace('Saffron').offers.length === 1, 10_000, 'offer');
    const request = await buyer.reserve(vaultOf(seller), product, 2);
    await ticking(clock, () => reservationState(seller, request) === 'accepted', 10_000, 'accepted');
    await seller.fulfilReservation(request);
    await ticking(clock, () => seller.proposedDrivers(request).length === 1, 10_000, 'driver 1 proposed');
    await seller.requestDelivery(request);
    await ticking(clock, () => deliveryAt(driver1, request)?.mineIsCurrent === true, 10_000, 'offered');
    await driver1.answerDelivery(deliveryAt(driver1, request)!.current.ref, false, 'van broke down');
    await ticking(clock, () => deliveryAt(seller, request)?.state === 'declined', 10_000, 'declined, nobody to hand on to');
    expect(deliveryAt(seller, request)!.legs).toHaveLength(1);
    expect(deliveryAt(seller, request)!.current.declined).toMatchObject({ text: 'van broke down' });
    // A driver announcing capacity in the area is taken at once.
    await driver2.announceCapacity({ area: 'HARBOUR', load: 3, from: seconds(clock), until: seconds(clock) + 3600 });
    await ticking(clock, () => deliveryAt(seller, request)?.legs.length === 2, 10_000, 'handed on to driver 2');
    expect(deliveryAt(seller, request)!.handOvers[0]).toMatchObject({ fromName: 'Driver One', toName: 'Driver Two', reason: 'declined' });
    await ticking(clock, () => deliveryAt(driver2, request)?.mineIsCurrent === true, 10_000, 'offered to driver 2');
    // Driver 2 accepts but never picks up: past the pick-up deadline the job waits for another driver (none left).
    await driver2.answerDelivery(deliveryAt(driver2, request)!.current.ref, true);
    await ticking(clock, () => deliveryAt(seller, request)?.state === 'accepted', 10_000, 'accepted');
    await pass(clock, 2 * 3600 * 1000 + 5000);
    await ticking(clock, () => deliveryAt(seller, request)?.state === 'silent', 10_000, 'silent after the pick-up deadline');
    expect(deliveryAt(seller, request)!.legs).toHaveLength(2);
    await expect(seller.requestDelivery(request, { driver: vaultOf(driver1) })).rejects.toThrow(/already asked/);
    await expect(seller.requestDelivery(request, { driver: vaultOf(buyer) })).rejects.toThrow(/not a driver/);
    await expect(seller.requestDelivery(request)).rejects.toThrow(/No driver/);
  }, 60_000);

  it('roles live in the profile and the desk checks what a merchant types', async () => {
    const clock = new ManualClock();
    const node = await participant(clock, 'Dara', 'Old Town', 'driver');
    const now = seconds(clock);
    await expect(node.announceCapacity({ area: ' ', load: 1, from: now, until: now + 60 })).rejects.toThrow(/Say which area/);
    await expect(node.announceCapacity({ area: 'x'.repeat(121), load: 1, from: now, until: now + 60 })).rejects.toThrow(/at most 120 bytes/);
    await expect(node.announceCapacity({ area: 'Harbour', load: 0, from: now, until: now + 60 })).rejects.toThrow(/Load must be above 0/);
    await expect(node.announceCapacity({ area: 'Harbour', load: 1.0001, from: now, until: now + 60 })).rejects.toThrow(/three decimals/);
    await expect(node.announceCapacity({ area: 'Harbour', load: 1, from: now, until: now - 1 })).rejects.toThrow(/Until must be after From/);
    await expect(node.announceCapacity({ area: 'Harbour', load: 1, from: now - 7200, until: now - 60 })).rejects.toThrow(/already over/);
    await expect(node.announceCapacity({ area: 'Harbour', load: 1, from: now, until: now + 40 * 86400 })).rejects.toThrow(/31 days/);
    await expect(node.announceCapacity({ area: 'Harbour', load: 1, from: NaN, until: now + 60 })).rejects.toThrow(/From is not a date/);
    await expect(node.requestDelivery({ vault: '0'.repeat(16), id: '1'.repeat(16) })).rejects.toThrow(/not one of your sales/);
    await expect(node.answerDelivery({ vault: '0'.repeat(16), id: '1'.repeat(16) }, true)).rejects.toThrow(/not known here/);
    await node.announceCapacity({ area: ' Harbour  North ', load: 2, from: now, until: now + 60 });
    expect(node.deliveryBoard().capacity).toMatchObject({ area: 'Harbour North', load: 2 });
    await expect(node.updateProfile({ name: 'Dara', area: 'Old Town', role: 'pilot' as 'shop' })).rejects.toThrow(/Role must be/);
    await node.updateProfile({ name: 'Dara', area: 'Old Town', role: 'shop' });
    expect(node.view().shop!.role).toBe('shop');
    expect(node.deliveryBoard()).toMatchObject({ role: 'shop', capacity: null });
    await expect(node.announceCapacity({ area: 'Harbour', load: 1, from: now, until: now + 60 })).rejects.toThrow(/Only a driver/);
    await node.updateProfile({ name: 'Dara', area: 'Old Town', role: 'supplier' });
    expect(node.view().shop!.role).toBe('supplier');
    await node.updateProfile({ name: 'Dara', area: 'Old Town' });
    expect(node.view().shop!.role).toBe('supplier');
  });
});
