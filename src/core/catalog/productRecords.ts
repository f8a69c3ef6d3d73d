import { readAttachments } from '../packages/attachmentRecord';
import { checkBatch, decodeMove, isMoveId } from './stockMoves';
import { roundQuantity } from './fefo';
import * as A from '@automerge/automerge';
import type { Batch, PrivateVaultDoc, Product } from '../vault/vaultDocuments';

/**
 * The private catalog as rows: packed sets (one bytes value of JSON rows each, written by an
 * import), per-field edits on top ("productId/field"), and stock counted per device
 * ("productId/device" → that device's running sum of moves). See vaultDocuments.ts.
 */
export const PRODUCT_FIELDS = [
  'name',
  'sku',
  'unit',
  'price',
  'stock',
  'costPrice',
  'supplierNotes',
  'shelf',
  'batches',
  'offer',
  'createdAt',
  'updatedAt',
  'deleted',
] as const;
export type ProductField = (typeof PRODUCT_FIELDS)[number];
const FIELD_SET = new Set<string>(PRODUCT_FIELDS);
/** Fields kept as JSON text (a list or a record) in one value. */
const JSON_FIELDS = new Set<string>(['batches', 'offer']);
const TEXT_FIELDS = new Set<string>(['name', 'sku', 'unit', 'supplierNotes', 'shelf']);

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function packProducts(products: readonly Product[]): Uint8Array {
  return encoder.encode(JSON.stringify(products));
}

function emptyProduct(id: string): Product {
  return { id, name: '', sku: '', unit: 'each', price: 0, stock: 0, costPrice: null, supplierNotes: '', shelf: '', batches: [], offer: null, createdAt: 0, updatedAt: 0 };
}

function plain(value: unknown): unknown {
  return A.isImmutableString(value) ? (value as A.ImmutableString).val : value;
}

function applyField(product: Product & { deleted?: boolean }, field: string, raw: unknown): void {
  const value = plain(raw);
  if (JSON_FIELDS.has(field)) {
    (product as unknown as Record<string, unknown>)[field] = typeof value === 'string' ? JSON.parse(value) : value;
  } else {
    (product as unknown as Record<string, unknown>)[field] = value;
  }
}

/** The moves every device made to each product's stock, summed per product. */
export function stockMovesByProduct(doc: PrivateVaultDoc): Map<string, number> {
  const sums = new Map<string, number>();
  for (const [key, value] of Object.entries(doc.stockMoves ?? {})) {
    const slash = key.indexOf('/');
    if (slash < 1 || typeof value !== 'number') continue;
    const id = key.slice(0, slash);
    sums.set(id, (sums.get(id) ?? 0) + value);
  }
  return sums;
}

/**
 * Every product of the private document, as the merchant sees it: the packed rows, every field
 * edit on top, deleted ones left out, stock = its base plus every device's moves.
 */
export function readProducts(doc: PrivateVaultDoc): Map<string, Product> {
  const products = new Map<string, Product & { deleted?: boolean }>();
  for (const setId of Object.keys(doc.productSets ?? {}).sort()) {
    const rows = JSON.parse(decoder.decode(doc.productSets[setId]!)) as Product[];
    for (const row of rows) products.set(row.id, { ...emptyProduct(row.id), ...row });
  }
  for (const [key, value] of Object.entries(doc.productFields ?? {})) {
    const slash = key.indexOf('/');
    const field = key.slice(slash + 1);
    if (slash < 1 || !FIELD_SET.has(field)) continue;
    const id = key.slice(0, slash);
    let product = products.get(id);
    if (!product) products.set(id, (product = emptyProduct(id)));
    applyField(product, field, value);
  }
  const moves = stockMovesByProduct(doc);
  const result = new Map<string, Product>();
  for (const [id, product] of products) {
    if (product.deleted) continue;
    delete product.deleted;
    product.stock = roundQuantity(product.stock + (moves.get(id) ?? 0));
    result.set(id, product);
  }
  return result;
}

export { roundQuantity };

function stored(field: string, value: unknown): number | boolean | A.ImmutableString | null {
  if (JSON_FIELDS.has(field)) return value === null ? null : new A.ImmutableString(JSON.stringify(value));
  if (TEXT_FIELDS.has(field)) return new A.ImmutableString(String(value));
  return value as number | boolean | null;
}

function sameValue(field: string, a: unknown, b: unknown): boolean {
  return JSON_FIELDS.has(field) ? JSON.stringify(a) === JSON.stringify(b) : a === b;
}

/**
 * Writes, inside an Automerge change, the fields of `next` that differ from `before` (all of them
 * for a new product). Stock is not a field here: it moves through `moveStock` or `recountStock`.
 */
export function writeProductFields(draft: PrivateVaultDoc, before: Product | undefined, next: Product): void {
  for (const field of PRODUCT_FIELDS) {
    if (field === 'deleted' || field === 'stock') continue;
    const value = next[field as keyof Product];
    if (before && sameValue(field, before[field as keyof Product], value)) continue;
    draft.productFields[`${next.id}/${field}`] = stored(field, value);
  }
  if (!before) {
    draft.productFields[`${next.id}/stock`] = next.stock;
    if (draft.productFields[`${next.id}/deleted`] !== undefined) draft.productFields[`${next.id}/deleted`] = false;
  }
}

export function deleteProduct(draft: PrivateVaultDoc, id: string): void {
  draft.productFields[`${id}/deleted`] = true;
}

/** Adds `delta` to this device's running sum of moves for a product: moves on several devices add up. */
export function moveStock(draft: PrivateVaultDoc, id: string, device: string, delta: number): void {
  const key = `${id}/${device}`;
  const current = draft.stockMoves[key] as unknown;
  const held = typeof current === 'number' ? current : typeof current === 'bigint' ? Number(current) : 0;
  draft.stockMoves[key] = roundQuantity(held + delta);
}

/**
 * A move made once whichever device writes it (a reservation's fulfilment): filed under a key
 * derived from what it settles (16 hex, like a device's) and set, not added, so the same move
 * written on two devices merges into one value and the stock moves once. Returns false (and
 * writes nothing) when it is already there.
 */
export function moveStockOnce(draft: PrivateVaultDoc, id: string, key16: string, delta: number): boolean {
  const key = `${id}/${key16}`;
  if (key in draft.stockMoves) return false;
  draft.stockMoves[key] = roundQuantity(delta);
  return true;
}

/**
 * A recount: the stock is `counted` now. Recorded as a new base (counted minus the moves known
 * now), so a sale another device makes concurrently still counts after the recount.
 */
export function recountStock(draft: PrivateVaultDoc, id: string, counted: number, movesKnown: number): void {
  draft.productFields[`${id}/stock`] = roundQuantity(counted - movesKnown);
}

export type { Batch };

export const MAX_BATCHES = 500;
/** A device's running sum of moves of one product stays within this (far beyond any shelf). */
export const MAX_MOVE_SUM = 1e12;
const PRIVATE_TOP_LEVEL = new Set(['schema', 'exactLocation', 'productSets', 'productFields', 'stockMoves', 'files', 'moves']);
/** Named stock moves one private catalog may hold (stockMoves.ts), unless the limits say otherwise. */
export const MAX_MOVES = 100_000;

function bad(id: string, what: string): never {
  throw new Error(`product ${id.slice(0, 16)}: ${what}`);
}

function textWithin(id: string, field: string, value: unknown, maxBytes: number, required = false): void {
  if (typeof value !== 'string') bad(id, `${field} is not text`);
  if (required && value.trim() === '') bad(id, `${field} is empty`);
  if (value.length > maxBytes || new TextEncoder().encode(value).length > maxBytes) bad(id, `${field} is over ${maxBytes} bytes`);
}

function amount(id: string, field: string, value: unknown, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) bad(id, `${field} is not a whole amount from 0 to ${max}`);
}

function finite(id: string, field: string, value: unknown, max: number, min = 0): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) bad(id, `${field} is not a number from ${min} to ${max}`);
}

/**
 * The private catalog, checked field by field: what this device keeps when another device of the
 * shop (a pairing grant, a backup, private sync) brings it. Throws saying which product and field
 * is wrong; the caller then keeps what it had.
 */
export function readCheckedProducts(doc: PrivateVaultDoc, limits: { textBytes: Record<'productName' | 'sku' | 'unit' | 'supplierNotes' | 'shelf' | 'exactLocation', number>; maxMinorUnits: number; maxQuantity: number; maxProducts: number; maxMoves?: number }): Map<string, Product> {
  const location = A.isImmutableString(doc.exactLocation) ? (doc.exactLocation as A.ImmutableString).val : doc.exactLocation;
  textWithin('shop', 'exact location', location, limits.textBytes.exactLocation);
  for (const key of Object.keys(doc)) if (!PRIVATE_TOP_LEVEL.has(key)) throw new Error(`the catalog has an unknown field "${key.slice(0, 32)}"`);
  for (const key of Object.keys(doc.productFields ?? {})) {
    const slash = key.indexOf('/');
    if (slash < 1 || !FIELD_SET.has(key.slice(slash + 1))) throw new Error(`the catalog has an unknown product field "${key.slice(0, 80)}"`);
  }
  for (const [key, value] of Object.entries(doc.stockMoves ?? {})) {
    if (!/^[0-9a-z_-]{1,64}\/[0-9a-f]{16}$/i.test(key)) throw new Error(`a stock move is filed under "${key.slice(0, 80)}"`);
    if (typeof value !== 'number' || !Number.isFinite(value) || Math.abs(value) > MAX_MOVE_SUM) throw new Error(`a stock move of ${key.slice(0, 80)} is not a number within ±${MAX_MOVE_SUM}`);
  }
  readAttachments(doc.files, false);
  const moves = doc.moves ?? {};
  if (typeof moves !== 'object' || moves === null || Array.isArray(moves)) throw new Error('the stock moves are not a map');
  const moveIds = Object.keys(moves);
  const maxMoves = limits.maxMoves ?? MAX_MOVES;
  if (moveIds.length > maxMoves) throw new Error(`the catalog has ${moveIds.length} stock moves, limit ${maxMoves}`);
  for (const moveId of moveIds) {
    if (!isMoveId(moveId)) throw new Error(`a stock move id is "${moveId.slice(0, 32)}"`);
    try {
      decodeMove(moves[moveId]);
    } catch (error) {
      throw new Error(`stock move ${moveId}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const products = readProducts(doc);
  if (products.size > limits.maxProducts) throw new Error(`the catalog has ${products.size} products, limit ${limits.maxProducts}`);
  for (const [id, p] of products) {
    if (!/^[0-9a-z_-]{1,64}$/i.test(id) || p.id !== id) bad(id, 'id is malformed');
    textWithin(id, 'name', p.name, limits.textBytes.productName, true);
    textWithin(id, 'SKU', p.sku, limits.textBytes.sku);
    textWithin(id, 'unit', p.unit, limits.textBytes.unit, true);
    textWithin(id, 'supplier notes', p.supplierNotes, limits.textBytes.supplierNotes);
    textWithin(id, 'shelf', p.shelf, limits.textBytes.shelf);
    amount(id, 'price', p.price, limits.maxMinorUnits);
    if (p.costPrice !== null) amount(id, 'cost price', p.costPrice, limits.maxMinorUnits);
    // Sales and deliveries on several devices while apart are counted, not refused: the merged
    // stock may pass what one device may set (below zero too), within a wide bound.
    finite(id, 'stock', p.stock, MAX_MOVE_SUM * 2, -MAX_MOVE_SUM * 2);
    finite(id, 'created', p.createdAt, Number.MAX_SAFE_INTEGER);
    finite(id, 'updated', p.updatedAt, Number.MAX_SAFE_INTEGER);
    if (!Array.isArray(p.batches) || p.batches.length > MAX_BATCHES) bad(id, `batches are not a list of at most ${MAX_BATCHES}`);
    for (const b of p.batches) {
      try {
        checkBatch(b, limits.maxQuantity);
      } catch (error) {
        bad(id, error instanceof Error ? error.message : String(error));
      }
    }
    if (p.offer !== null) {
      if (typeof p.offer !== 'object' || Array.isArray(p.offer)) bad(id, 'offer is malformed');
      finite(id, 'offered quantity', p.offer.quantity, limits.maxQuantity);
      amount(id, 'offer price', p.offer.price, limits.maxMinorUnits);
    }
  }
  return products;
}
