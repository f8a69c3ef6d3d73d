import { describe, expect, it } from 'vitest';
import { batchStock, isExpired, msToNextUtcDay, sellableStock, takeFefo, utcDay, type BatchStock } from './fefo';

const batch = (id: string, expiresOn: string, remaining: number, receivedOn = ''): BatchStock => ({ id, expiresOn, remaining, receivedOn });

describe('FEFO: first expiry, first out', () => {
  it('takes the earliest expiry first, whatever the order batches are listed in', () => {
    const batches = [batch('late', '2027-05-01', 5), batch('early', '2027-01-10', 3), batch('mid', '2027-03-01', 4)];
    expect(takeFefo(batches, 6, '2026-12-01')).toEqual({ takes: [{ batch: 'early', quantity: 3 }, { batch: 'mid', quantity: 3 }], unbatched: 0, shortfall: 0 });
  });

  it('takes batches without expiry last, after every dated batch, and unbatched stock after all batches', () => {
    const batches = [batch('none', '', 10), batch('dated', '2027-01-10', 2)];
    expect(takeFefo(batches, 5, '2026-12-01', { unbatched: 4 }).takes).toEqual([
      { batch: 'dated', quantity: 2 },
      { batch: 'none', quantity: 3 },
    ]);
    expect(takeFefo(batches, 14, '2026-12-01', { unbatched: 4 })).toEqual({
      takes: [
        { batch: 'dated', quantity: 2 },
        { batch: 'none', quantity: 10 },
      ],
      unbatched: 2,
      shortfall: 0,
    });
  });

  it('skips expired batches for sales and reservations, takes them first for waste', () => {
    const batches = [batch('expired', '2026-11-30', 4), batch('good', '2027-01-10', 4)];
    expect(isExpired('2026-11-30', '2026-12-01')).toBe(true);
    expect(isExpired('2026-12-01', '2026-12-01')).toBe(false);
    expect(takeFefo(batches, 3, '2026-12-01').takes).toEqual([{ batch: 'good', quantity: 3 }]);
    expect(takeFefo(batches, 3, '2026-12-01', { expired: true }).takes).toEqual([{ batch: 'expired', quantity: 3 }]);
    // The day before it expires, the batch is sold first.
    expect(takeFefo(batches, 3, '2026-11-30').takes).toEqual([{ batch: 'expired', quantity: 3 }]);
  });

  it('says what is short when the stock that may be sold is not enough', () => {
    const batches = [batch('expired', '2026-11-30', 4), batch('good', '2027-01-10', 4)];
    const result = takeFefo(batches, 7, '2026-12-01', { unbatched: 1 });
    expect(result).toEqual({ takes: [{ batch: 'good', quantity: 4 }], unbatched: 1, shortfall: 2 });
  });

  it('breaks ties by received date, then id; quantities keep three decimals', () => {
    const batches = [batch('b', '2027-01-10', 0.25, '2026-10-02'), batch('a', '2027-01-10', 0.5, '2026-10-03')];
    expect(takeFefo(batches, 0.6, '2026-12-01').takes).toEqual([
      { batch: 'b', quantity: 0.25 },
      { batch: 'a', quantity: 0.35 },
    ]);
  });
});

describe('batch remainders derived from the moves history', () => {
  const batches = [
    { id: 'A', quantity: 5, expiresOn: '2027-01-10' },
    { id: 'B', quantity: 10, expiresOn: '2027-06-01' },
  ];

  it('is received minus taken; what was taken past a batch spills over to the next expiry', () => {
    expect(batchStock(batches, new Map([['A', 2]]), 13)).toMatchObject({ batches: [{ id: 'A', remaining: 3 }, { id: 'B', remaining: 10 }], unbatched: 0 });
    // Two devices sold A's last units at once: 4 + 3 from a batch of 5.
    expect(batchStock(batches, new Map([['A', 7]]), 8)).toMatchObject({ batches: [{ id: 'A', remaining: 0 }, { id: 'B', remaining: 8 }], unbatched: 0 });
  });

  it('never holds more than the stock (stock moved without a batch goes from the earliest expiry), and counts the rest as unbatched', () => {
    // An older version sold 6 without naming batches: the batches hold 15, the stock is 9.
    expect(batchStock(batches, new Map(), 9)).toMatchObject({ batches: [{ id: 'A', remaining: 0 }, { id: 'B', remaining: 9 }], unbatched: 0 });
    expect(batchStock(batches, new Map(), 20)).toMatchObject({ unbatched: 5 });
  });

  it('sellable stock leaves expired batches out', () => {
    const stock = batchStock(batches, new Map(), 17);
    expect(sellableStock(stock, '2027-01-10')).toBe(17);
    expect(sellableStock(stock, '2027-01-11')).toBe(12);
  });

  it('days are UTC; the next day starts at midnight UTC', () => {
    const t = Date.UTC(2026, 10, 25, 23, 59, 0);
    expect(utcDay(t)).toBe('2026-11-25');
    expect(msToNextUtcDay(t)).toBe(60_000);
    expect(utcDay(t + msToNextUtcDay(t))).toBe('2026-11-26');
  });
});

describe('the shared offer never holds expired stock', () => {
  it('offerFor takes off what expired batches hold and what is held, and shows the earliest expiry not past', async () => {
    const { offerFor } = await import('./sharedOffers');
    const product = {
      id: 'p1',
      name: 'Milk',
      sku: '',
      unit: 'l',
      price: 100,
      stock: 10,
      costPrice: null,
      supplierNotes: '',
      shelf: '',
      batches: [
        { id: 'old', quantity: 4, expiresOn: '2026-11-30' },
        { id: 'new', quantity: 6, expiresOn: '2026-12-05' },
      ],
      offer: { quantity: 10, price: 100 },
      createdAt: 1,
      updatedAt: 1,
    };
    expect(offerFor(product, '2026-11-30')).toMatchObject({ quantity: 10, expiresOn: '2026-11-30' });
    expect(offerFor(product, '2026-12-01')).toMatchObject({ quantity: 6, expiresOn: '2026-12-05' });
    expect(offerFor(product, '2026-12-01', 2)).toMatchObject({ quantity: 4 });
    expect(offerFor(product, '2026-12-06', 0)).toMatchObject({ quantity: 0, expiresOn: null });
    // With what the history took: 3 of the old batch sold, so only 1 expired is taken off.
    const stock = batchStock(product.batches, new Map([['old', 3]]), 7);
    expect(offerFor({ ...product, stock: 7 }, '2026-12-01', 0, stock)).toMatchObject({ quantity: 6 });
  });
});
