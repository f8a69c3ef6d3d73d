import type { Batch } from '../vault/vaultDocuments';

/**
 * First expiry, first out: which batches a sale, a reservation or waste takes from, and what is
 * left of each batch. Pure functions over plain values, so the counter, the reservation engine
 * and the offers agree on one rule.
 *
 * A batch is expired on the days after its expiry date (`expiresOn < today`, both YYYY-MM-DD in
 * UTC); a batch with no expiry never expires and is taken last. Stock that no batch accounts for
 * ("unbatched": the product's stock minus what its batches hold) is taken after every batch.
 */

/** A batch as FEFO sees it: what is left of it. */
export interface BatchStock {
  id: string;
  /** YYYY-MM-DD, or '' for none. */
  expiresOn: string;
  /** YYYY-MM-DD, or '' when unknown (breaks ties between batches of one expiry). */
  receivedOn?: string;
  remaining: number;
}

export interface FefoTake {
  batch: string;
  quantity: number;
}

export interface FefoResult {
  /** Quantities taken from batches, earliest expiry first. */
  takes: FefoTake[];
  /** What is taken from stock no batch accounts for. */
  unbatched: number;
  /** What could not be taken (0 when the whole quantity was found). */
  shortfall: number;
}

const DAY_MS = 86_400_000;

export function roundQuantity(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** The UTC day (YYYY-MM-DD) of a time in milliseconds. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Milliseconds from `ms` to the next UTC midnight (never 0). */
export function msToNextUtcDay(ms: number): number {
  return DAY_MS - (((ms % DAY_MS) + DAY_MS) % DAY_MS);
}

/** True when a batch with this expiry may no longer be sold or offered on `today`. */
export function isExpired(expiresOn: string, today: string): boolean {
  return expiresOn !== '' && expiresOn < today;
}

/** Earliest expiry first, batches without expiry last; then earliest received, then by id. */
export function fefoCompare(a: Pick<BatchStock, 'id' | 'expiresOn' | 'receivedOn'>, b: Pick<BatchStock, 'id' | 'expiresOn' | 'receivedOn'>): number {
  if (a.expiresOn !== b.expiresOn) {
    if (a.expiresOn === '') return 1;
    if (b.expiresOn === '') return -1;
    return a.expiresOn < b.expiresOn ? -1 : 1;
  }
  const ra = a.receivedOn ?? '';
  const rb = b.receivedOn ?? '';
  if (ra !== rb) return ra < rb ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Takes `quantity` from `batches` earliest expiry first, then from `unbatched` stock. Expired
 * batches are skipped unless `expired` is true (waste and corrections take them first; sales and
 * reservations never do). Returns the takes and the shortfall, if the stock is not enough.
 */
export function takeFefo(
  batches: readonly BatchStock[],
  quantity: number,
  today: string,
  options: { unbatched?: number; expired?: boolean } = {},
): FefoResult {
  let left = roundQuantity(quantity);
  const takes: FefoTake[] = [];
  const usable = batches.filter((b) => b.remaining > 0 && (options.expired || !isExpired(b.expiresOn, today))).sort(fefoCompare);
  for (const batch of usable) {
    if (left <= 0) break;
    const take = roundQuantity(Math.min(batch.remaining, left));
    takes.push({ batch: batch.id, quantity: take });
    left = roundQuantity(left - take);
  }
  const unbatched = roundQuantity(Math.max(0, Math.min(options.unbatched ?? 0, left)));
  left = roundQuantity(left - unbatched);
  return { takes, unbatched, shortfall: Math.max(0, left) };
}

/**
 * What is left of each batch of a product: its received quantity minus what the moves history
 * took from it (`taken`: batch id → quantity, summed over every device's moves, so concurrent
 * sales add up). What was taken past a batch's quantity (two devices sold its last units at once)
 * spills over to the next batch, earliest expiry first; and batches never hold more than the
 * stock (stock moved without naming a batch — an older version's adjustments — is taken from the
 * earliest expiry first). Returns the batches in FEFO order, and the stock no batch accounts for.
 */
export function batchStock(batches: readonly Batch[], taken: ReadonlyMap<string, number>, stock: number): { batches: BatchStock[]; unbatched: number } {
  const list: BatchStock[] = batches
    .map((b) => ({ id: b.id, expiresOn: b.expiresOn, receivedOn: b.receivedOn ?? '', remaining: roundQuantity(b.quantity - (taken.get(b.id) ?? 0)) }))
    .sort(fefoCompare);
  let overflow = 0;
  let held = 0;
  for (const b of list) {
    if (b.remaining < 0) {
      overflow = roundQuantity(overflow - b.remaining);
      b.remaining = 0;
    }
    held = roundQuantity(held + b.remaining);
  }
  let remove = roundQuantity(Math.max(overflow, held - Math.max(0, stock)));
  for (const b of list) {
    if (remove <= 0) break;
    const cut = roundQuantity(Math.min(b.remaining, remove));
    b.remaining = roundQuantity(b.remaining - cut);
    remove = roundQuantity(remove - cut);
    held = roundQuantity(held - cut);
  }
  return { batches: list, unbatched: roundQuantity(Math.max(0, stock - held)) };
}

/** Stock that may be sold or offered on `today`: everything but what expired batches hold. */
export function sellableStock(stock: { batches: readonly BatchStock[]; unbatched: number }, today: string): number {
  let total = stock.unbatched;
  for (const b of stock.batches) if (!isExpired(b.expiresOn, today)) total += b.remaining;
  return roundQuantity(total);
}
