import type { ProductInput } from './catalog';

/** A product row read from a spreadsheet export, with its offer if the sheet has one. */
export type CatalogRow = ProductInput & { offerQuantity?: number; offerPrice?: number };

export const CATALOG_CSV_COLUMNS = ['name', 'sku', 'unit', 'price', 'stock', 'offer_quantity', 'offer_price', 'cost_price', 'shelf', 'supplier_notes', 'expires_on'] as const;

/** Splits CSV text into rows of fields (RFC 4180: quotes, doubled quotes, CRLF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      if (row.some((f) => f.trim() !== '')) rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  row.push(field);
  if (row.some((f) => f.trim() !== '')) rows.push(row);
  return rows;
}

/** "12.50" → 1250 cents; undefined for an empty cell. Throws on anything that is not a price. */
export function parseMoney(text: string, what = 'price'): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  if (!/^\d+(\.\d{1,2})?$/.test(trimmed)) throw new Error(`${what} "${trimmed}" is not an amount like 12.50`);
  return Math.round(Number(trimmed) * 100);
}

function parseNumber(text: string, what: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '') return undefined;
  const value = Number(trimmed);
  if (!Number.isFinite(value)) throw new Error(`${what} "${trimmed}" is not a number`);
  return value;
}

/**
 * Reads a catalog CSV with a header row naming its columns (see CATALOG_CSV_COLUMNS; only
 * name and price are required). Returns every row, or every problem with its line number.
 */
export function readCatalogCsv(text: string): { rows: CatalogRow[]; problems: string[] } {
  const table = parseCsv(text);
  const header = (table.shift() ?? []).map((h) => h.trim().toLowerCase().replace(/\s+/g, '_'));
  const problems: string[] = [];
  for (const required of ['name', 'price']) if (!header.includes(required)) problems.push(`the header row has no "${required}" column`);
  if (problems.length) return { rows: [], problems };
  const rows: CatalogRow[] = [];
  table.forEach((cells, index) => {
    const cell = (name: string) => cells[header.indexOf(name)] ?? '';
    try {
      const expiresOn = cell('expires_on').trim();
      const stock = parseNumber(cell('stock'), 'stock') ?? 0;
      const row: CatalogRow = {
        name: cell('name'),
        sku: cell('sku'),
        unit: cell('unit') || 'each',
        price: parseMoney(cell('price')) ?? 0,
        stock,
        costPrice: parseMoney(cell('cost_price'), 'cost price') ?? null,
        shelf: cell('shelf'),
        supplierNotes: cell('supplier_notes'),
        ...(expiresOn ? { batches: [{ quantity: stock, expiresOn }] } : {}),
      };
      const offerQuantity = parseNumber(cell('offer_quantity'), 'offer quantity');
      if (offerQuantity !== undefined) row.offerQuantity = offerQuantity;
      const offerPrice = parseMoney(cell('offer_price'), 'offer price');
      if (offerPrice !== undefined) row.offerPrice = offerPrice;
      rows.push(row);
    } catch (error) {
      problems.push(`line ${index + 2}: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  return { rows, problems };
}
