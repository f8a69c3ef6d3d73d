import * as A from '@automerge/automerge';
import type { ShopKeys } from '../vault/shopKeys';
import type { PrivateVaultDoc, Product, SharedVaultDoc } from '../vault/vaultDocuments';
import { encodeDeviceCertificate } from '../vault/deviceCertificate';
import { packProducts } from '../catalog/productRecords';
import { offerFor, packOffers } from '../catalog/sharedOffers';
import { toHex } from '../wire/hex';
import { MAX_MINOR_UNITS, MAX_QUANTITY, TEXT_LIMITS } from '../vault/vaultLimits';
import { isCurrencyCode } from '../catalog/currency';
import { clipText } from '../sync/syncMessages';

/** A shop as version 0.1 stored it (schema 1): one record per product, one per offer. */
interface SchemaOneShared {
  schema: 1;
  profile?: { name?: unknown; area?: unknown; currency?: unknown };
}
interface SchemaOnePrivate {
  schema: 1;
  exactLocation: unknown;
  products: Record<string, Product>;
}

function plain(value: unknown): string {
  return A.isImmutableString(value) ? (value as A.ImmutableString).val : typeof value === 'string' ? value : '';
}

/** Trimmed text cut to `maxBytes` of UTF-8 without splitting a character. */
function clip(value: unknown, maxBytes: number): string {
  return clipText(typeof value === 'string' ? value.trim() : '', maxBytes);
}

function wholeAmount(value: unknown): number {
  const n = typeof value === 'number' && Number.isFinite(value) ? Math.round(value) : 0;
  return Math.min(Math.max(n, 0), MAX_MINOR_UNITS);
}

function someQuantity(value: unknown): number {
  const n = typeof value === 'number' && Number.isFinite(value) ? value : 0;
  return Math.round(Math.min(Math.max(n, 0), MAX_QUANTITY) * 1000) / 1000;
}

/**
 * One product as 0.1 stored it, made valid for the current checks: text cut to its limit, amounts
 * made whole and in range, malformed batches and offers left out. A row without an id is dropped.
 * The migration never refuses a whole shop for one odd row.
 */
function sanitizeProduct(row: Record<string, unknown>, key: string): Product | null {
  const valid = (candidate: unknown) => typeof candidate === 'string' && /^[0-9a-z_-]{1,64}$/i.test(candidate);
  // An id the current checks refuse becomes one they take, made from the old one: the row is kept.
  const id = valid(row.id) ? (row.id as string) : valid(key) ? key : `m${[...String(row.id ?? key)].map((c) => c.charCodeAt(0).toString(36)).join('').slice(0, 60)}`;
  const batches = Array.isArray(row.batches)
    ? row.batches
        .filter((b): b is Record<string, unknown> => typeof b === 'object' && b !== null)
        .slice(0, 500)
        .map((b, i) => ({
          id: typeof b.id === 'string' && b.id.length <= 64 ? b.id : `${id}-${i}`,
          quantity: someQuantity(b.quantity),
          expiresOn: typeof b.expiresOn === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(b.expiresOn) ? b.expiresOn : '',
        }))
    : [];
  const offer = row.offer && typeof row.offer === 'object' ? (row.offer as Record<string, unknown>) : null;
  const stamp = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0);
  return {
    id,
    name: clip(row.name, TEXT_LIMITS.productName) || 'Unnamed product',
    sku: clip(row.sku, TEXT_LIMITS.sku),
    unit: clip(row.unit, TEXT_LIMITS.unit) || 'each',
    price: wholeAmount(row.price),
    stock: someQuantity(row.stock),
    costPrice: row.costPrice === null || row.costPrice === undefined ? null : wholeAmount(row.costPrice),
    supplierNotes: clip(row.supplierNotes, TEXT_LIMITS.supplierNotes),
    shelf: clip(row.shelf, TEXT_LIMITS.shelf),
    batches,
    offer: offer ? { quantity: someQuantity(offer.quantity), price: wholeAmount(offer.price) } : null,
    createdAt: stamp(row.createdAt),
    updatedAt: stamp(row.updatedAt),
  };
}

/**
 * Rewrites a schema-1 shop as schema-2 documents: the whole catalog as one packed set, the
 * offers derived from it as one packed set, this device listed with its certificate. New
 * documents, not a continuation of the old history (peers drop schema-1 copies and fetch anew).
 */
export function migrateShopDocuments(
  keys: ShopKeys,
  shared: SchemaOneShared,
  priv: SchemaOnePrivate,
): { doc: A.Doc<SharedVaultDoc>; privateDoc: A.Doc<PrivateVaultDoc> } {
  const actor = toHex(keys.device.publicKey).slice(0, 32);
  const products: Product[] = Object.entries(priv.products ?? {})
    .filter((entry): entry is [string, Product] => typeof entry[1] === 'object' && entry[1] !== null)
    .map(([key, p]) =>
      sanitizeProduct(
        JSON.parse(JSON.stringify(p, (_k, v) => (A.isImmutableString(v) ? (v as A.ImmutableString).val : typeof v === 'bigint' ? Number(v) : v))) as Record<string, unknown>,
        key,
      ),
    )
    .filter((p): p is Product => p !== null);
  const offers = products.map((p) => offerFor(p)).filter((o) => o !== null);
  const doc = A.from<SharedVaultDoc>(
    {
      schema: 2,
      profile: {
        name: new A.ImmutableString(clip(plain(shared.profile?.name), TEXT_LIMITS.shopName) || 'My shop'),
        area: new A.ImmutableString(clip(plain(shared.profile?.area), TEXT_LIMITS.area) || 'Unknown area'),
        currency: new A.ImmutableString(isCurrencyCode(plain(shared.profile?.currency)) ? plain(shared.profile?.currency) : 'USD'),
      },
      devices: { [toHex(keys.device.publicKey)]: { name: new A.ImmutableString('First device'), certificate: encodeDeviceCertificate(keys.certificate) } },
      revocations: {},
      offerSets: offers.length ? { m1: packOffers(offers) } : {},
      offerFields: {},
    },
    { actor },
  );
  const privateDoc = A.from<PrivateVaultDoc>(
    {
      schema: 2,
      exactLocation: new A.ImmutableString(clip(plain(priv.exactLocation), TEXT_LIMITS.exactLocation)),
      productSets: products.length ? { m1: packProducts(products) } : {},
      productFields: {},
      stockMoves: {},
    },
    { actor },
  );
  return { doc, privateDoc };
}
