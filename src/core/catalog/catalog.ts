import * as A from '@automerge/automerge';
import type { Batch, PrivateVaultDoc, Product, SharedOffer, SharedVaultDoc } from '../vault/vaultDocuments';
import type { CatalogRow } from './catalogCsv';
import { InputError } from '../inputError';
import { MAX_MINOR_UNITS, MAX_QUANTITY, TEXT_LIMITS, utf8Length } from '../vault/vaultLimits';

export interface ProductInput {
  name: string;
  sku: string;
  unit: string;
  price: number;
  stock: number;
  costPrice?: number | null;
  supplierNotes?: string;
  shelf?: string;
  batches?: { quantity: number; expiresOn: string }[];
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** Trimmed text of at least `min` characters and at most `maxBytes` bytes of UTF-8 (the unit every limit is in). */
function text(field: string, value: unknown, { min, maxBytes }: { min: number; maxBytes: number }): string {
  if (typeof value !== 'string') throw new InputError(field, `${field} must be text`);
  const trimmed = value.trim();
  if (trimmed.length < min) throw new InputError(field, `${field} is required`);
  const bytes = utf8Length(trimmed);
  if (bytes > maxBytes) {
    throw new InputError(
      field,
      `${field} is too long: ${bytes} bytes, the limit is ${maxBytes} (letters outside the Latin alphabet take 2 to 4 bytes each)`,
    );
  }
  return trimmed;
}

function minorUnits(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_MINOR_UNITS) {
    throw new InputError(field, `${field} must be a whole number of cents from 0 to ${MAX_MINOR_UNITS}`);
  }
  return value;
}

/** Quantities may be fractional (kilograms, litres) to three decimals. */
export function quantity(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_QUANTITY) {
    throw new InputError(field, `${field} must be a number from 0 to ${MAX_QUANTITY}`);
  }
  return Math.round(value * 1000) / 1000;
}

/** Rounds a date or date-time to its day, YYYY-MM-DD (UTC). */
export function roundToDay(value: string): string {
  if (DATE.test(value)) return value;
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new InputError('expiresOn', `not a date: ${value}`);
  return new Date(time).toISOString().slice(0, 10);
}

function batches(input: ProductInput['batches'], makeId: () => string): Batch[] {
  if (input === undefined) return [];
  if (!Array.isArray(input) || input.length > 500) throw new InputError('batches', 'batches must be a list of at most 500');
  return input.map((batch, i) => ({
    id: makeId(),
    quantity: quantity(`batch ${i + 1} quantity`, batch.quantity),
    expiresOn: batch.expiresOn ? roundToDay(batch.expiresOn) : '',
  }));
}

export function validateProduct(input: ProductInput, makeId: () => string): Omit<Product, 'id' | 'offer' | 'createdAt' | 'updatedAt'> {
  return {
    name: text('Name', input.name, { min: 1, maxBytes: TEXT_LIMITS.productName }),
    sku: text('SKU', input.sku ?? '', { min: 0, maxBytes: TEXT_LIMITS.sku }),
    unit: text('Unit', input.unit || 'each', { min: 1, maxBytes: TEXT_LIMITS.unit }),
    price: minorUnits('Price', input.price),
    stock: quantity('Stock', input.stock),
    costPrice: input.costPrice == null ? null : minorUnits('Cost price', input.costPrice),
    supplierNotes: text('Supplier notes', input.supplierNotes ?? '', { min: 0, maxBytes: TEXT_LIMITS.supplierNotes }),
    shelf: text('Shelf', input.shelf ?? '', { min: 0, maxBytes: TEXT_LIMITS.shelf }),
    batches: batches(input.batches, makeId),
  };
}

/** The merchant's exact location (private), trimmed and checked. */
export function validateExactLocation(value: string): string {
  return text('Exact location', value, { min: 0, maxBytes: TEXT_LIMITS.exactLocation });
}

/** A shop's public profile as the merchant typed it, trimmed and checked. */
export function validateShopProfile(input: { name: string; area: string; currency?: string }): { name: string; area: string; currency: string } {
  const name = text('Shop name', input.name, { min: 1, maxBytes: TEXT_LIMITS.shopName });
  const area = text('Area', input.area, { min: 1, maxBytes: TEXT_LIMITS.area });
  const currency = (input.currency || 'USD').trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(currency)) throw new InputError('Currency', 'Currency must be a three-letter code such as USD, EUR or KES');
  return { name, area, currency };
}

export function validateOffer(product: Product, offer: { quantity: number; price: number }): { quantity: number; price: number } {
  const offered = quantity('Offered quantity', offer.quantity);
  if (offered > product.stock) {
    throw new InputError('Offered quantity', `Offered quantity (${offered}) is more than stock (${product.stock})`);
  }
  return { quantity: offered, price: minorUnits('Offer price', offer.price) };
}

/** The shared, coarsened view of an offered product: what peers see. */
export function offerFor(product: Product, area: string, now: number): SharedOffer | null {
  if (!product.offer) return null;
  const expiries = product.batches.filter((b) => b.expiresOn && b.quantity > 0).map((b) => b.expiresOn).sort();
  return {
    productId: product.id,
    name: product.name,
    sku: product.sku,
    unit: product.unit,
    quantity: Math.min(product.offer.quantity, product.stock),
    price: product.offer.price,
    expiresOn: expiries[0] ?? null,
    area,
    updatedAt: now,
  };
}

/**
 * Shared text is written as Automerge ImmutableString: one operation per value instead of one
 * per character, which keeps vaults small to send and cheap to load.
 */
export function sharedText(value: string): A.ImmutableString {
  return new A.ImmutableString(value);
}

/** The plain value of a shared field, whether stored as text, ImmutableString or a number. */
export function plainValue(value: unknown): unknown {
  return A.isImmutableString(value) ? (value as A.ImmutableString).val : value;
}

const SHARED_TEXT_FIELDS = new Set(['productId', 'name', 'sku', 'unit', 'expiresOn', 'area']);

function sharedField(key: string, value: unknown): unknown {
  return typeof value === 'string' && SHARED_TEXT_FIELDS.has(key) ? sharedText(value) : value;
}

/** Brings the shared offer for `productId` in line with the private catalog (inside an Automerge change). */
export function syncOffer(shared: SharedVaultDoc, priv: PrivateVaultDoc, productId: string, now: number): void {
  const product = priv.products[productId];
  const offer = product ? offerFor(product, plainValue(shared.profile.area) as string, now) : null;
  if (!offer) {
    if (shared.offers[productId]) delete shared.offers[productId];
    return;
  }
  const current = shared.offers[productId] as unknown as Record<string, unknown> | undefined;
  if (!current) {
    shared.offers[productId] = Object.fromEntries(Object.entries(offer).map(([k, v]) => [k, sharedField(k, v)])) as unknown as SharedOffer;
    return;
  }
  let changed = false;
  for (const key of ['name', 'sku', 'unit', 'quantity', 'price', 'expiresOn', 'area'] as const) {
    if (plainValue(current[key]) === offer[key]) continue;
    current[key] = sharedField(key, offer[key]);
    changed = true;
  }
  if (changed) current.updatedAt = now;
}

/** A whole product from an imported row, offer included; errors name the row (1-based). */
export function productFromRow(row: CatalogRow, rowNumber: number, makeId: () => string, now: number): Product {
  try {
    const product: Product = { id: makeId(), ...validateProduct(row, makeId), offer: null, createdAt: now, updatedAt: now };
    if (row.offerQuantity !== undefined && row.offerQuantity > 0) {
      product.offer = validateOffer(product, { quantity: row.offerQuantity, price: row.offerPrice ?? product.price });
    }
    return product;
  } catch (error) {
    if (error instanceof InputError) throw new InputError(error.field, `Row ${rowNumber}: ${error.message}`);
    throw error;
  }
}

/** Every problem in a set of rows, before anything is saved (at most `limit` of them). */
export function checkCatalogRows(rows: readonly CatalogRow[], limit = 20): string[] {
  const problems: string[] = [];
  rows.forEach((row, i) => {
    if (problems.length >= limit) return;
    try {
      productFromRow(row, i + 1, () => 'check', 0);
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
  });
  return problems;
}
