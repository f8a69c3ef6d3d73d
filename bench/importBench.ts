import * as A from '@automerge/automerge';
import { catalogToCsv, type CatalogRow } from '../src/core/catalog/catalogCsv';
import { SoukNode } from '../src/core/node/soukNode';
import { MemoryStorage } from '../src/core/storage/memoryStorage';

export const PRODUCTS = 10_000;
const RUNS = 5;
const CURRENCY = 'EUR';

const KINDS = ['Rice', 'Lentils', 'Olive oil', 'Green tea', 'Sugar', 'Flour', 'Chickpeas', 'Dates', 'Coffee beans', 'Black pepper', 'Saffron', 'Honey', 'Soap', 'Batteries AA', 'Candles'];
const GRADES = ['premium', 'organic', 'house brand', 'imported', 'family pack', 'small', 'large'];
const UNITS = ['bag', 'bottle', 'box', 'kg', 'jar', 'each', 'pack'];
const SUPPLIERS = ['Omar & Sons, pays on delivery', 'Coastal Wholesale', 'Hassan Trading (call before 10)', 'Nour Imports', 'Market co-op', 'Direct from farm, Tuesdays'];

/** `count` realistic catalog rows: varied names and SKUs, prices, stock with dated batches, cost prices, shelves, supplier notes, every one offered. */
export function catalogRows(count = PRODUCTS): CatalogRow[] {
  return Array.from({ length: count }, (_, i) => {
    const stock = 20 + (i % 180);
    const dated = Math.floor(stock / 2);
    const price = 99 + ((i * 37) % 4900);
    return {
      name: `${KINDS[i % KINDS.length]} ${GRADES[(i >> 3) % GRADES.length]} ${1 + (i % 25)}00g #${i}`,
      sku: `SK-${String(i).padStart(5, '0')}-${(i * 7919) % 1000}`,
      unit: UNITS[i % UNITS.length]!,
      price,
      stock,
      costPrice: Math.floor(price * 0.6),
      supplierNotes: SUPPLIERS[i % SUPPLIERS.length]!,
      shelf: `Aisle ${1 + (i % 30)}, bin ${1 + (i % 12)}`,
      batches: [
        { quantity: dated, expiresOn: `2027-${String(1 + (i % 12)).padStart(2, '0')}-${String(1 + (i % 28)).padStart(2, '0')}` },
        { quantity: stock - dated, expiresOn: '' },
      ],
      offerQuantity: Math.min(stock, 5 + (i % 40)),
      offerPrice: price - (i % 50),
    };
  });
}

export function catalogCsvText(count = PRODUCTS): string {
  return catalogToCsv(catalogRows(count), CURRENCY);
}

/** The same rows as plain Automerge nested maps, text as ImmutableString (what the reference writes and syncs). */
export function plainProducts(rows: readonly CatalogRow[]): Record<string, unknown> {
  const s = (v: string | undefined) => new A.ImmutableString(v ?? '');
  const products: Record<string, unknown> = {};
  rows.forEach((row, i) => {
    products[`p${String(i).padStart(6, '0')}`] = {
      name: s(row.name),
      sku: s(row.sku),
      unit: s(row.unit),
      price: row.price,
      stock: row.stock,
      costPrice: row.costPrice ?? null,
      supplierNotes: s(row.supplierNotes),
      shelf: s(row.shelf),
      batches: (row.batches ?? []).map((b) => ({ quantity: b.quantity, expiresOn: s(b.expiresOn) })),
      offer: row.offerQuantity === undefined ? null : { quantity: row.offerQuantity, price: row.offerPrice ?? row.price },
      createdAt: 1_760_000_000_000,
      updatedAt: 1_760_000_000_000,
    };
  });
  return products;
}

async function freshShop(): Promise<SoukNode> {
  const node = await SoukNode.open({ storage: new MemoryStorage() });
  await node.createShop({ name: 'Bench Import', area: 'Bench Town', currency: CURRENCY });
  return node;
}

async function timeImportCatalog(csv: string): Promise<number> {
  const node = await freshShop();
  const start = performance.now();
  const result = await node.importCatalog(csv);
  const ms = performance.now() - start;
  if (result.added !== PRODUCTS || node.products('', 1).total !== PRODUCTS) throw new Error(`imported ${result.added}, expected ${PRODUCTS}`);
  node.close();
  return ms;
}

async function timeImportProducts(rows: CatalogRow[]): Promise<number> {
  const node = await freshShop();
  const start = performance.now();
  const added = await node.importProducts(rows);
  const ms = performance.now() - start;
  if (added !== PRODUCTS) throw new Error(`imported ${added}, expected ${PRODUCTS}`);
  node.close();
  return ms;
}

function timeReference(rows: readonly CatalogRow[]): { change: number; save: number } {
  const doc = A.from<{ products: Record<string, unknown> }>({ products: {} });
  const products = plainProducts(rows); // built before the clock starts, as the CSV text is
  const start = performance.now();
  const next = A.change(doc, (d) => {
    for (const [id, p] of Object.entries(products)) d.products[id] = p;
  });
  const change = performance.now() - start;
  A.save(next);
  return { change, save: performance.now() - start };
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

/** 10,000 products imported from CSV text through the node, against plain Automerge writing the same rows as nested maps in one change. */
export async function importBench(): Promise<void> {
  const rows = catalogRows();
  const csv = catalogCsvText();
  await timeImportCatalog(csv); // warm-up
  timeReference(rows);
  const measured: number[] = [];
  const direct: number[] = [];
  const reference: { change: number; save: number }[] = [];
  for (let i = 0; i < RUNS; i++) {
    measured.push(await timeImportCatalog(csv));
    direct.push(await timeImportProducts(rows));
    reference.push(timeReference(rows));
  }
  const ms = median(measured);
  const ref = median(reference.map((r) => r.change));
  console.log(
    `# import: ${PRODUCTS} products (CSV ${csv.length} chars) via importCatalog on memory storage, storage write included; median of ${RUNS}: ${measured.map((m) => m.toFixed(0)).join('/')} ms`,
  );
  console.log(`# import: importProducts(rows) median ${median(direct).toFixed(1)} ms (${direct.map((m) => m.toFixed(0)).join('/')}); ref A.change ${reference.map((r) => r.change.toFixed(0)).join('/')} ms, A.change + A.save median ${median(reference.map((r) => r.save)).toFixed(0)} ms`);
  console.log(`# import: 10,000-product import under 1 s in Node: ${Math.max(...measured) < 1000 ? 'yes' : 'NO'} (slowest importCatalog ${Math.max(...measured).toFixed(0)} ms)`);
  console.log(`BENCH import ${ms.toFixed(1)} ms ref=${ref.toFixed(1)} ms ratio=${(ms / ref).toFixed(2)}`);
}
