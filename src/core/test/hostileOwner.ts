import * as A from '@automerge/automerge';
import { OFFER_LETTERS } from '../catalog/sharedOffers';
import { encodeDeviceCertificate } from '../vault/deviceCertificate';
import { createShopKeys, type ShopKeys } from '../vault/shopKeys';
import { signHeads, type SignedHeads } from '../vault/signedHeads';
import { toHex } from '../wire/hex';

const LETTER_OF: Record<string, string> = Object.fromEntries(Object.entries(OFFER_LETTERS).map(([letter, field]) => [field, letter]));

/** Offer records as schema-2 field keys ("productId/letter"); a field without a letter keeps its name (and is refused). */
export function offerFields(offers: Record<string, Record<string, unknown>>): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [id, offer] of Object.entries(offers)) {
    for (const [field, value] of Object.entries(offer)) fields[`${id}/${LETTER_OF[field] ?? field}`] = value;
  }
  return fields;
}

/**
 * The owner of a vault who signs whatever it likes: valid signatures over documents of any
 * shape or size. Tests use it to play a hostile shop (or many minted shops).
 */
export class HostileOwner {
  readonly keys: ShopKeys;
  doc: A.Doc<Record<string, unknown>>;
  counter = 1;

  constructor(name: string, offers: Record<string, Record<string, unknown>> = {}, keys: ShopKeys = createShopKeys(Date.now())) {
    this.keys = keys;
    this.doc = A.from<Record<string, unknown>>({
      schema: 2,
      profile: { name: new A.ImmutableString(name), area: new A.ImmutableString('Market'), currency: new A.ImmutableString('USD') },
      devices: { [toHex(keys.device.publicKey)]: { name: new A.ImmutableString('Till'), certificate: encodeDeviceCertificate(keys.certificate) } },
      revocations: {},
      offerSets: {},
      offerFields: offerFields(offers),
    });
  }

  get id(): string {
    return toHex(this.keys.vaultId);
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
export function validOffer(_productId: string, name: string, price = 500): Record<string, unknown> {
  return { name, sku: '', unit: 'each', quantity: 5, price, expiresOn: null };
}
