import * as A from '@automerge/automerge';
import type { ShopKeys } from '../vault/shopKeys';
import type { PrivateVaultDoc, Product, SharedVaultDoc } from '../vault/vaultDocuments';
import { encodeDeviceCertificate } from '../vault/deviceCertificate';
import { packProducts } from '../catalog/productRecords';
import { offerFor, packOffers } from '../catalog/sharedOffers';
import { toHex } from '../wire/hex';

/** A shop as version 0.1 stored it (schema 1): one record per product, one per offer. */
interface SchemaOneShared {
  schema: 1;
  profile: { name: unknown; area: unknown; currency: unknown };
}
interface SchemaOnePrivate {
  schema: 1;
  exactLocation: unknown;
  products: Record<string, Product>;
}

function plain(value: unknown): string {
  return A.isImmutableString(value) ? (value as A.ImmutableString).val : String(value ?? '');
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
  _now: number,
): { doc: A.Doc<SharedVaultDoc>; privateDoc: A.Doc<PrivateVaultDoc> } {
  const actor = toHex(keys.device.publicKey).slice(0, 32);
  const products: Product[] = Object.values(priv.products ?? {}).map((p) => {
    const row = JSON.parse(JSON.stringify(p, (_k, v) => (A.isImmutableString(v) ? (v as A.ImmutableString).val : v))) as Product;
    return {
      id: row.id,
      name: String(row.name ?? ''),
      sku: String(row.sku ?? ''),
      unit: String(row.unit ?? 'each'),
      price: Number(row.price ?? 0),
      stock: Number(row.stock ?? 0),
      costPrice: row.costPrice ?? null,
      supplierNotes: String(row.supplierNotes ?? ''),
      shelf: String(row.shelf ?? ''),
      batches: Array.isArray(row.batches) ? row.batches : [],
      offer: row.offer ?? null,
      createdAt: Number(row.createdAt ?? 0),
      updatedAt: Number(row.updatedAt ?? 0),
    };
  });
  const offers = products.map(offerFor).filter((o) => o !== null);
  const doc = A.from<SharedVaultDoc>(
    {
      schema: 2,
      profile: {
        name: new A.ImmutableString(plain(shared.profile.name)),
        area: new A.ImmutableString(plain(shared.profile.area)),
        currency: new A.ImmutableString(plain(shared.profile.currency)),
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
      exactLocation: new A.ImmutableString(plain(priv.exactLocation)),
      productSets: products.length ? { m1: packProducts(products) } : {},
      productFields: {},
      stockMoves: {},
    },
    { actor },
  );
  return { doc, privateDoc };
}
