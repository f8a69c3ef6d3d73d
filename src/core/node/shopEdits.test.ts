import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStorage } from '../storage/memoryStorage';
import { SoukNode } from './soukNode';

const open: SoukNode[] = [];
afterEach(() => {
  for (const node of open.splice(0)) node.close();
});

async function shop(): Promise<SoukNode> {
  const node = await SoukNode.open({ storage: new MemoryStorage() });
  open.push(node);
  await node.createShop({ name: 'Edits', area: 'Harbour', exactLocation: 'Pier 3' });
  return node;
}

describe('shop edits that fail', () => {
  it('a refused profile change leaves the shop as it was, and later edits still work', async () => {
    const node = await shop();
    const id = await node.addProduct({ name: 'Nets', sku: 'N', unit: 'each', price: 500, stock: 4 });
    await expect(node.updateProfile({ name: '  ', area: 'Harbour', exactLocation: 'Pier 9' })).rejects.toThrow('Shop name is required');
    expect(node.view().shop).toMatchObject({ name: 'Edits', exactLocation: 'Pier 3' });
    await node.adjustStock(id, 1);
    expect(node.products().products[0]!.stock).toBe(5);
    await node.updateProfile({ name: 'Edits & Sons', area: 'Old Harbour' });
    expect(node.view().shop).toMatchObject({ name: 'Edits & Sons', area: 'Old Harbour' });
  });

  it('a product and its offer are saved together or not at all', async () => {
    const node = await shop();
    const id = await node.addProduct({ name: 'Rope', sku: 'R', unit: 'm', price: 100, stock: 50 });
    await expect(node.updateProduct(id, { name: 'Rope, tarred', sku: 'R', unit: 'm', price: 120, stock: 10 }, { quantity: 20, price: 110 })).rejects.toThrow(
      'Offered quantity (20) is more than stock (10)',
    );
    expect(node.products().products[0]).toMatchObject({ name: 'Rope', price: 100, stock: 50, offer: null });
    await node.updateProduct(id, { name: 'Rope, tarred', sku: 'R', unit: 'm', price: 120, stock: 10 }, { quantity: 10, price: 110 });
    expect(node.marketplace('rope').offers[0]).toMatchObject({ name: 'Rope, tarred', quantity: 10, price: 110 });
    await node.updateProduct(id, { name: 'Rope, tarred', sku: 'R', unit: 'm', price: 120, stock: 10 }, null);
    expect(node.marketplace('rope').total).toBe(0);
  });
});

describe('marketplace listing', () => {
  it('a limited listing is the first offers by name, not the first found', async () => {
    const node = await shop();
    await node.importProducts(['Walnut', 'Apricot', 'Zaatar', 'Bay leaf', 'Cumin'].map((name) => ({ name, sku: '', unit: 'each', price: 100, stock: 5, offerQuantity: 5 })));
    const listing = node.marketplace('', 2);
    expect(listing.offers.map((o) => o.name)).toEqual(['Apricot', 'Bay leaf']);
    expect(listing.total).toBe(5);
  });
});
