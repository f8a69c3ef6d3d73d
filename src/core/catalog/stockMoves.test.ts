import * as A from '@automerge/automerge';
import { describe, expect, it } from 'vitest';
import type { PrivateVaultDoc } from '../vault/vaultDocuments';
import { PRIVATE_CATALOG_LIMITS } from '../vault/vaultLimits';
import { testProduct } from '../test/products';
import { packProducts, readCheckedProducts } from './productRecords';
import { decodeMove, encodeMove, MAX_MOVE_BYTES, MoveLedger, reservationMoveId, type StockMove } from './stockMoves';

const DEVICE = 'ab'.repeat(8);
const sale: StockMove = { kind: 'sale', product: 'p1', delta: -2, takes: [{ batch: 'b1', quantity: 2 }], at: 1_790_000_000_000, device: DEVICE, price: 150, total: 300 };
const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

function catalogWith(moves: Record<string, Uint8Array>): A.Doc<PrivateVaultDoc> {
  return A.from<PrivateVaultDoc>(
    {
      schema: 2,
      exactLocation: new A.ImmutableString(''),
      productSets: { s1: packProducts([testProduct({ id: 'p1', stock: 10, batches: [{ id: 'b1', quantity: 10, expiresOn: '2027-01-10' }] })]) },
      productFields: {},
      stockMoves: {},
      moves,
    },
    { actor: 'aa'.repeat(16) },
  );
}

describe('named stock moves: immutable, versioned, checked', () => {
  it('a move reads back exactly as written, and the ledger derives takes, received batches and undos', () => {
    expect(decodeMove(encodeMove(sale))).toEqual(sale);
    const received: StockMove = {
      kind: 'received',
      product: 'p1',
      delta: 6,
      takes: [],
      at: 1,
      device: DEVICE,
      batch: { id: 'b2', quantity: 6, expiresOn: '2027-02-01', supplier: 'Omar', receivedOn: '2026-11-25', invoice: 'cd'.repeat(32), receipt: '01'.repeat(8) },
    };
    const undo: StockMove = { kind: 'undo', product: 'p1', delta: 2, takes: [{ batch: 'b1', quantity: -2 }], at: 2, device: DEVICE, undoes: '11'.repeat(8) };
    const ledger = MoveLedger.read({ ['11'.repeat(8)]: encodeMove(sale), ['22'.repeat(8)]: encodeMove(received), ['33'.repeat(8)]: encodeMove(undo) });
    expect(ledger.taken('p1').get('b1')).toBe(0);
    expect(ledger.receivedBatches('p1').map((b) => b.id)).toEqual(['b2']);
    expect(ledger.undoneBy('11'.repeat(8))).toBe('33'.repeat(8));
    expect(ledger.list().map((m) => m.id)).toEqual(['11'.repeat(8), '33'.repeat(8), '22'.repeat(8)]);
    // Written twice under one id: one entry.
    expect(ledger.add('11'.repeat(8), sale)).toBe(false);
    expect(ledger.size).toBe(3);
  });

  it('the private catalog checks refuse every malformed move another device sends', () => {
    const good = encodeMove(sale);
    expect(() => readCheckedProducts(catalogWith({ ['11'.repeat(8)]: good }), PRIVATE_CATALOG_LIMITS)).not.toThrow();
    const { v: _v, ...noVersion } = JSON.parse(new TextDecoder().decode(good)) as Record<string, unknown>;
    const base = { ...noVersion, v: 1 };
    const bad: [string, Uint8Array | unknown, RegExp][] = [
      ['not JSON', new TextEncoder().encode('{"v":1,'), /not JSON/],
      ['not bytes', 'sale', /not bytes/],
      ['another version', json({ ...base, v: 2 }), /version/],
      ['an unknown field', json({ ...base, cost: 90 }), /unknown field/],
      ['an unknown kind', json({ ...base, kind: 'gift' }), /kind/],
      ['a sale that adds stock', json({ ...base, delta: 2 }), /takes stock away/],
      ['a sale without a price', json({ ...base, price: undefined, total: undefined }), /price/],
      ['takes past the move', json({ ...base, takes: [['b1', 5]] }), /at most what it moves/],
      ['a malformed device', json({ ...base, device: 'phone' }), /device/],
      ['four decimals', json({ ...base, delta: -2.0001 }), /decimals/],
      ['an undo naming nothing', json({ ...base, kind: 'undo', price: undefined, total: undefined }), /undo/],
      ['a price on waste', json({ ...base, kind: 'waste' }), /no price/],
      ['a correction not after − before', json({ ...base, kind: 'correction', price: undefined, total: undefined, before: 10, after: 7, takes: [] }), /after − before/],
      ['a received batch with a malformed invoice', json({ v: 1, kind: 'received', product: 'p1', delta: 3, takes: [], at: 1, device: DEVICE, batch: { id: 'b9', quantity: 3, expiresOn: '', invoice: 'xyz' } }), /invoice/],
      ['an oversized entry', json({ ...base, note: 'x'.repeat(MAX_MOVE_BYTES) }), /bytes/],
    ];
    for (const [what, bytes, message] of bad) {
      expect(() => readCheckedProducts(catalogWith({ ['11'.repeat(8)]: bytes as Uint8Array }), PRIVATE_CATALOG_LIMITS), what).toThrow(message);
    }
    expect(() => readCheckedProducts(catalogWith({ 'not-a-move-id': good }), PRIVATE_CATALOG_LIMITS)).toThrow(/stock move id/);
  });

  it('the number of moves is bounded', () => {
    const moves = Object.fromEntries(['11', '22', '33'].map((b) => [b.repeat(8), encodeMove(sale)]));
    expect(() => readCheckedProducts(catalogWith(moves), { ...PRIVATE_CATALOG_LIMITS, maxMoves: 2 })).toThrow(/3 stock moves, limit 2/);
    expect(() => readCheckedProducts(catalogWith(moves), { ...PRIVATE_CATALOG_LIMITS, maxMoves: 3 })).not.toThrow();
  });

  it('a stored batch with an unknown or malformed field is refused too', () => {
    const doc = A.change(catalogWith({}), (d) => {
      d.productFields['p1/batches'] = new A.ImmutableString(JSON.stringify([{ id: 'b1', quantity: 10, expiresOn: '2027-01-10', cost: 5 }]));
    });
    expect(() => readCheckedProducts(doc, PRIVATE_CATALOG_LIMITS)).toThrow(/unknown field "cost"/);
  });

  it('a reservation move id is derived from its request', () => {
    const ref = { vault: '0a'.repeat(8), id: '0b'.repeat(8) };
    expect(reservationMoveId(ref)).toMatch(/^[0-9a-f]{16}$/);
    expect(reservationMoveId(ref)).toBe(reservationMoveId({ ...ref }));
    expect(reservationMoveId({ ...ref, id: '0c'.repeat(8) })).not.toBe(reservationMoveId(ref));
  });
});
