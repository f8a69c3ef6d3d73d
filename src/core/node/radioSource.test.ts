import { afterEach, describe, expect, it } from 'vitest';
import * as A from '@automerge/automerge';
import { closeAll, link, openNode, radioApart as apart, shopNode, vaultOf } from '../attacks/attackKit';
import { eventually } from '../test/rawPeer';
import type { RadioUpdate } from '../radio/radioVaultSource';
import type { SoukNode } from './soukNode';
import { fromHex } from '../wire/hex';

afterEach(closeAll);

const offered = (node: SoukNode, name: string) => node.marketplace(name).offers.find((o) => o.name === name);


const headsOf = async (node: SoukNode, vault: string) => A.getHeads((await (node as unknown as { store: { doc(id: string): Promise<A.Doc<unknown>> } }).store.doc(vault))!).sort();

describe('the node’s side of radio sync', () => {
  it('a stock change becomes one compact update of at most 200 bytes; the buyer takes it and shows it as via radio', async () => {
    const { seller, buyer, honey, updates } = await apart();
    await seller.setOffer(honey, { quantity: 5, price: 700 });
    expect(updates).toHaveLength(1);
    const [update] = updates;
    expect(update!.kind).toBe('compact');
    expect(update!.cls).toBe('stock');
    expect(update!.label).toBe('Honey: 5 jar at 700');
    expect(update!.bytes.length).toBeLessThanOrEqual(200);
    expect(await buyer.radioSource().takeCompact(update!.bytes, '!0000beef')).toMatchObject({ taken: true });
    expect(offered(buyer, 'Honey')).toMatchObject({ quantity: 5, viaRadio: true });
    // Heard again (the mesh repeats): stale, not an offence.
    expect(await buyer.radioSource().takeCompact(update!.bytes, '!0000beef')).toMatchObject({ taken: false, stale: true, offence: false });
  });

  it('one truth: the version taken by radio has the same heads as the one taken over a link', async () => {
    const { seller, buyer, honey, updates } = await apart();
    const other = await openNode();
    await seller.setOffer(honey, { quantity: 4, price: 650 });
    await buyer.radioSource().takeCompact(updates[0]!.bytes, '!0000beef');
    link(seller, other);
    await eventually(() => offered(other, 'Honey')?.price === 650, 10_000, 'the link to deliver');
    expect(offered(other, 'Honey')?.viaRadio).toBe(false);
    const vault = vaultOf(seller);
    expect(await headsOf(buyer, vault)).toEqual(await headsOf(other, vault));
    expect(await headsOf(buyer, vault)).toEqual(await headsOf(seller, vault));
  });

  it('a forged update (any byte of the signature changed) is refused as an offence and changes nothing', async () => {
    const { seller, buyer, honey, updates } = await apart();
    await seller.setOffer(honey, { quantity: 1, price: 1 });
    const forged = updates[0]!.bytes.slice();
    forged[forged.length - 5]! ^= 0x01;
    const outcome = await buyer.radioSource().takeCompact(forged, '!0000bad0');
    expect(outcome).toMatchObject({ taken: false, offence: true });
    expect(offered(buyer, 'Honey')).toMatchObject({ quantity: 8, price: 700, viaRadio: false });
  });

  it('an update for a vault the node has never heard of is "behind", not an offence', async () => {
    const { seller, honey, updates } = await apart();
    await seller.setOffer(honey, { quantity: 6, price: 700 });
    const stranger = await openNode();
    expect(await stranger.radioSource().takeCompact(updates[0]!.bytes, '!00000001')).toMatchObject({ taken: false, behind: true, offence: false });
  });

  it('a neighbour several versions behind catches up one packet per version from the log; a stranger gets the whole small vault', async () => {
    const { seller, buyer, honey } = await apart();
    const start = seller.radioSource().radioItems().find((i) => i.counter > 0)!;
    const held = buyer.radioSource().radioItems().find((i) => i.vaultId.every((b, k) => b === start.vaultId[k]))!;
    await seller.setOffer(honey, { quantity: 7, price: 700 });
    await seller.setOffer(honey, { quantity: 6, price: 690 });
    await seller.setOffer(honey, { quantity: 5, price: 680 });
    const item = seller.radioSource().radioItems().find((i) => i.vaultId.every((b, k) => b === start.vaultId[k]))!;
    const catchUp = await seller.radioSource().radioCatchUp(item, held.counter);
    expect(catchUp.map((u) => u.kind)).toEqual(['compact', 'compact', 'compact']);
    for (const update of catchUp) expect(await buyer.radioSource().takeCompact(update.bytes, '!0000beef')).toMatchObject({ taken: true });
    expect(offered(buyer, 'Honey')).toMatchObject({ quantity: 5, price: 680 });
    // Someone who holds nothing of it: one bundle with the whole (small) version.
    const stranger = await openNode();
    const whole = await seller.radioSource().radioCatchUp(item, 0);
    expect(whole.map((u) => u.kind)).toEqual(['bundle']);
    expect(await stranger.radioSource().takeBundle(whole[0]!.bytes, '!0000beef')).toMatchObject({ taken: true });
    expect(offered(stranger, 'Honey')).toMatchObject({ quantity: 5, price: 680, viaRadio: true });
    // A bundle cut short is refused, nothing kept.
    const other = await openNode();
    expect(await other.radioSource().takeBundle(whole[0]!.bytes.subarray(0, whole[0]!.bytes.length - 9), '!0000beef')).toMatchObject({ taken: false });
    expect(offered(other, 'Honey')).toBeUndefined();
  });

  it('updates heard out of order are parked and taken once the one they build on arrives', async () => {
    const { seller, buyer, honey, updates } = await apart();
    await seller.setOffer(honey, { quantity: 7, price: 700 });
    await seller.setOffer(honey, { quantity: 6, price: 700 });
    await seller.setOffer(honey, { quantity: 5, price: 700 });
    const [first, second, third] = updates as [RadioUpdate, RadioUpdate, RadioUpdate];
    expect(await buyer.radioSource().takeCompact(third.bytes, '!0000beef')).toMatchObject({ taken: false, behind: true });
    expect(await buyer.radioSource().takeCompact(second.bytes, '!0000beef')).toMatchObject({ taken: false, behind: true });
    expect(offered(buyer, 'Honey')?.quantity).toBe(8);
    expect(await buyer.radioSource().takeCompact(first.bytes, '!0000beef')).toMatchObject({ taken: true });
    expect(offered(buyer, 'Honey')?.quantity).toBe(5);
  });

  it('a change too large for one packet goes as a bundle that a holder of the previous version takes', async () => {
    const { seller, buyer, updates } = await apart();
    await seller.updateProfile({ name: 'Hill Stall — honey, figs, dates, olives and the best almonds in the valley', area: 'Upper valley road, by the well' });
    expect(updates.at(-1)!.kind).toBe('bundle');
    expect(await buyer.radioSource().takeBundle(updates.at(-1)!.bytes, '!0000beef')).toMatchObject({ taken: true });
    expect(buyer.marketplace('Honey').offers[0]!.seller).toMatch(/best almonds/);
  });

  it('the reconciliation set lists the node’s own shop first', async () => {
    const { buyer } = await apart();
    const items = buyer.radioSource().radioItems();
    expect(items.length).toBeGreaterThanOrEqual(2);
    expect(items[0]!.vaultId).toEqual(fromHex(vaultOf(buyer)));
  });
});
