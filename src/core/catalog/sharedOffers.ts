import * as A from '@automerge/automerge';
import type { OfferFieldValue, Product, SharedOffer, SharedVaultDoc } from '../vault/vaultDocuments';
import { batchStock, isExpired, roundQuantity, type BatchStock } from './fefo';

/**
 * The shared offers of a vault: packed sets (JSON rows `[productId, name, sku, unit, quantity,
 * price, expiresOn|null]`, written by an import) and one key per field on top
 * ("productId/letter"). Letters: n name, s sku, u unit, q quantity, p price, e expiresOn
 * (YYYY-MM-DD or null), x withdrawn (1) or offered (0). Short keys keep a one-field change small
 * enough for a radio packet (compactUpdate.ts).
 */
export const OFFER_LETTERS = { n: 'name', s: 'sku', u: 'unit', q: 'quantity', p: 'price', e: 'expiresOn' } as const;
export type OfferLetter = keyof typeof OFFER_LETTERS | 'x';
type OfferValues = Omit<SharedOffer, 'area'>;

export type OfferRow = [string, string, string, string, number, number, string | null];

const encoder = new TextEncoder();

export function packOffers(offers: readonly OfferValues[]): Uint8Array {
  return encoder.encode(JSON.stringify(offers.map((o): OfferRow => [o.productId, o.name, o.sku, o.unit, o.quantity, o.price, o.expiresOn])));
}

/**
 * The shared, coarsened view of an offered product: what peers see (the area is the shop's).
 * Expired stock is never offered: on `today` (YYYY-MM-DD, UTC, from the node's clock) what
 * expired batches hold is taken off, and the expiry shown is the earliest of the batches not
 * expired that still hold stock. `held` (the reservation engine's accepted holds) is taken off
 * too. `stock` is the product's batches with what is left of each (fefo.ts batchStock, from the
 * moves history); without it each batch is taken as whole (what a product without history has).
 * Without `today` nothing counts as expired.
 */
export function offerFor(product: Product, today?: string, held = 0, stock?: { batches: readonly BatchStock[]; unbatched: number }): OfferValues | null {
  if (!product.offer) return null;
  const batches = stock ?? batchStock(product.batches, new Map(), product.stock);
  let expired = 0;
  let earliest: string | null = null;
  for (const b of batches.batches) {
    if (b.remaining <= 0 || !b.expiresOn) continue;
    if (today !== undefined && isExpired(b.expiresOn, today)) expired += b.remaining;
    else if (earliest === null || b.expiresOn < earliest) earliest = b.expiresOn;
  }
  return {
    productId: product.id,
    name: product.name,
    sku: product.sku,
    unit: product.unit,
    quantity: roundQuantity(Math.max(0, Math.min(product.offer.quantity, product.stock - expired) - held)),
    price: product.offer.price,
    expiresOn: earliest,
  };
}

function plain(value: unknown): unknown {
  return A.isImmutableString(value) ? (value as A.ImmutableString).val : value;
}

/** Offers as the shared document holds them (withdrawn ones flagged), unchecked: vaultShape.ts checks a peer's. */
export function rawOffers(doc: SharedVaultDoc, decodeSet: (bytes: Uint8Array) => unknown = (b) => JSON.parse(new TextDecoder().decode(b))): Map<string, Record<string, unknown>> {
  const offers = new Map<string, Record<string, unknown>>();
  for (const setId of Object.keys(doc.offerSets ?? {}).sort()) {
    const rows = decodeSet(doc.offerSets[setId]!) as OfferRow[];
    for (const row of rows) {
      offers.set(String(row[0]), { productId: row[0], name: row[1], sku: row[2], unit: row[3], quantity: row[4], price: row[5], expiresOn: row[6], x: 0 });
    }
  }
  for (const [key, value] of Object.entries(doc.offerFields ?? {})) {
    const slash = key.indexOf('/');
    const id = key.slice(0, slash);
    const letter = key.slice(slash + 1);
    let offer = offers.get(id);
    if (!offer) offers.set(id, (offer = { productId: id, x: 0 }));
    offer[letter === 'x' ? 'x' : (OFFER_LETTERS[letter as keyof typeof OFFER_LETTERS] ?? `?${letter}`)] = plain(value);
  }
  return offers;
}

function stored(value: unknown): OfferFieldValue {
  if (typeof value === 'string') return new A.ImmutableString(value);
  return value as OfferFieldValue;
}

/**
 * Brings the shared offer of one product in line with the catalog, inside an Automerge change:
 * only the fields that differ are written (one key each), so a price or stock change is one
 * small operation. `current` is the offer as the shared document holds it now.
 */
export function writeOffer(draft: SharedVaultDoc, productId: string, current: Record<string, unknown> | undefined, next: OfferValues | null): void {
  const offered = current !== undefined && current.x !== 1;
  if (!next) {
    if (offered) draft.offerFields[`${productId}/x`] = 1;
    return;
  }
  for (const [letter, field] of Object.entries(OFFER_LETTERS)) {
    const value = next[field as keyof OfferValues];
    if (current && current[field] === value) continue;
    draft.offerFields[`${productId}/${letter}`] = stored(value);
  }
  if (current && current.x === 1) draft.offerFields[`${productId}/x`] = 0;
}
