import type { Product } from '../vault/vaultDocuments';
import { CATALOG_CSV_COLUMNS, type CatalogColumn, type CatalogCsvRow } from './catalogCsv';

/**
 * What importing a catalog file would do to the catalog, worked out before anything is saved,
 * so the merchant can see it ("12 new, 30 changed, 958 as they were") and nothing half-happens.
 *
 * Rows are matched to products by SKU (trimmed, case-sensitive: "ab-1" and "AB-1" are two
 * products). A row without a SKU is always a new product. A file's own repeated SKU is a problem
 * naming both lines; if the catalog already has two products with one SKU, the first is updated
 * and the merchant is warned.
 *
 * A row's offer is an offer of `offerQuantity` at `offerPrice` (the price when empty) whenever
 * offerQuantity is given, 0 included, as catalogToCsv writes it, so a file exported from a
 * catalog plans no change at all.
 */

/** The catalog fields an import compares and may change (the SKU is what matches). */
export type CatalogField = 'name' | 'unit' | 'price' | 'stock' | 'costPrice' | 'supplierNotes' | 'shelf' | 'batches' | 'offer';

/** A product of the catalog as the plan needs it: a Product, batches without their ids. */
export type CatalogProduct = Omit<Product, 'batches' | 'createdAt' | 'updatedAt'> & {
  batches: readonly { quantity: number; expiresOn: string }[];
};

/** A product the file changes: which fields, and the row to save (the file's values over the product's). */
export interface PlannedChange {
  id: string;
  line: number;
  fields: CatalogField[];
  row: CatalogCsvRow;
}

/** The outcome of planning an import; apply nothing when `problems` is not empty. */
export interface CatalogImportPlan {
  added: CatalogCsvRow[];
  changed: PlannedChange[];
  unchanged: number;
  /** Errors, each naming its lines. */
  problems: string[];
  /** Things the merchant should know that do not stop the import. */
  warnings: string[];
}

/** Which file columns carry each field; a field is compared only when the file has one of them. */
const FIELD_COLUMNS: Record<CatalogField, readonly CatalogColumn[]> = {
  name: ['name'],
  unit: ['unit'],
  price: ['price'],
  stock: ['stock'],
  costPrice: ['cost_price'],
  supplierNotes: ['supplier_notes'],
  shelf: ['shelf'],
  batches: ['batches', 'expires_on'],
  offer: ['offer_quantity'],
};
const FIELDS = Object.keys(FIELD_COLUMNS) as CatalogField[];

function rowOffer(row: CatalogCsvRow): { quantity: number; price: number } | null {
  return row.offerQuantity === undefined ? null : { quantity: row.offerQuantity, price: row.offerPrice ?? row.price };
}

function sameBatches(a: readonly { quantity: number; expiresOn: string }[], b: readonly { quantity: number; expiresOn: string }[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]!.quantity !== b[i]!.quantity || a[i]!.expiresOn !== b[i]!.expiresOn) return false;
  return true;
}

function sameField(field: CatalogField, product: CatalogProduct, row: CatalogCsvRow): boolean {
  switch (field) {
    case 'batches':
      return sameBatches(product.batches, row.batches ?? []);
    case 'offer': {
      const offer = rowOffer(row);
      return offer === null || product.offer === null ? offer === product.offer : offer.quantity === product.offer.quantity && offer.price === product.offer.price;
    }
    case 'costPrice':
      return (row.costPrice ?? null) === product.costPrice;
    case 'unit':
      return (row.unit || 'each') === product.unit;
    default:
      return (row[field] ?? '') === product[field];
  }
}

/** The row to save for `product`: the file's value for each field the file has, the product's for the rest. */
function mergedRow(product: CatalogProduct, row: CatalogCsvRow, inFile: ReadonlySet<CatalogField>): CatalogCsvRow {
  const merged: CatalogCsvRow = { ...row, sku: product.sku };
  if (!inFile.has('unit')) merged.unit = product.unit;
  if (!inFile.has('stock')) merged.stock = product.stock;
  if (!inFile.has('costPrice')) merged.costPrice = product.costPrice;
  if (!inFile.has('supplierNotes')) merged.supplierNotes = product.supplierNotes;
  if (!inFile.has('shelf')) merged.shelf = product.shelf;
  if (!inFile.has('batches')) {
    if (product.batches.length) merged.batches = product.batches.map(({ quantity, expiresOn }) => ({ quantity, expiresOn }));
    else delete merged.batches;
  }
  if (!inFile.has('offer')) {
    delete merged.offerQuantity;
    delete merged.offerPrice;
    if (product.offer) Object.assign(merged, { offerQuantity: product.offer.quantity, offerPrice: product.offer.price });
  }
  return merged;
}

/**
 * Plans importing `rows` (from readCatalogCsv) into the catalog `existing`. `columns` are the
 * file's columns (readCatalogCsv's `columns`): fields the file has no column for are left as
 * they are; by default every field is compared. Linear in the catalog and the file.
 */
export function planCatalogImport(
  existing: readonly CatalogProduct[],
  rows: readonly CatalogCsvRow[],
  columns: readonly CatalogColumn[] = CATALOG_CSV_COLUMNS,
): CatalogImportPlan {
  const plan: CatalogImportPlan = { added: [], changed: [], unchanged: 0, problems: [], warnings: [] };
  const bySku = new Map<string, CatalogProduct>();
  const sharedSkus = new Map<string, string[]>();
  for (const product of existing) {
    const sku = product.sku.trim();
    if (sku === '') continue;
    const first = bySku.get(sku);
    if (first === undefined) bySku.set(sku, product);
    else sharedSkus.set(sku, [...(sharedSkus.get(sku) ?? [first.name]), product.name]);
  }
  const present = new Set(columns);
  const inFile = new Set(FIELDS.filter((field) => FIELD_COLUMNS[field].some((column) => present.has(column))));
  const compared = FIELDS.filter((field) => inFile.has(field));
  const lineOfSku = new Map<string, number>();
  for (const row of rows) {
    const sku = row.sku.trim();
    if (sku === '') {
      plan.added.push(row);
      continue;
    }
    const earlier = lineOfSku.get(sku);
    if (earlier !== undefined) {
      plan.problems.push(`Line ${row.line}: SKU "${sku}" is also on line ${earlier}; each product may appear once`);
      continue;
    }
    lineOfSku.set(sku, row.line);
    const product = bySku.get(sku);
    if (product === undefined) {
      plan.added.push(row);
      continue;
    }
    const shared = sharedSkus.get(sku);
    if (shared) {
      plan.warnings.push(`Line ${row.line}: the catalog has ${shared.length} products with SKU "${sku}" (${shared.map((n) => `"${n}"`).join(', ')}); only the first, "${product.name}", is updated`);
    }
    const fields = compared.filter((field) => !sameField(field, product, row));
    if (fields.length === 0) plan.unchanged++;
    else plan.changed.push({ id: product.id, line: row.line, fields, row: mergedRow(product, row, inFile) });
  }
  return plan;
}
