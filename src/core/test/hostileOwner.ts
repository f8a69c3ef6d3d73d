import * as A from '@automerge/automerge';
import { createShopKeys, type ShopKeys } from '../vault/shopKeys';
import { signHeads, type SignedHeads } from '../vault/signedHeads';
import { toHex } from '../wire/hex';

/**
 * The owner of a vault who signs whatever it likes: valid signatures over documents of any
 * shape or size. Tests use it to play a hostile shop (or many minted shops).
 */
export class HostileOwner {
  readonly keys: ShopKeys;
  doc: A.Doc<Record<string, unknown>>;
  counter = 1;

  constructor(name: string, offers: Record<string, unknown> = {}, keys: ShopKeys = createShopKeys(Date.now())) {
    this.keys = keys;
    this.doc = A.from<Record<string, unknown>>({
      schema: 1,
      profile: { name, area: 'Market', currency: 'USD' },
      devices: { [toHex(keys.device.publicKey)]: { issuedAt: 1 } },
      offers,
    });
  }

  get id(): string {
    return toHex(this.keys.root.publicKey);
  }

  /** A new version, signed. */
  change(edit: (draft: Record<string, unknown>) => void): this {
    this.doc = A.change(this.doc, edit);
    this.counter += 1;
    return this;
  }

  statement(): SignedHeads {
    return signHeads(this.keys.device, this.keys.certificate, this.counter, A.getHeads(this.doc));
  }

  snapshot(): Uint8Array {
    return A.save(this.doc);
  }
}

/** A valid shared offer, as a Souk node writes it. */
export function validOffer(productId: string, name: string, price = 500): Record<string, unknown> {
  return { productId, name, sku: '', unit: 'each', quantity: 5, price, expiresOn: null, area: 'Market', updatedAt: 1 };
}
