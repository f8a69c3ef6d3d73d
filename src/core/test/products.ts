import type { Product } from '../vault/vaultDocuments';

/** A catalog product for tests: plain defaults under the fields given. */
export function testProduct(fields: Partial<Product> & { id: string }): Product {
  return {
    name: `Product ${fields.id}`,
    sku: '',
    unit: 'each',
    price: 100,
    stock: 0,
    costPrice: null,
    supplierNotes: '',
    shelf: '',
    batches: [],
    offer: null,
    createdAt: 1,
    updatedAt: 1,
    ...fields,
  };
}
