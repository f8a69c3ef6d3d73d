import * as A from '@automerge/automerge';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, link, openNode, servedSnapshot, shopNode, vaultOf } from '../attacks/attackKit';
import { eventually } from '../test/rawPeer';
import { ManualClock } from '../test/manualClock';
import { readVaultContent } from '../vault/vaultShape';
import { fromHex } from '../wire/hex';
import { recordReservationMove } from './reservationMove';
import type { SoukNode } from './soukNode';

afterEach(closeAll);

const idOf = (node: SoukNode, name: string) => node.products(name).products.find((p) => p.name === name)!.id;
const stockOf = (node: SoukNode, name: string) => node.products(name).products.find((p) => p.name === name)?.stock;
const remainders = (node: SoukNode, name: string) => Object.fromEntries(node.productStock(idOf(node, name))!.batches.map((b) => [b.expiresOn, b.remaining]));
const ownOffer = (node: SoukNode, name: string) => node.marketplace(name).offers.find((o) => o.name === name && o.own);

describe('batches and attested receipts', () => {
  it('receiving a batch moves stock, keeps the batch privately and writes a signed receipt event without the supplier’s name or any cost', async () => {
    const node = await shopNode('Dates & Co');
    const id = await node.addProduct({ name: 'Medjool dates', sku: 'MD', unit: 'box', price: 1200, stock: 0, costPrice: 987_654, supplierNotes: 'Cousin Omar' });
    const invoice = 'c0ffee'.padEnd(64, '0');
    const { receipt, batchId, moveId } = await node.receiveBatch(id, {
      quantity: 12,
      expiresOn: '2027-02-01',
      supplier: 'Omar Wholesale Tunis',
      receivedOn: '2026-11-20',
      invoice: { hash: invoice },
      supplierVault: 'ab'.repeat(8),
    });
    expect(stockOf(node, 'Medjool dates')).toBe(12);
    expect(node.productStock(id)!.batches).toEqual([
      expect.objectContaining({ id: batchId, received: 12, remaining: 12, expiresOn: '2027-02-01', receivedOn: '2026-11-20', supplier: 'Omar Wholesale Tunis', invoice, receipt }),
    ]);
    expect(node.stockHistory({ productId: id })).toEqual([expect.objectContaining({ id: moveId, kind: 'received', delta: 12 })]);
    // The shared vault, as a peer is served it, read back with the checks every peer applies.
    const shared = A.load(await servedSnapshot(node, vaultOf(node)));
    const content = readVaultContent(shared, fromHex(vaultOf(node)));
    const event = content.trade?.find((e) => e.id === receipt);
    expect(event).toMatchObject({ type: 'batchReceipt', product: id, quantity: 12, expiresOn: '2027-02-01', receivedOn: '2026-11-20', invoice, supplier: 'ab'.repeat(8) });
    expect(event!.device).toBe(node.view().shop!.deviceKey.slice(0, 8));
    const bytes = (shared as unknown as { trade: Record<string, Uint8Array> }).trade[receipt]!;
    const text = new TextDecoder('latin1').decode(bytes);
    expect(text).not.toContain('Omar');
    expect(text).not.toContain('Tunis');
    const everything = JSON.stringify(A.toJS(shared), (_k, v) => (v instanceof Uint8Array ? new TextDecoder('latin1').decode(v) : v));
    expect(everything).not.toContain('Omar');
    expect(everything).not.toContain('987654');
  });

  it('expired stock is never offered: when the clock passes midnight the shared offer drops, with no merchant action', async () => {
    const clock = new ManualClock(); // 2023-11-14 22:13 UTC
    const node = await shopNode('Fresh Fish', { clock });
    const id = await node.addProduct({
      name: 'Sardines',
      sku: 'S',
      unit: 'kg',
      price: 900,
      stock: 10,
      batches: [
        { quantity: 4, expiresOn: '2023-11-14' },
        { quantity: 6, expiresOn: '2023-12-01' },
      ],
    });
    await node.setOffer(id, { quantity: 10, price: 900 });
    expect(ownOffer(node, 'Sardines')).toMatchObject({ quantity: 10, expiresOn: '2023-11-14' });
    expect(node.view().expiryAlerts).toEqual([expect.objectContaining({ productId: id, expiresOn: '2023-11-14', remaining: 4, expired: false })]);
    clock.advance(2 * 3600_000);
    await eventually(() => ownOffer(node, 'Sardines')?.quantity === 6, 5000, 'the offer to drop the expired batch');
    expect(ownOffer(node, 'Sardines')!.expiresOn).toBe('2023-12-01');
    expect(node.view().expiryAlerts).toEqual([expect.objectContaining({ expiresOn: '2023-11-14', remaining: 4, expired: true })]);
    // Expired stock is not sold either; waste takes it.
    await expect(node.sellAtCounter({ productId: id, quantity: 7 })).rejects.toThrow(/Only 6 kg in stock that may be sold \(4 more expired\)/);
    await node.stockMove(id, { kind: 'waste', quantity: 4, note: 'past date' });
    expect(node.view().expiryAlerts).toEqual([]);
    expect(ownOffer(node, 'Sardines')!.quantity).toBe(6);
  });
});

describe('the counter', () => {
  it('a sale takes the earliest expiry first and shows in the day’s takings; undo puts stock and batches back, once', async () => {
    const node = await shopNode('Corner Shop');
    const id = await node.addProduct({ name: 'Yoghurt', sku: 'Y', unit: 'pot', price: 120, stock: 0 });
    await node.receiveBatch(id, { quantity: 5, expiresOn: '2027-03-01' });
    await node.receiveBatch(id, { quantity: 5, expiresOn: '2027-01-10' });
    const sale = await node.sellAtCounter({ productId: id, quantity: 7, unitPrice: 100 });
    expect(stockOf(node, 'Yoghurt')).toBe(3);
    expect(remainders(node, 'Yoghurt')).toEqual({ '2027-01-10': 0, '2027-03-01': 3 });
    const [entry] = node.stockHistory({ limit: 1 });
    expect(entry).toMatchObject({ id: sale, kind: 'sale', delta: -7, price: 100, total: 700, undoneBy: null });
    expect(entry!.takes.map((t) => t.quantity)).toEqual([5, 2]);
    await node.sellAtCounter({ productId: id, quantity: 1 });
    expect(node.daySales()).toMatchObject({ count: 2, takings: 820, currency: 'EUR' });
    await expect(node.sellAtCounter({ productId: id, quantity: 3 })).rejects.toThrow(/Only 2 pot in stock; cannot sell 3/);

    const undo = await node.undoMove(sale);
    expect(stockOf(node, 'Yoghurt')).toBe(9);
    expect(remainders(node, 'Yoghurt')).toEqual({ '2027-01-10': 5, '2027-03-01': 4 });
    expect(node.daySales()).toMatchObject({ count: 1, takings: 120 });
    expect(node.stockHistory({ productId: id }).find((m) => m.id === sale)!.undoneBy).toBe(undo);
    await expect(node.undoMove(sale)).rejects.toThrow(/already undone/);
    await expect(node.undoMove(undo)).rejects.toThrow(/cannot be undone/);
    expect(stockOf(node, 'Yoghurt')).toBe(9);
  });

  it('a correction is a recount with before and after; a delivery and waste are named in the history', async () => {
    const node = await shopNode('Corner Shop');
    const id = await node.addProduct({ name: 'Soap', sku: 'SO', unit: 'bar', price: 80, stock: 10 });
    await node.stockMove(id, { kind: 'received', quantity: 5, note: 'from the van' });
    await node.stockMove(id, { kind: 'waste', quantity: 2 });
    const correction = await node.stockMove(id, { kind: 'correction', quantity: 11 });
    expect(stockOf(node, 'Soap')).toBe(11);
    expect(node.stockHistory({ productId: id }).map((m) => [m.kind, m.delta])).toEqual([
      ['correction', -2],
      ['waste', -2],
      ['received', 5],
    ]);
    expect(node.stockHistory({ productId: id })[0]).toMatchObject({ id: correction, before: 13, after: 11 });
    await node.undoMove(correction);
    expect(stockOf(node, 'Soap')).toBe(13);
  });

  it('the reservation engine’s move is written once under its derived id, however often it is written', async () => {
    const node = await shopNode('Seller');
    const id = await node.addProduct({ name: 'Olive oil', sku: 'O', unit: 'l', price: 900, stock: 0 });
    await node.receiveBatch(id, { quantity: 4, expiresOn: '2027-01-10' });
    const request = { vault: 'ab'.repeat(8), id: 'cd'.repeat(8) };
    // The same fulfilment twice, as the reservation engine would on a retry.
    const edit = (node as unknown as { editShop: (e: (d: never) => { result: unknown; touched: string[] }) => Promise<{ written: boolean }> }).editShop.bind(node);
    const first = await edit((draft) => ({ result: recordReservationMove(draft, { request, productId: id, quantity: 3, unitPrice: 900, at: 1 }), touched: [id] }));
    const second = await edit((draft) => ({ result: recordReservationMove(draft, { request, productId: id, quantity: 3, unitPrice: 900, at: 2 }), touched: [id] }));
    expect([first.written, second.written]).toEqual([true, false]);
    expect(stockOf(node, 'Olive oil')).toBe(1);
    expect(node.stockHistory({ productId: id }).filter((m) => m.kind === 'reservation')).toEqual([expect.objectContaining({ request: `${request.vault}:${request.id}`, delta: -3, total: 2700 })]);
  });
});

describe('two devices of one shop', () => {
  it('selling from batches on both devices while apart merges to the right remainders', async () => {
    const first = await shopNode('Two Tills');
    const second = await openNode();
    const ends = link(first, second);
    const { code } = first.startPairing();
    await second.joinShop(code, 'Back till');
    const id = await first.addProduct({ name: 'Dates', sku: 'D', unit: 'box', price: 500, stock: 0 });
    await first.receiveBatch(id, { quantity: 5, expiresOn: '2027-01-10', supplier: 'Omar' });
    await first.receiveBatch(id, { quantity: 10, expiresOn: '2027-06-01' });
    await eventually(() => stockOf(second, 'Dates') === 15, 10_000, 'the second device to hold both batches');
    expect(remainders(second, 'Dates')).toEqual({ '2027-01-10': 5, '2027-06-01': 10 });
    for (const end of ends) end.close('apart');
    // Both take from the earliest batch, 4 + 3 of its 5.
    await first.sellAtCounter({ productId: id, quantity: 4 });
    await second.sellAtCounter({ productId: id, quantity: 3 });
    expect(remainders(first, 'Dates')).toEqual({ '2027-01-10': 1, '2027-06-01': 10 });
    expect(remainders(second, 'Dates')).toEqual({ '2027-01-10': 2, '2027-06-01': 10 });
    link(first, second);
    await eventually(() => stockOf(first, 'Dates') === 8 && stockOf(second, 'Dates') === 8, 10_000, 'stock to count both sales');
    expect(remainders(first, 'Dates')).toEqual({ '2027-01-10': 0, '2027-06-01': 8 });
    expect(remainders(second, 'Dates')).toEqual({ '2027-01-10': 0, '2027-06-01': 8 });
    expect(first.daySales()).toMatchObject({ count: 2, takings: 3500 });
    expect(second.stockHistory({ productId: id }).filter((m) => m.kind === 'sale').map((m) => m.thisDevice).sort()).toEqual([false, true]);
  });
});
