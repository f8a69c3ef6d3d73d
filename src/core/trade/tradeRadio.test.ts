import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, link, shopNode, vaultOf } from '../attacks/attackKit';
import { eventually } from '../test/rawPeer';
import type { RadioUpdate } from '../radio/radioVaultSource';
import type { SoukNode } from '../node/soukNode';

afterEach(closeAll);

const offered = (node: SoukNode) => node.marketplace('Honey').offers[0];

describe('reservation steps over the radio', () => {
  it('a request and its acceptance each travel as one compact signed update in the trade lane, and the other side takes them', async () => {
    const seller = await shopNode('Hill Stall');
    const honey = await seller.addProduct({ name: 'Honey', sku: 'H', unit: 'jar', price: 700, stock: 10 });
    await seller.setOffer(honey, { quantity: 8, price: 700 });
    await seller.setTradeRules({ autoAcceptUpTo: 5, holdMinutes: 120 });
    const buyer = await shopNode('Valley Shop');
    const ends = link(seller, buyer);
    await eventually(() => offered(buyer)?.quantity === 8 && seller.statementsOf(vaultOf(buyer)) !== undefined, 10_000, 'each holds the other');
    for (const end of ends) end.close('apart');
    await eventually(() => seller.view().peers.length === 0, 10_000, 'apart');
    const fromBuyer: RadioUpdate[] = [];
    const fromSeller: RadioUpdate[] = [];
    buyer.radioSource().onOwnUpdate((u) => fromBuyer.push(u));
    seller.radioSource().onOwnUpdate((u) => fromSeller.push(u));

    const request = await buyer.reserve(vaultOf(seller), honey, 3, 'by radio');
    expect(fromBuyer).toHaveLength(1);
    expect(fromBuyer[0]).toMatchObject({ kind: 'compact', cls: 'trade', label: 'inventory.offer.reserved.request' });
    expect(fromBuyer[0]!.bytes.length).toBeLessThanOrEqual(200);
    expect(await seller.radioSource().takeCompact(fromBuyer[0]!.bytes, '!0000beef')).toMatchObject({ taken: true });

    await eventually(() => fromSeller.length === 1, 10_000, 'the seller answers');
    expect(fromSeller[0]).toMatchObject({ kind: 'compact', cls: 'trade', label: 'inventory.offer.reserved.acceptance' });
    expect(fromSeller[0]!.bytes.length).toBeLessThanOrEqual(200);
    expect(await buyer.radioSource().takeCompact(fromSeller[0]!.bytes, '!0000cafe')).toMatchObject({ taken: true });
    expect(buyer.reservations().find((r) => r.request.id === request.id)?.state).toBe('accepted');
    // The acceptance carried the held offer with it: the buyer sees 5 left.
    expect(offered(buyer)).toMatchObject({ quantity: 5, viaRadio: true });
  });
});
