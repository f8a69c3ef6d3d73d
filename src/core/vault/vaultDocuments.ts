/**
 * A vault is two Automerge documents kept side by side:
 * - the shared document, signed and replicated to every peer: profile, device certificates, offers;
 * - the private document, which never leaves the device: the catalog with stock, batches, cost
 *   prices, supplier notes and shelf positions.
 * Offers in the shared document are derived from the catalog and coarsened (expiry to the day,
 * location as an area) by catalog/offers.ts.
 */
export type SharedVaultDoc = {
  schema: 1;
  profile: ShopProfile;
  /** Device public key (hex) → when the root key certified it. */
  devices: Record<string, { issuedAt: number }>;
  /** Keyed by product id. */
  offers: Record<string, SharedOffer>;
};

export interface ShopProfile {
  name: string;
  /** Coarse location a buyer may see: a town, district or market name. */
  area: string;
  /** ISO 4217 code prices are in. */
  currency: string;
}

export interface SharedOffer {
  productId: string;
  name: string;
  sku: string;
  unit: string;
  quantity: number;
  /** Price per unit in minor units (cents). */
  price: number;
  /** Earliest batch expiry, rounded to the day (YYYY-MM-DD), if any batch has one. */
  expiresOn: string | null;
  area: string;
  updatedAt: number;
}

export type PrivateVaultDoc = {
  schema: 1;
  /** Exact address or stall; never shared. */
  exactLocation: string;
  products: Record<string, Product>;
};

export interface Batch {
  id: string;
  quantity: number;
  /** YYYY-MM-DD or empty. */
  expiresOn: string;
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
