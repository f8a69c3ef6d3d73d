import type { Batch, PrivateVaultDoc, Product, SharedOffer, SharedVaultDoc } from '../vault/vaultDocuments';
import type { CatalogRow } from './catalogCsv';
import { InputError } from '../inputError';

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

const MAX_MINOR_UNITS = 1e12;
const MAX_QUANTITY = 1e9;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function text(field: string, value: unknown, { min, max }: { min: number; max: number }): string {
  if (typeof value !== 'string') throw new InputError(field, `${field} must be text`);
  const trimmed = value.trim();
  if (trimmed.length < min) throw new InputError(field, `${field} is required`);
  if (trimmed.length > max) throw new InputError(field, `${field} is longer than ${max} characters`);
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
    name: text('Name', input.name, { min: 1, max: 120 }),
    sku: text('SKU', input.sku ?? '', { min: 0, max: 64 }),
    unit: text('Unit', input.unit || 'each', { min: 1, max: 16 }),
    price: minorUnits('Price', input.price),
    stock: quantity('Stock', input.stock),
    costPrice: input.costPrice == null ? null : minorUnits('Cost price', input.costPrice),
    supplierNotes: text('Supplier notes', input.supplierNotes ?? '', { min: 0, max: 2000 }),
    shelf: text('Shelf', input.shelf ?? '', { min: 0, max: 120 }),
    batches: batches(input.batches, makeId),
  };
}

/** A shop's public profile as the merchant typed it, trimmed and checked. */
export function validateShopProfile(input: { name: string; area: string; currency?: string }): { name: string; area: string; currency: string } {
  const name = text('Shop name', input.name, { min: 1, max: 80 });
  const area = text('Area', input.area, { min: 1, max: 80 });
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

/** Brings the shared offer for `productId` in line with the private catalog (inside an Automerge change). */
export function syncOffer(shared: SharedVaultDoc, priv: PrivateVaultDoc, productId: string, now: number): void {
  const product = priv.products[productId];
  const offer = product ? offerFor(product, shared.profile.area, now) : null;
  if (!offer) {
    if (shared.offers[productId]) delete shared.offers[productId];
    return;
  }
  const current = shared.offers[productId];
  if (!current) {
    shared.offers[productId] = offer;
    return;
  }
  let changed = false;
  for (const key of ['name', 'sku', 'unit', 'quantity', 'price', 'expiresOn', 'area'] as const) {
    if (current[key] === offer[key]) continue;
    (current as unknown as Record<string, unknown>)[key] = offer[key];
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
