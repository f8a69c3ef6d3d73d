import Papa from 'papaparse';
import type { Product } from '../vault/vaultDocuments';
import { MAX_QUANTITY, utf8Length } from '../vault/vaultLimits';
import { InputError } from '../inputError';
import { validateOffer, validateProduct, type ProductInput } from './catalog';
import { isCurrencyCode, plainAmount, readAmount } from './currency';

/**
 * A catalog as a spreadsheet file (CSV), both ways, on papaparse (no DOM: runs in Node and in the
 * node's worker).
 *
 * The file: a header row naming its columns (any case; spaces, `_` and `-` ignored, so "Offer
 * price" is offer_price), then one product per record. Cells are separated by `,`, `;` or a tab,
 * whichever the header line has most of. Quoted cells may hold separators, doubled quotes and
 * line breaks; a UTF-8 byte order mark and CRLF line ends are fine.
 *
 * Numbers: amounts are in the shop's currency, with no thousands separators and at most the
 * currency's decimals (USD "12.50", JPY "1250", KWD "1.250"). The decimal separator follows the
 * cell separator: files separated by `;` are what spreadsheets with European settings save, and
 * they write decimal commas ("12,50"), so in a `;` file the decimal separator is `,`; in `,` and
 * tab files it is `.`. Anything else is refused rather than guessed ("1.234" in a EUR `,` file
 * is an error, not 1234 euros). Quantities (stock, offer, batches) follow the same rule with up
 * to three decimals.
 *
 * Text cells that a spreadsheet would run as a formula (starting with = + - @, tab or carriage
 * return) are written with a `'` in front, and a `'` in front of such a character (or of
 * another `'`) is taken off when reading, so a file survives the round trip unchanged.
 *
 * Every message starts with "Line N:", N the physical line of the file where the record starts
 * (the header is line 1), so a record holding quoted line breaks counts all its lines.
 */

/** A product row read from a spreadsheet export, with its offer if the sheet has one. */
export type CatalogRow = ProductInput & { offerQuantity?: number; offerPrice?: number };

/** A row as read from a file, with the line its record starts on. */
export type CatalogCsvRow = CatalogRow & { line: number };

/** The columns a catalog file is written with, in order. Only name and price are required. */
export const CATALOG_CSV_COLUMNS = ['name', 'sku', 'unit', 'price', 'stock', 'offer_quantity', 'offer_price', 'cost_price', 'shelf', 'supplier_notes', 'batches'] as const;

/**
 * Also read (for sheets written by hand): one expiry date for the whole stock, as a single batch.
 * `batches` lists every batch instead: "10@2027-01-05 4" is 10 expiring on 5 January 2027 and 4
 * with no expiry.
 */
export const CATALOG_CSV_EXTRA_COLUMNS = ['expires_on'] as const;

/** The largest file read, in bytes (check `File.size` against it before reading the file). */
export const CATALOG_CSV_MAX_BYTES = 20 * 1024 * 1024;
/** The most products one file may hold. */
export const CATALOG_CSV_MAX_ROWS = 100_000;
/** Messages kept from one file; a file with more ends with a count of the rest. */
const MAX_MESSAGES = 100;

/** A column a catalog file may have. */
export type CatalogColumn = (typeof CATALOG_CSV_COLUMNS)[number] | (typeof CATALOG_CSV_EXTRA_COLUMNS)[number];
type Column = CatalogColumn;
type Delimiter = ',' | ';' | '\t';

const COLUMN_BY_KEY = new Map<string, Column>([...CATALOG_CSV_COLUMNS, ...CATALOG_CSV_EXTRA_COLUMNS].map((c) => [headerKey(c), c]));
const FORMULA_START = /^[=+\-@\t\r]/;
const GUARDED = /^'[=+\-@\t\r']/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function headerKey(name: string): string {
  return name.toLowerCase().replace(/[^\p{L}\p{N}]/gu, '');
}

/** What reading a catalog file found: rows only when there are no problems at all. */
export interface CatalogCsvResult {
  rows: CatalogCsvRow[];
  /** Errors, each "Line N: …"; when there is any, `rows` is empty and nothing may be imported. */
  problems: string[];
  /** Things ignored that the merchant should know of (unknown columns). */
  warnings: string[];
  /** The catalog columns the file has, so an import changes only those (see planCatalogImport). */
  columns: CatalogColumn[];
}

/** The separator the header line uses most, outside quotes: `,` unless `;` or a tab wins. */
function headerDelimiter(text: string): Delimiter {
  const counts: Record<Delimiter, number> = { ',': 0, ';': 0, '\t': 0 };
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === '\n') break;
    else if (!quoted && (c === ',' || c === ';' || c === '\t')) counts[c]++;
  }
  return counts[';'] > counts[','] && counts[';'] >= counts['\t'] ? ';' : counts['\t'] > counts[','] ? '\t' : ',';
}

function fileTooBig(text: string): boolean {
  if (text.length > CATALOG_CSV_MAX_BYTES) return true;
  return text.length * 3 > CATALOG_CSV_MAX_BYTES && utf8Length(text) > CATALOG_CSV_MAX_BYTES;
}

/** A text cell as the merchant meant it: trimmed, without the `'` that kept a spreadsheet from running it. */
function textCell(cell: string): string {
  const trimmed = cell.trim();
  return GUARDED.test(trimmed) ? trimmed.slice(1) : trimmed;
}

/** A quantity written with the file's decimal separator, at most three decimals. */
function readQuantity(cell: string, decimal: string, field: string): number {
  const text = cell.trim();
  const pattern = decimal === ',' ? /^\d+(,\d{1,3})?$/ : /^\d+(\.\d{1,3})?$/;
  if (!pattern.test(text)) {
    throw new InputError(field, `${field} "${text}" is not a quantity like ${decimal === ',' ? '2,5' : '2.5'} (at most three decimals, no thousands separators)`);
  }
  const value = Number(text.replace(',', '.'));
  if (value > MAX_QUANTITY) throw new InputError(field, `${field} "${text}" is more than ${MAX_QUANTITY}`);
  return value;
}

function readDate(text: string, field: string): string {
  const time = DATE.test(text) ? Date.parse(`${text}T00:00:00Z`) : NaN;
  if (Number.isNaN(time) || new Date(time).toISOString().slice(0, 10) !== text) {
    throw new InputError(field, `${field} "${text}" is not a date like 2027-01-31`);
  }
  return text;
}

/** "10@2027-01-05 4" → a batch of 10 expiring on 5 January 2027 and a batch of 4 with no expiry. */
function readBatches(cell: string, decimal: string): { quantity: number; expiresOn: string }[] {
  return cell
    .trim()
    .split(/\s+/)
    .map((entry) => {
      const at = entry.indexOf('@');
      const quantity = readQuantity(at === -1 ? entry : entry.slice(0, at), decimal, 'Batch quantity');
      return { quantity, expiresOn: at === -1 ? '' : readDate(entry.slice(at + 1), 'Batch expiry') };
    });
}

/** Reads the cells of one record into a row, or throws every problem of that record. */
function readRecord(cell: (column: Column) => string, currency: string, decimal: string, line: number): CatalogCsvRow {
  const problems: string[] = [];
  const read = <T>(work: () => T): T | undefined => {
    try {
      return work();
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      const hint = decimal === ',' && /is not an amount/.test(error.message) && /\./.test(error.message)
        ? ' (this file is separated by semicolons, so its decimal separator is a comma)'
        : '';
      problems.push(`Line ${line}: ${error.message}${hint}`);
      return undefined;
    }
  };
  const amount = (column: Column, field: string) => (cell(column).trim() === '' ? undefined : read(() => readAmount(cell(column), currency, { decimal, groups: [] }, field)));
  const quantity = (column: Column, field: string) => (cell(column).trim() === '' ? undefined : read(() => readQuantity(cell(column), decimal, field)));

  const name = textCell(cell('name'));
  if (name === '') problems.push(`Line ${line}: Name is required`);
  const price = cell('price').trim() === '' ? (problems.push(`Line ${line}: Price is required`), undefined) : amount('price', 'Price');
  const stock = quantity('stock', 'Stock') ?? 0;
  const costPrice = amount('cost_price', 'Cost price');
  const offerQuantity = quantity('offer_quantity', 'Offer quantity');
  const offerPrice = amount('offer_price', 'Offer price');
  let batches: CatalogRow['batches'];
  const batchText = cell('batches').trim();
  const expiresOn = cell('expires_on').trim();
  if (batchText && expiresOn) problems.push(`Line ${line}: give either batches or expires_on, not both`);
  else if (batchText) batches = read(() => readBatches(batchText, decimal));
  else if (expiresOn) batches = read(() => [{ quantity: stock, expiresOn: readDate(expiresOn, 'Expiry') }]);

  const unit = textCell(cell('unit'));
  const row: CatalogCsvRow = {
    line,
    name,
    sku: textCell(cell('sku')),
    unit: unit || 'each',
    price: price ?? 0,
    stock,
    costPrice: costPrice ?? null,
    shelf: textCell(cell('shelf')),
    supplierNotes: textCell(cell('supplier_notes')),
    ...(batches ? { batches } : {}),
    ...(offerQuantity !== undefined ? { offerQuantity } : {}),
    ...(offerPrice !== undefined ? { offerPrice } : {}),
  };
  if (problems.length === 0) {
    // The catalog's own rules (lengths, offer ≤ stock), with this file's line numbers.
    read(() => {
      const product = validateProduct(row, () => 'check');
      if (offerQuantity !== undefined && offerQuantity > 0) validateOffer({ ...product, id: 'check', offer: null, createdAt: 0, updatedAt: 0 }, { quantity: offerQuantity, price: offerPrice ?? product.price });
    });
  }
  if (problems.length) throw new RecordProblems(problems);
  return row;
}

class RecordProblems extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
  }
}

/**
 * Reads a catalog file (see the top of this module for the format) with amounts in `currency`,
 * the shop's ISO 4217 code. Returns every row with its line, or, when anything is wrong, no rows
 * and every problem (the first hundred) as "Line N: …": a missing or repeated column, an empty
 * name or price, a bad number, a quote never closed (named by the line it opens on). A file over
 * CATALOG_CSV_MAX_BYTES is refused before it is parsed, and reading stops as soon as it has more
 * than CATALOG_CSV_MAX_ROWS products.
 */
export function readCatalogCsv(text: string, currency: string): CatalogCsvResult {
  const problems: string[] = [];
  const warnings: string[] = [];
  let more = 0;
  const problem = (message: string) => (problems.length < MAX_MESSAGES ? problems.push(message) : more++);
  const refused = (message: string): CatalogCsvResult => ({ rows: [], problems: [message], warnings, columns: [] });
  if (!isCurrencyCode(currency)) return refused(`The shop's currency "${currency}" is not an ISO 4217 code, so no prices can be read`);
  if (fileTooBig(text)) {
    return refused(`The file is ${(utf8Length(text) / 1024 / 1024).toFixed(1)} MB; the limit is ${CATALOG_CSV_MAX_BYTES / 1024 / 1024} MB. Split it into smaller files.`);
  }
  const body = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).replace(/\r\n?/g, '\n');
  if (body.trim() === '') return refused('Line 1: the file is empty; it needs a header row naming its columns');
  const delimiter = headerDelimiter(body);
  const decimal = delimiter === ';' ? ',' : '.';

  const rows: CatalogCsvRow[] = [];
  let columns: (Column | null)[] | null = null;
  let recordStart = 0;
  let line = 1;
  let counted = 0;
  let fatal = false;
  /** The physical line of `offset`, counting on from the last record's start (each newline once). */
  const lineAt = (from: number, fromLine: number, offset: number) => {
    let at = fromLine;
    for (let i = body.indexOf('\n', from); i !== -1 && i < offset; i = body.indexOf('\n', i + 1)) at++;
    return at;
  };

  Papa.parse<string[]>(body, {
    delimiter,
    newline: '\n',
    quoteChar: '"',
    escapeChar: '"',
    skipEmptyLines: false,
    step(result, parser) {
      const cells = result.data;
      const start = recordStart;
      const startLine = line;
      recordStart = result.meta.cursor;
      line = lineAt(start, startLine, recordStart);
      // One message per record: an unclosed quote explains any other quote error of its record.
      const error = result.errors.find((e) => e.code === 'MissingQuotes') ?? result.errors[0];
      if (error) {
        const quoteLine = lineAt(start, startLine, Math.max(start, (error.index ?? start) - 1));
        if (error.code === 'MissingQuotes') {
          problem(`Line ${quoteLine}: a quoted cell starts here and its closing quote is missing; nothing was imported`);
        } else if (error.code === 'InvalidQuotes') {
          problem(`Line ${quoteLine}: a quoted cell has text after its closing quote; write a quote inside a quoted cell as two quotes ("")`);
        } else {
          problem(`Line ${startLine}: ${error.message}`);
        }
        fatal = true;
      }
      if (fatal) return;
      if (columns === null) {
        columns = readHeader(cells, problem, warnings);
        if (problems.length) {
          fatal = true;
          parser.abort();
        }
        return;
      }
      if (cells.every((c) => c.trim() === '')) return;
      if (++counted > CATALOG_CSV_MAX_ROWS) {
        problems.length = 0;
        more = 0;
        problem(`The file has more than ${CATALOG_CSV_MAX_ROWS.toLocaleString('en')} products; the limit is ${CATALOG_CSV_MAX_ROWS.toLocaleString('en')} per file. Split it into smaller files.`);
        fatal = true;
        parser.abort();
        return;
      }
      const header = columns;
      const extra = cells.slice(header.length).filter((c) => c.trim() !== '').length;
      if (extra) problem(`Line ${startLine}: ${cells.length} cells, but the header has ${header.length} columns`);
      const index = new Map(header.map((column, i) => [column, i]));
      const cell = (column: Column) => {
        const i = index.get(column);
        return i === undefined ? '' : (cells[i] ?? '');
      };
      try {
        const row = readRecord(cell, currency, decimal, startLine);
        if (!extra) rows.push(row);
      } catch (error) {
        if (!(error instanceof RecordProblems)) throw error;
        error.problems.forEach(problem);
      }
    },
  });
  if (columns === null && !fatal) problem('Line 1: the file has no header row');
  if (more) problems.push(`…and ${more.toLocaleString('en')} more problems`);
  const present = ((columns as (Column | null)[] | null) ?? []).filter((c): c is Column => c !== null);
  return problems.length ? { rows: [], problems, warnings, columns: present } : { rows, problems, warnings, columns: present };
}

/** Which catalog column each header cell names (null for an ignored one); reports missing, repeated and unknown columns. */
function readHeader(cells: string[], problem: (message: string) => void, warnings: string[]): (Column | null)[] {
  const seen = new Set<Column>();
  const columns = cells.map((cell, i) => {
    const name = textCell(cell);
    const column = COLUMN_BY_KEY.get(headerKey(name)) ?? null;
    if (column === null) {
      if (name !== '') warnings.push(`Line 1: column "${name}" is not a catalog column; it was ignored`);
      else if (i < cells.length - 1) warnings.push(`Line 1: column ${i + 1} has no name; it was ignored`);
    } else if (seen.has(column)) problem(`Line 1: the column "${column}" appears twice`);
    seen.add(column as Column);
    return column;
  });
  for (const required of ['name', 'price'] as const) if (!seen.has(required)) problem(`Line 1: the header row has no "${required}" column`);
  return columns;
}

/** A product as a row of the file: its catalog fields, its batches and its offer. */
export function rowFromProduct(product: Product): CatalogRow {
  return {
    name: product.name,
    sku: product.sku,
    unit: product.unit,
    price: product.price,
    stock: product.stock,
    costPrice: product.costPrice,
    supplierNotes: product.supplierNotes,
    shelf: product.shelf,
    ...(product.batches.length ? { batches: product.batches.map(({ quantity, expiresOn }) => ({ quantity, expiresOn })) } : {}),
    ...(product.offer ? { offerQuantity: product.offer.quantity, offerPrice: product.offer.price } : {}),
  };
}

/** A text cell safe to open in a spreadsheet: a formula-like start gets a `'` (taken off again by textCell). */
function guardedText(text: string): string {
  const flat = text.replace(/\r\n?/g, '\n');
  return FORMULA_START.test(flat) || GUARDED.test(flat) ? `'${flat}` : flat;
}

function quantityText(value: number, decimal: string): string {
  const text = (Math.round(value * 1000) / 1000).toFixed(3).replace(/\.?0+$/, '');
  return decimal === ',' ? text.replace('.', ',') : text;
}

/**
 * The catalog as a file that reads back to the same rows (export, import, export again gives the
 * same bytes): a byte order mark (so spreadsheets read UTF-8), a header row of
 * CATALOG_CSV_COLUMNS, CRLF line ends, amounts in `currency` with the currency's decimals.
 * `delimiter` `;` writes decimal commas, for spreadsheets with European settings. A cell is
 * quoted when it holds the separator, a quote, a line break, a formula-like start or spaces at
 * either end; line breaks inside cells are written as LF.
 */
export function catalogToCsv(products: readonly (Product | CatalogRow)[], currency: string, { delimiter = ',' }: { delimiter?: Delimiter } = {}): string {
  if (!isCurrencyCode(currency)) throw new InputError('Currency', `"${currency}" is not an ISO 4217 currency code`);
  const decimal = delimiter === ';' ? ',' : '.';
  const needsQuotes = (cell: string) => cell.includes(delimiter) || /["\n\r]/.test(cell) || cell.startsWith("'") || cell !== cell.trim();
  const quoted = (cell: string) => (needsQuotes(cell) ? `"${cell.replace(/"/g, '""')}"` : cell);
  const amount = (minor: number | null | undefined) => (minor == null ? '' : plainAmount(minor, currency, decimal));
  const lines = [CATALOG_CSV_COLUMNS.join(delimiter)];
  for (const product of products) {
    const row = 'offer' in product ? rowFromProduct(product) : product;
    const cells: Record<(typeof CATALOG_CSV_COLUMNS)[number], string> = {
      name: guardedText(row.name),
      sku: guardedText(row.sku ?? ''),
      unit: guardedText(row.unit ?? ''),
      price: amount(row.price),
      stock: quantityText(row.stock, decimal),
      offer_quantity: row.offerQuantity === undefined ? '' : quantityText(row.offerQuantity, decimal),
      offer_price: amount(row.offerPrice),
      cost_price: amount(row.costPrice),
      shelf: guardedText(row.shelf ?? ''),
      supplier_notes: guardedText(row.supplierNotes ?? ''),
      batches: (row.batches ?? []).map((b) => `${quantityText(b.quantity, decimal)}${b.expiresOn ? `@${b.expiresOn}` : ''}`).join(' '),
    };
    lines.push(CATALOG_CSV_COLUMNS.map((column) => quoted(cells[column])).join(delimiter));
  }
  return `\ufeff${lines.join('\r\n')}\r\n`;
}
