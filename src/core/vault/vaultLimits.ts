/**
 * The limits of a valid vault, in bytes and counts. The same numbers bound what a merchant may
 * type (catalog.ts checks them where the merchant types, with a clear message) and what a peer's
 * vault may contain (vaultShape.ts refuses anything beyond them), so valid input can always
 * travel and nothing a peer sends can be bigger than what this app writes.
 */
export const TEXT_LIMITS = {
  shopName: 120,
  area: 120,
  productName: 240,
  sku: 64,
  unit: 32,
  supplierNotes: 4000,
  shelf: 120,
  exactLocation: 400,
} as const;

/** Offers one vault may carry. */
export const MAX_OFFERS_PER_VAULT = 20_000;
/** Devices one vault may certify. */
export const MAX_DEVICES_PER_VAULT = 64;
/** The largest canonical encoding of a vault this node keeps. */
export const MAX_VAULT_BYTES = 8 * 1024 * 1024;
export const MAX_MINOR_UNITS = 1e12;
export const MAX_QUANTITY = 1e9;

const encoder = new TextEncoder();

/** UTF-8 length in bytes: the unit every text limit is in. */
export function utf8Length(text: string): number {
  // Fast path: most text is short; encodeInto would need a buffer anyway.
  return encoder.encode(text).length;
}

/**
 * The private catalog's limits, checked when another device of the shop brings it (private sync,
 * a pairing grant, a backup): the same text limits a merchant types within, and a size past which
 * a device's catalog would no longer fit in a pairing grant or a backup file.
 */
export const PRIVATE_CATALOG_LIMITS = {
  textBytes: TEXT_LIMITS,
  maxMinorUnits: MAX_MINOR_UNITS,
  maxQuantity: MAX_QUANTITY,
  maxProducts: 100_000,
  /** Named stock moves (the history, catalog/stockMoves.ts). */
  maxMoves: 100_000,
  maxSavedBytes: 24 * 1024 * 1024,
} as const;
