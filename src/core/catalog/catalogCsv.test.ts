import { describe, expect, it } from 'vitest';
import { parseCsv, parseMoney, readCatalogCsv } from './catalogCsv';

describe('catalog CSV', () => {
  it('splits quoted fields, doubled quotes and CRLF lines', () => {
    expect(parseCsv('a,"b,c","say ""hi"""\r\n1,2,3\n')).toEqual([
      ['a', 'b,c', 'say "hi"'],
      ['1', '2', '3'],
    ]);
  });

  it('reads products with offers and private columns', () => {
    const { rows, problems } = readCatalogCsv('Name,SKU,Unit,Price,Stock,Offer quantity,Offer price,Shelf,Expires on\nRice,R1,bag,12.50,40,10,12,B3,2027-01-05\n');
    expect(problems).toEqual([]);
    expect(rows).toEqual([
      {
        name: 'Rice',
        sku: 'R1',
        unit: 'bag',
        price: 1250,
        stock: 40,
        costPrice: null,
        shelf: 'B3',
        supplierNotes: '',
        batches: [{ quantity: 40, expiresOn: '2027-01-05' }],
        offerQuantity: 10,
        offerPrice: 1200,
      },
    ]);
  });

  it('names every bad line and a missing column', () => {
    expect(readCatalogCsv('sku,stock\nA,1').problems).toEqual(['the header row has no "name" column', 'the header row has no "price" column']);
    expect(readCatalogCsv('name,price,stock\nA,1.234,1\nB,2,lots\n').problems).toEqual([
      'line 2: price "1.234" is not an amount like 12.50',
      'line 3: stock "lots" is not a number',
    ]);
    expect(parseMoney('')).toBeUndefined();
  });
});

describe('checking imported rows before saving', () => {
  it('names the row and the rule for every bad row', async () => {
    const { checkCatalogRows } = await import('./catalog');
    const { rows } = readCatalogCsv('name,price,stock,offer_quantity\nGood,1.00,5,5\n,2.00,1,\nGreedy,1.00,2,9\n');
    expect(checkCatalogRows(rows)).toEqual(['Row 2: Name is required', 'Row 3: Offered quantity (9) is more than stock (2)']);
  });
});
