import type { Batch, Product } from '../vault/vaultDocuments';
import { currencyMinorUnits, isCurrencyCode } from './currency';
import type { CatalogRow } from './catalogCsv';
import { InputError } from '../inputError';
import { roundQuantity } from './fefo';
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

/** Quantities may be fractional (kilograms, litres) to three decimals; `aboveZero` for what moves or is reserved. */
export function quantity(field: string, value: unknown, { aboveZero = false } = {}): number {
  const rounded = typeof value === 'number' ? roundQuantity(value) : NaN;
  if (!Number.isFinite(rounded) || rounded < 0 || rounded > MAX_QUANTITY || (aboveZero && rounded <= 0)) {
    throw new InputError(field, `${field} must be a number ${aboveZero ? 'above 0' : 'from 0'} to ${MAX_QUANTITY}`);
  }
  return rounded;
}

/** Rounds a date or date-time to its day, YYYY-MM-DD (UTC); `field` names it in the merchant's message. */
export function roundToDay(value: string, field = 'expiresOn'): string {
  if (typeof value !== 'string') throw new InputError(field, `${field} is not a date`);
  if (DATE.test(value)) return value;
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw new InputError(field, `not a date: ${value.slice(0, 40)}`);
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
  if (!isCurrencyCode(currency)) throw new InputError('Currency', 'Currency must be an ISO 4217 code such as USD, EUR, JPY or KES');
  return { name, area, currency };
}

export function validateOffer(product: Product, offer: { quantity: number; price: number }): { quantity: number; price: number } {
  const offered = quantity('Offered quantity', offer.quantity);
  if (offered > product.stock) {
    throw new InputError('Offered quantity', `Offered quantity (${offered}) is more than stock (${product.stock})`);
  }
  return { quantity: offered, price: minorUnits('Offer price', offer.price) };
}

/** A whole product from an imported row, offer included; errors name the row's line in the file. */
export function productFromRow(row: CatalogRow, rowNumber: number, makeId: () => string, now: number): Product {
  try {
    const product: Product = { id: makeId(), ...validateProduct(row, makeId), offer: null, createdAt: now, updatedAt: now };
    if (row.offerQuantity !== undefined && row.offerQuantity > 0) {
      product.offer = validateOffer(product, { quantity: row.offerQuantity, price: row.offerPrice ?? product.price });
    }
    return product;
  } catch (error) {
    if (error instanceof InputError) throw new InputError(error.field, error.message.startsWith('Line ') ? error.message : `Line ${rowNumber}: ${error.message}`);
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

/**
 * An amount in minor units of one currency as the same figure in another's: 12.50 USD (1250)
 * becomes 12.500 KWD (12500) or 13 JPY (13). A shop that changes its currency keeps the figures
 * the merchant typed; it does not convert at an exchange rate.
 */
export function rescaleMinorUnits(amount: number, from: string, to: string): number {
  const shift = currencyMinorUnits(to) - currencyMinorUnits(from);
  return shift >= 0 ? amount * 10 ** shift : Math.round(amount / 10 ** -shift);
}
