import { describe, expect, it } from 'vitest';
import type { Product } from '../vault/vaultDocuments';
import { testProduct } from '../test/products';
import { CATALOG_CSV_MAX_BYTES, CATALOG_CSV_MAX_ROWS, catalogToCsv, readCatalogCsv, type CatalogCsvRow } from './catalogCsv';

function product(fields: Partial<Product> & { name: string }): Product {
  return testProduct({ id: `p-${fields.name}`, ...fields });
}

const TRICKY: Product[] = [
  product({ name: 'Rice, long grain', sku: 'R1', unit: 'bag', price: 1250, stock: 40.5, costPrice: 900, shelf: 'B3', supplierNotes: 'Ask for "Amina"\nDelivers Tuesdays', batches: [{ id: 'b1', quantity: 30, expiresOn: '2027-01-05' }, { id: 'b2', quantity: 10.5, expiresOn: '' }], offer: { quantity: 10, price: 1200 } }),
  product({ name: '=HYPERLINK("http://evil","click")', sku: '-42', unit: '@kg', price: 5, stock: 1 }),
  product({ name: "'Tis tea", sku: "'=already", shelf: '+A1', supplierNotes: 'semi;colon\ttab', price: 0 }),
  product({ name: 'Dates ١٢', sku: 'D-1', price: 1e12, stock: 1e9, offer: { quantity: 0, price: 7 } }),
];

function rowsOf(text: string, currency = 'USD'): CatalogCsvRow[] {
  const { rows, problems } = readCatalogCsv(text, currency);
  expect(problems).toEqual([]);
  return rows;
}

describe('reading a catalog file', () => {
  it('reads products with offers, private columns and batches, any header case', () => {
    const rows = rowsOf('Name,SKU,Unit,Price,Stock,Offer quantity,Offer_Price,COST-PRICE,Shelf,Expires on\nRice,R1,bag,12.50,40,10,12,9.5,B3,2027-01-05\n');
    expect(rows).toEqual([
      { line: 2, name: 'Rice', sku: 'R1', unit: 'bag', price: 1250, stock: 40, costPrice: 950, shelf: 'B3', supplierNotes: '', batches: [{ quantity: 40, expiresOn: '2027-01-05' }], offerQuantity: 10, offerPrice: 1200 },
    ]);
  });

  it('fills optional cells with their defaults', () => {
    expect(rowsOf('name,price,sku,unit,stock,cost_price,offer_quantity\nSalt,1,,,,,\n')).toEqual([
      { line: 2, name: 'Salt', sku: '', unit: 'each', price: 100, stock: 0, costPrice: null, shelf: '', supplierNotes: '' },
    ]);
  });

  it('refuses empty required cells by line, and an empty price never becomes 0', () => {
    const result = readCatalogCsv('name,price,stock\nGood,1.00,1\n,2.00,1\nFree,,1\n  ,  ,1\n', 'USD');
    expect(result.problems).toEqual(['Line 3: Name is required', 'Line 4: Price is required', 'Line 5: Name is required', 'Line 5: Price is required']);
    expect(result.rows).toEqual([]);
    expect(rowsOf('name,price\nFree,0\n')[0]!.price).toBe(0);
  });

  it('reads quoted cells with separators, doubled quotes and line breaks, and counts their lines', () => {
    const text = 'name,price,supplier_notes\r\n"Tea, green",1.00,"say ""hi""\r\nline two\r\nline three"\r\nCoffee,2.00,\r\n"Milk\nfresh",x,\r\n';
    const result = readCatalogCsv(text, 'USD');
    expect(result.problems).toEqual(['Line 6: Price "x" is not an amount like 12.50']);
    const good = rowsOf(text.replace(',x,', ',3,'));
    expect(good.map((r) => [r.line, r.name, r.supplierNotes])).toEqual([
      [2, 'Tea, green', 'say "hi"\nline two\nline three'],
      [5, 'Coffee', ''],
      [6, 'Milk\nfresh', ''],
    ]);
  });

  it('refuses an unclosed quote, naming the line where it opens, and imports nothing', () => {
    const text = 'name,price\nA,1\nB,2\n"C\nstill C,3\nD,4\nE,5\n';
    expect(readCatalogCsv(text, 'USD')).toMatchObject({ rows: [], problems: ['Line 4: a quoted cell starts here and its closing quote is missing; nothing was imported'], warnings: [] });
    expect(readCatalogCsv('name,price,shelf\nA,1,x\n\nB,2,"y\n\nC,3,z\n', 'USD').problems).toEqual([
      'Line 4: a quoted cell starts here and its closing quote is missing; nothing was imported',
    ]);
    expect(readCatalogCsv('name,price,shelf\nA,1,\n"B\nb",2,"5"" wide"x\nC,3,"ok"\n', 'USD').problems).toEqual([
      'Line 4: a quoted cell has text after its closing quote; write a quote inside a quoted cell as two quotes ("")',
    ]);
  });

  it('reads semicolon files with decimal commas, tab files, a BOM and CRLF', () => {
    const semicolon = '\ufeffName;Price;Stock;Offer quantity\r\nKäse;1,50;2,5;1\r\nBrot;2;1;\r\n';
    expect(readCatalogCsv('\ufeff"Colour, hue",name,price\r\nred,A,1\r\n', 'USD').warnings).toEqual(['Line 1: column "Colour, hue" is not a catalog column; it was ignored']);
    expect(rowsOf(semicolon, 'EUR').map((r) => [r.name, r.price, r.stock, r.offerQuantity])).toEqual([
      ['Käse', 150, 2.5, 1],
      ['Brot', 200, 1, undefined],
    ]);
    expect(readCatalogCsv('name;price\nKäse;1.50\n', 'EUR').problems).toEqual([
      'Line 2: Price "1.50" is not an amount like 12,50 (this file is separated by semicolons, so its decimal separator is a comma)',
    ]);
    expect(rowsOf('name\tprice\nTea, green\t1.5\n').map((r) => [r.name, r.price])).toEqual([['Tea, green', 150]]);
  });

  it('reads amounts in the shop currency’s minor units and refuses ambiguous ones', () => {
    expect(rowsOf('name,price\nSushi,1250\n', 'JPY')[0]!.price).toBe(1250);
    expect(rowsOf('name,price\nDates,1.5\n', 'KWD')[0]!.price).toBe(1500);
    expect(readCatalogCsv('name,price,cost_price\nA,1.234,1\nB,5.5,\nC,"1,234.00",\nD,-1,\n', 'EUR').problems).toEqual([
      'Line 2: Price "1.234" has 3 decimals, but EUR has 2',
      'Line 4: Price "1,234.00" is not an amount like 12.50',
      'Line 5: Price "-1" is negative; amounts are never below zero',
    ]);
    expect(readCatalogCsv('name,price\nA,5.5\n', 'JPY').problems).toEqual(['Line 2: Price "5.5" has decimals, but JPY has none']);
    expect(readCatalogCsv('name,price\nA,1\n', 'XYZ').problems).toEqual(['The shop\'s currency "XYZ" is not an ISO 4217 code, so no prices can be read']);
  });

  it('names the line of every problem, with the catalog’s own rules', () => {
    const text = [
      'name,price,stock,offer_quantity,batches,extra',
      '"Greedy\nseller",1.00,2,9,,',
      'Heavy,1.00,lots,,,',
      'Old,1.00,1,,5@2027-02-30,',
      'Wide,1.00,1,,,,surprise',
      `${'N'.repeat(241)},1.00,1,,,`,
    ].join('\n');
    expect(readCatalogCsv(text, 'USD')).toEqual({
      rows: [],
      columns: ['name', 'price', 'stock', 'offer_quantity', 'batches'],
      problems: [
        'Line 2: Offered quantity (9) is more than stock (2)',
        'Line 4: Stock "lots" is not a quantity like 2.5 (at most three decimals, no thousands separators)',
        'Line 5: Batch expiry "2027-02-30" is not a date like 2027-01-31',
        'Line 6: 7 cells, but the header has 6 columns',
        'Line 7: Name is too long: 241 bytes, the limit is 240 (letters outside the Latin alphabet take 2 to 4 bytes each)',
      ],
      warnings: ['Line 1: column "extra" is not a catalog column; it was ignored'],
    });
  });

  it('names missing and repeated columns, and an empty file', () => {
    expect(readCatalogCsv('sku,stock\nA,1', 'USD').problems).toEqual(['Line 1: the header row has no "name" column', 'Line 1: the header row has no "price" column']);
    expect(readCatalogCsv('name,price,Price\nA,1,2', 'USD').problems).toEqual(['Line 1: the column "price" appears twice']);
    expect(readCatalogCsv('\ufeff\r\n', 'USD').problems).toEqual(['Line 1: the file is empty; it needs a header row naming its columns']);
  });

  it('refuses a file over the byte limit before parsing it, and stops past the row limit', () => {
    const huge = `name,price\n${'x'.repeat(CATALOG_CSV_MAX_BYTES)}`;
    expect(readCatalogCsv(huge, 'USD').problems).toEqual(['The file is 20.0 MB; the limit is 20 MB. Split it into smaller files.']);
    const wide = `name,price\n${'é'.repeat(CATALOG_CSV_MAX_BYTES / 2)}`;
    expect(readCatalogCsv(wide, 'USD').problems[0]).toMatch(/^The file is 20\.0 MB; the limit is 20 MB/);
    const many = `name,price\n${'A,1\n'.repeat(CATALOG_CSV_MAX_ROWS + 1)}`;
    expect(readCatalogCsv(many, 'USD')).toMatchObject({ rows: [], problems: ['The file has more than 100,000 products; the limit is 100,000 per file. Split it into smaller files.'], warnings: [] });
    expect(readCatalogCsv(`name,price\n${'A,1\n'.repeat(CATALOG_CSV_MAX_ROWS)}`, 'USD').rows).toHaveLength(CATALOG_CSV_MAX_ROWS);
  });

  it('keeps the first hundred problems and counts the rest', () => {
    const { problems } = readCatalogCsv(`name,price\n${',1\n'.repeat(150)}`, 'USD');
    expect(problems).toHaveLength(101);
    expect(problems[100]).toBe('…and 50 more problems');
  });
});

describe('writing a catalog file', () => {
  it('writes a file that reads back to the same rows, and the same bytes again', () => {
    for (const [currency, delimiter] of [['USD', ','], ['EUR', ';'], ['KWD', '\t'], ['JPY', ',']] as const) {
      const first = catalogToCsv(TRICKY, currency, { delimiter });
      const rows = rowsOf(first, currency);
      expect(rows.map((r) => r.name)).toEqual(TRICKY.map((p) => p.name));
      expect(rows.map((r) => [r.sku, r.unit, r.shelf, r.supplierNotes, r.price, r.stock])).toEqual(TRICKY.map((p) => [p.sku, p.unit, p.shelf, p.supplierNotes, p.price, p.stock]));
      expect(rows[0]).toMatchObject({ costPrice: 900, offerQuantity: 10, offerPrice: 1200, batches: [{ quantity: 30, expiresOn: '2027-01-05' }, { quantity: 10.5, expiresOn: '' }] });
      expect(rows[3]).toMatchObject({ offerQuantity: 0, offerPrice: 7 });
      expect(catalogToCsv(rows, currency, { delimiter })).toBe(first);
    }
  });

  it('writes amounts with the currency’s decimals and a spreadsheet-friendly frame', () => {
    const text = catalogToCsv([product({ name: 'Rice', price: 1250, stock: 2.5, costPrice: 5 })], 'USD');
    expect(text).toBe('\ufeffname,sku,unit,price,stock,offer_quantity,offer_price,cost_price,shelf,supplier_notes,batches\r\nRice,,each,12.50,2.5,,,0.05,,,\r\n');
    expect(catalogToCsv([product({ name: 'Rice', price: 1250, stock: 2.5 })], 'EUR', { delimiter: ';' })).toContain('\r\nRice;;each;12,50;2,5;');
    expect(catalogToCsv([product({ name: 'Rice', price: 1250 })], 'JPY')).toContain('\r\nRice,,each,1250,');
  });

  it('guards formula-like text with a quote, quoted, and reads it back without', () => {
    const text = catalogToCsv(TRICKY, 'USD');
    expect(text).toContain('\r\n"\'=HYPERLINK(""http://evil"",""click"")","\'-42","\'@kg",');
    expect(text).toContain('\r\n"\'Tis tea","\'\'=already",each,');
    expect(text).toContain(',"\'+A1",');
    for (const line of text.split('\r\n').slice(1)) expect(line).not.toMatch(/(^|,)[=+\-@]/);
    const rows = rowsOf(text);
    expect(rows.map((r) => [r.name, r.sku, r.unit, r.shelf])).toEqual([
      ['Rice, long grain', 'R1', 'bag', 'B3'],
      ['=HYPERLINK("http://evil","click")', '-42', '@kg', ''],
      ["'Tis tea", "'=already", 'each', '+A1'],
      ['Dates ١٢', 'D-1', 'each', ''],
    ]);
    expect(rowsOf("name,price\n'=1+1,1\n'plain,1\n").map((r) => r.name)).toEqual(['=1+1', "'plain"]);
  });
});

describe('checking imported rows before saving', () => {
  it('finds nothing more to refuse in rows the file reader accepted', async () => {
    const { checkCatalogRows } = await import('./catalog');
    expect(checkCatalogRows(rowsOf(catalogToCsv(TRICKY, 'USD')))).toEqual([]);
  });
});
