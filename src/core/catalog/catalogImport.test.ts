import { describe, expect, it } from 'vitest';
import type { Product } from '../vault/vaultDocuments';
import { catalogToCsv, readCatalogCsv, type CatalogCsvRow } from './catalogCsv';
import { planCatalogImport } from './catalogImport';

function product(n: number, fields: Partial<Product> = {}): Product {
  return {
    id: `id-${n}`,
    name: `Product ${n}`,
    sku: `SKU-${n}`,
    unit: n % 2 ? 'kg' : 'each',
    price: 100 + n,
    stock: n % 7,
    costPrice: n % 3 ? 50 + n : null,
    supplierNotes: n % 5 ? '' : `Supplier ${n}\nsecond line`,
    shelf: `S${n % 40}`,
    batches: n % 4 ? [] : [{ id: `b-${n}`, quantity: n % 7, expiresOn: '2027-03-01' }],
    offer: n % 6 ? null : { quantity: 0, price: 90 + n },
    createdAt: 1,
    updatedAt: 1,
    ...fields,
  };
}

function read(text: string, currency = 'USD') {
  const result = readCatalogCsv(text, currency);
  expect(result.problems).toEqual([]);
  return result;
}

describe('planning a catalog import', () => {
  it('plans nothing for a file exported from the same catalog', () => {
    const catalog = Array.from({ length: 60 }, (_, i) => product(i + 1));
    const { rows, columns } = read(catalogToCsv(catalog, 'USD'));
    expect(planCatalogImport(catalog, rows, columns)).toEqual({ added: [], changed: [], unchanged: 60, problems: [], warnings: [] });
  });

  it('updates products by SKU, naming each changed field, and adds the rest', () => {
    const catalog = [product(1), product(2, { offer: { quantity: 1, price: 150 } }), product(3, { sku: '' })];
    const text = [
      'sku,name,price,stock,unit,shelf,offer_quantity,offer_price,batches',
      'SKU-1,Product 1,1.01,1,kg,S1,,,',
      'SKU-2,Product two,1.50,3,each,S2,1,1.50,',
      'sku-1,Lower case is another product,1,0,,,,,',
      ',Product 3,1.03,3,kg,S3,,,',
      'SKU-9,Brand new,2,1,,,,,4@2027-01-01',
    ].join('\n');
    const plan = planCatalogImport(catalog, read(text).rows, read(text).columns);
    expect(plan.changed.map((c) => [c.id, c.line, c.fields])).toEqual([['id-2', 3, ['name', 'price', 'stock']]]);
    expect(plan.changed[0]!.row).toMatchObject({ line: 3, sku: 'SKU-2', name: 'Product two', price: 150, stock: 3, offerQuantity: 1, offerPrice: 150, costPrice: 52 });
    expect(plan.added.map((r) => [r.line, r.name])).toEqual([
      [4, 'Lower case is another product'],
      [5, 'Product 3'],
      [6, 'Brand new'],
    ]);
    expect(plan.unchanged).toBe(1);
    expect(plan.problems).toEqual([]);
  });

  it('leaves fields alone when the file has no column for them', () => {
    const catalog = [product(4, { stock: 6, costPrice: 70, supplierNotes: 'keep me', offer: { quantity: 2, price: 99 } })];
    const { rows, columns } = read('sku,name,price\nSKU-4,Product 4,2.00\n');
    const plan = planCatalogImport(catalog, rows, columns);
    expect(plan.changed).toHaveLength(1);
    expect(plan.changed[0]!.fields).toEqual(['price']);
    expect(plan.changed[0]!.row).toMatchObject({ price: 200, stock: 6, costPrice: 70, supplierNotes: 'keep me', unit: 'each', shelf: 'S4', batches: [{ quantity: 4 % 7, expiresOn: '2027-03-01' }], offerQuantity: 2, offerPrice: 99 });
    expect(planCatalogImport(catalog, rows).changed[0]!.fields).toEqual(['price', 'stock', 'costPrice', 'supplierNotes', 'shelf', 'batches', 'offer']);
  });

  it('sees a changed offer, batch or cost price', () => {
    const catalog = [product(12)];
    const exported = catalogToCsv(catalog, 'USD');
    const edit = (from: string, to: string) => planCatalogImport(catalog, read(exported.replace(from, to)).rows).changed[0]?.fields;
    expect(edit('0,1.02,', '0,1.03,')).toEqual(['offer']);
    expect(edit('@2027-03-01', '@2027-03-02')).toEqual(['batches']);
    expect(edit(',S12,', ',S13,')).toEqual(['shelf']);
    expect(planCatalogImport([product(1)], read(catalogToCsv([product(1, { costPrice: 1 })], 'USD')).rows).changed[0]?.fields).toEqual(['costPrice']);
  });

  it('refuses a SKU twice in the file, naming both lines', () => {
    const { rows } = read('sku,name,price\nA,First,1\nB,Other,1\n"B","Again\nand again",1\nA,Last,1\n');
    expect(planCatalogImport([], rows).problems).toEqual([
      'Line 4: SKU "B" is also on line 3; each product may appear once',
      'Line 6: SKU "A" is also on line 2; each product may appear once',
    ]);
  });

  it('updates the first of the catalog’s products sharing a SKU, and warns', () => {
    const catalog = [product(1, { sku: 'X', name: 'First' }), product(2, { sku: ' X ', name: 'Second' })];
    const plan = planCatalogImport(catalog, read('sku,name,price\nX,First,9\n').rows);
    expect(plan.changed.map((c) => c.id)).toEqual(['id-1']);
    expect(plan.warnings).toEqual(['Line 2: the catalog has 2 products with SKU "X" ("First", "Second"); only the first, "First", is updated']);
    expect(plan.problems).toEqual([]);
  });

  it('plans 10,000 rows against 10,000 products in a few milliseconds', () => {
    const catalog = Array.from({ length: 10_000 }, (_, i) => product(i));
    const { rows, columns } = read(catalogToCsv(catalog, 'USD'));
    const edited: CatalogCsvRow[] = rows.map((row, i) => (i % 10 ? row : { ...row, price: row.price + 1 }));
    edited.push(...Array.from({ length: 100 }, (_, i) => ({ ...rows[i]!, sku: `NEW-${i}`, line: 10_002 + i })));
    planCatalogImport(catalog, edited, columns);
    const started = performance.now();
    const plan = planCatalogImport(catalog, edited, columns);
    const elapsed = performance.now() - started;
    expect([plan.added.length, plan.changed.length, plan.unchanged, plan.problems.length]).toEqual([100, 1000, 9000, 0]);
    expect(elapsed).toBeLessThan(50);
  });
});
