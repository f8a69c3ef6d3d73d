import type * as A from '@automerge/automerge';

/**
 * A vault is two Automerge documents kept side by side (schema 2; docs/vault-format.md):
 * - the shared document, signed by the shop's devices and replicated to every peer: profile,
 *   device list, revocations, offers;
 * - the private document, which travels only between the shop's own devices, end-to-end
 *   encrypted: the catalog with stock, batches, cost prices, supplier notes and shelf positions.
 *
 * Both keep rows the way they are written most: a bulk write (an import) is one packed set (one
 * bytes value holding many rows), and every later edit is one key per field on top
 * ("productId/field"), so an import costs one operation instead of one per field, and two
 * devices editing different fields of one product still merge field by field. Stock is counted:
 * each device keeps its own running sum of moves per product, so sales on two devices add up.
 */
export type SharedVaultDoc = {
  schema: 2;
  profile: { name: A.ImmutableString; area: A.ImmutableString; currency: A.ImmutableString; role?: A.ImmutableString };
  /** Device public key (hex) → its name and when the root key certified it (the certificate itself, bytes). */
  devices: Record<string, { name: A.ImmutableString; certificate: Uint8Array }>;
  /** Device public key (hex) → the root key's signed revocation (bytes, deviceRevocation.ts). */
  revocations: Record<string, Uint8Array>;
  /** Set id → packed offers (sharedOffers.ts). */
  offerSets: Record<string, Uint8Array>;
  /** "productId/field" → value, on top of the sets (field letters in sharedOffers.ts). */
  offerFields: Record<string, OfferFieldValue>;
  /** Package root (hex) → a shared file's record (attachmentRecord.ts); absent until the first file. */
  files?: Record<string, Uint8Array>;
  /** Event id (16 hex digits) → a signed trade event (src/core/trade/tradeEvent.ts); absent until the first. */
  trade?: Record<string, Uint8Array>;
};

export type OfferFieldValue = number | A.ImmutableString | null;

export type PrivateVaultDoc = {
  schema: 2;
  /** Exact address or stall; never shared. */
  exactLocation: A.ImmutableString;
  /** Set id → packed products (productRecords.ts). */
  productSets: Record<string, Uint8Array>;
  /** "productId/field" → value, on top of the sets. */
  productFields: Record<string, number | boolean | A.ImmutableString | null>;
  /** "productId/deviceKeyPrefix" → that device's running sum of stock moves for the product. */
  stockMoves: Record<string, number>;
  /** Package root (hex) → the record of a file attached to a product, shared or not (attachmentRecord.ts). */
  files?: Record<string, Uint8Array>;
  /**
   * Move id (16 hex digits) → one named stock move (sale, received, correction, waste,
   * reservation, undo) as versioned JSON bytes (src/core/catalog/stockMoves.ts); never rewritten,
   * so the history merges across the shop's devices. Absent until the first move.
   */
  moves?: Record<string, Uint8Array>;
};

export interface ShopProfile {
  name: string;
  /** Coarse location a buyer may see: a town, district or market name. */
  area: string;
  /** ISO 4217 code prices are in. */
  currency: string;
  /** What the participant does; absent means a shop. */
  role?: 'supplier' | 'driver';
}

export interface SharedOffer {
  productId: string;
  name: string;
  sku: string;
  unit: string;
  quantity: number;
  /** Price per unit in minor units of the shop's currency. */
  price: number;
  /** Earliest batch expiry, rounded to the day (YYYY-MM-DD), if any batch has one. */
  expiresOn: string | null;
  /** The shop's area (its profile's). */
  area: string;
}

export interface Batch {
  id: string;
  /** The quantity received; what is left is derived from the moves history (catalog/fefo.ts batchStock). */
  quantity: number;
  /** YYYY-MM-DD or empty. */
  expiresOn: string;
  /** Private: who supplied it (never shared). */
  supplier?: string;
  /** YYYY-MM-DD the batch came in. */
  receivedOn?: string;
  /** The supplier's invoice: its BLAKE3 hash, or the root of the invoice file attached to the product (64 hex). */
  invoice?: string;
  /** The invoice is a file attached to the product (not shared) whose root `invoice` is. */
  invoiceFile?: boolean;
  /** The id of the shared `batch.receipt.attested` event (16 hex) that attests the receipt. */
  receipt?: string;
}

export interface Product {
  id: string;
  name: string;
  sku: string;
  unit: string;
  /** Selling price per unit in minor units. */
  price: number;
  stock: number;
  /** Private: what the shop paid, minor units. */
  costPrice: number | null;
  /** Private. */
  supplierNotes: string;
  /** Private: exact shelf or bin. */
  shelf: string;
  batches: Batch[];
  /** Present when the product is offered to the network. */
  offer: { quantity: number; price: number } | null;
  createdAt: number;
  updatedAt: number;
}
