import * as A from '@automerge/automerge';
import { generateKeyPair } from '../crypto/ed25519';
import { packOffers } from '../catalog/sharedOffers';
import { acceptBundle } from '../vault/acceptBundle';
import { VAULT_LIMITS } from '../vault/automergeCost';
import { certifyDevice, encodeDeviceCertificate } from '../vault/deviceCertificate';
import { signHeads } from '../vault/signedHeads';
import type { SharedVaultDoc } from '../vault/vaultDocuments';
import { toHex } from '../wire/hex';

/**
 * Runs the whole acceptance of a small made-up vault once, right after a node opens and before
 * any peer sends one: the code paths a first catch-up takes (Automerge's wasm, the cost
 * measure, the content checks) are compiled while the node is idle, not while the merchant
 * waits for a shop to appear. Nothing is kept. Once per process (compiled code is per process).
 */
let warmed = false;

export function warmUpAcceptance(): void {
  // Compiled code is per process (per worker): once is enough.
  if (warmed) return;
  warmed = true;
  const root = generateKeyPair();
  const device = generateKeyPair();
  const certificate = certifyDevice(root, device.publicKey, 1);
  const offers = Array.from({ length: 1000 }, (_, i) => ({
    productId: `w${i}`,
    name: `Warm-up product ${i}`,
    sku: `W-${i}`,
    unit: 'each',
    quantity: i,
    price: 100 + i,
    expiresOn: i % 2 ? '2030-01-01' : null,
  }));
  const doc = A.from<SharedVaultDoc>({
    schema: 2,
    profile: { name: new A.ImmutableString('Warm-up'), area: new A.ImmutableString('Nowhere'), currency: new A.ImmutableString('USD') },
    devices: { [toHex(device.publicKey)]: { name: new A.ImmutableString('Device'), certificate: encodeDeviceCertificate(certificate) } },
    revocations: {},
    offerSets: { w: packOffers(offers) },
    offerFields: { 'w1/p': 5 },
  });
  const statement = signHeads(device, certificate, 1, A.getHeads(doc));
  const saved = A.save(doc);
  for (let round = 0; round < 2; round++) acceptBundle(undefined, { statements: [statement], snapshot: true, changes: [saved] }, { limits: VAULT_LIMITS });
}
