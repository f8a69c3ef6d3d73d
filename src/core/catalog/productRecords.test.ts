import * as A from '@automerge/automerge';
import { describe, expect, it } from 'vitest';
import type { PrivateVaultDoc, Product, SharedVaultDoc } from '../vault/vaultDocuments';
import { moveStock, packProducts, readCheckedProducts, readProducts, recountStock, stockMovesByProduct, writeProductFields } from './productRecords';
import { PRIVATE_CATALOG_LIMITS } from '../vault/vaultLimits';
import { offerFor, packOffers, rawOffers, writeOffer } from './sharedOffers';
import { measureAutomerge, VAULT_LIMITS } from '../vault/automergeCost';
import { testProduct } from '../test/products';

const product = (id: string, extra: Partial<Product> = {}): Product => testProduct({ id, name: `Product ${id}`, sku: `SKU-${id}`, stock: 10, ...extra });

function emptyCatalog(actor: string): A.Doc<PrivateVaultDoc> {
  return A.from<PrivateVaultDoc>({ schema: 2, exactLocation: new A.ImmutableString(''), productSets: {}, productFields: {}, stockMoves: {} }, { actor });
}

describe('the private catalog: packed sets, field edits, counted stock', () => {
  it('an import of 10,000 products is one operation on top of the document', () => {
    const rows = Array.from({ length: 10_000 }, (_, i) => product(i.toString(16).padStart(16, '0')));
    const before = emptyCatalog('aa'.repeat(16));
    const after = A.change(before, (d) => void (d.productSets.s1 = packProducts(rows)));
    const [change] = A.getChanges(before, after);
    expect(measureAutomerge(change!, VAULT_LIMITS).ops).toBe(1);
    expect(readProducts(after).size).toBe(10_000);
  });

  it('two devices editing different fields of one product merge field by field', () => {
    const base = A.change(emptyCatalog('aa'.repeat(16)), (d) => void (d.productSets.s1 = packProducts([product('p1')])));
    const phone = A.change(A.clone(base, { actor: 'bb'.repeat(16) }), (d) => writeProductFields(d, product('p1'), product('p1', { price: 150 })));
    const laptop = A.change(A.clone(base, { actor: 'cc'.repeat(16) }), (d) => writeProductFields(d, product('p1'), product('p1', { shelf: 'B2', supplierNotes: 'Ana' })));
    const merged = readProducts(A.merge(A.clone(phone), laptop)).get('p1')!;
    expect(merged).toMatchObject({ price: 150, shelf: 'B2', supplierNotes: 'Ana', stock: 10 });
  });

  it('stock moves on two devices add up; a recount keeps a concurrent sale', () => {
    const base = A.change(emptyCatalog('aa'.repeat(16)), (d) => void (d.productSets.s1 = packProducts([product('p1', { stock: 10 })])));
    const phone = A.change(A.clone(base, { actor: 'bb'.repeat(16) }), (d) => {
      moveStock(d, 'p1', 'phone', -1);
      moveStock(d, 'p1', 'phone', -2);
    });
    const laptop = A.change(A.clone(base, { actor: 'cc'.repeat(16) }), (d) => moveStock(d, 'p1', 'laptop', -4));
    const merged = A.merge(A.clone(phone), laptop);
    expect(readProducts(merged).get('p1')!.stock).toBe(3);
    // The laptop counts 20 on the shelf (knowing its own -4) while the phone sells one more.
    const recounted = A.change(A.clone(laptop), (d) => recountStock(d, 'p1', 20, stockMovesByProduct(laptop).get('p1') ?? 0));
    const sold = A.change(A.clone(phone), (d) => moveStock(d, 'p1', 'phone', -1));
    expect(readProducts(A.merge(A.clone(recounted), sold)).get('p1')!.stock).toBe(16);
  });

  it('a deleted product stays deleted; an edit of another field does not bring it back', () => {
    const base = A.change(emptyCatalog('aa'.repeat(16)), (d) => void (d.productSets.s1 = packProducts([product('p1'), product('p2')])));
    const gone = A.change(base, (d) => void (d.productFields['p1/deleted'] = true));
    expect([...readProducts(gone).keys()]).toEqual(['p2']);
  });
});

describe('shared offers: packed sets and one key per field', () => {
  function shared(): A.Doc<SharedVaultDoc> {
    return A.from<SharedVaultDoc>({
      schema: 2,
      profile: { name: new A.ImmutableString('S'), area: new A.ImmutableString('A'), currency: new A.ImmutableString('USD') },
      devices: {},
      revocations: {},
      offerSets: {},
      offerFields: {},
    });
  }

  it('a price change of a packed offer is one field key with one value', () => {
    const p = product('p1', { offer: { quantity: 5, price: 100 } });
    const base = A.change(shared(), (d) => void (d.offerSets.s1 = packOffers([offerFor(p)!])));
    const next = A.change(base, (d) => writeOffer(d, 'p1', rawOffers(base).get('p1'), offerFor({ ...p, offer: { quantity: 5, price: 120 } })));
    expect(Object.keys(next.offerFields)).toEqual(['p1/p']);
    expect(rawOffers(next).get('p1')).toMatchObject({ price: 120, quantity: 5, name: 'Product p1' });
  });

  it('withdrawing flags the offer; offering again clears the flag and writes only what changed', () => {
    const p = product('p1', { offer: { quantity: 5, price: 100 } });
    const base = A.change(shared(), (d) => writeOffer(d, 'p1', undefined, offerFor(p)));
    const withdrawn = A.change(base, (d) => writeOffer(d, 'p1', rawOffers(base).get('p1'), null));
    expect(rawOffers(withdrawn).get('p1')!.x).toBe(1);
    const again = A.change(withdrawn, (d) => writeOffer(d, 'p1', rawOffers(withdrawn).get('p1'), offerFor(p)));
    expect(rawOffers(again).get('p1')!.x).toBe(0);
    expect(A.getChanges(withdrawn, again).length).toBe(1);
  });

  it('shares only the coarsened fields: no cost price, notes or shelf, expiry to the day, at most the stock', () => {
    const p = product('p1', { stock: 3, costPrice: 55, supplierNotes: 'secret', shelf: 'B2', offer: { quantity: 5, price: 100 }, batches: [{ id: 'b', quantity: 3, expiresOn: '2027-01-05' }] });
    expect(offerFor(p)).toEqual({ productId: 'p1', name: 'Product p1', sku: 'SKU-p1', unit: 'each', quantity: 3, price: 100, expiresOn: '2027-01-05' });
  });
});

describe('a private catalog another device brings is checked field by field', () => {
  const base = () => A.change(emptyCatalog('aa'.repeat(16)), (d) => void (d.productSets.s1 = packProducts([product('p1')])));
  const check = (doc: A.Doc<PrivateVaultDoc>) => () => readCheckedProducts(doc, PRIVATE_CATALOG_LIMITS);

  it('takes what a merchant can make, stock below zero after two devices’ sales included', () => {
    const sold = A.change(base(), (d) => {
      moveStock(d, 'p1', '0123456789abcdef', -8);
      moveStock(d, 'p1', 'fedcba9876543210', -5);
    });
    expect(readCheckedProducts(sold, PRIVATE_CATALOG_LIMITS).get('p1')!.stock).toBe(-3);
  });

  it('refuses wrong types, unknown fields, malformed stock moves and oversized text', () => {
    expect(check(A.change(base(), (d) => void (d.productFields['p1/name'] = 42)))).toThrow(/name is not text/);
    expect(check(A.change(base(), (d) => void (d.productFields['p1/batches'] = new A.ImmutableString('{"a":1}'))))).toThrow(/batches/);
    expect(check(A.change(base(), (d) => void (d.productFields['p1/price'] = 1.5)))).toThrow(/price/);
    expect(check(A.change(base(), (d) => void (d.productFields['p1/junk'] = 1)))).toThrow(/unknown product field/);
    expect(check(A.change(base(), (d) => void (d.stockMoves['p1/nodevice'] = 1)))).toThrow(/stock move is filed/);
    expect(check(A.change(base(), (d) => void (d.stockMoves['p1/0123456789abcdef'] = 1e17)))).toThrow(/stock move/);
    expect(check(A.change(base(), (d) => void (d.exactLocation = new A.ImmutableString('x'.repeat(401)))))).toThrow(/exact location/);
    expect(check(A.change(base(), (d) => void ((d as unknown as Record<string, unknown>).extra = 1)))).toThrow(/unknown field/);
  });
});
