import { generateKeyPair, sign } from '../src/core/crypto/ed25519';
import { createSignatureVerifier, type SignatureVerifier, type SignedItem } from '../src/core/crypto/signatureVerifier';

const COUNT = 2000;
const ROUNDS = 3;

/** Verifications per second over `items` (all valid), best of ROUNDS. */
async function rate(verifier: SignatureVerifier, items: readonly SignedItem[]): Promise<number> {
  let best = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const start = performance.now();
    const answers = await verifier.verifyMany(items);
    const seconds = (performance.now() - start) / 1000;
    if (!answers.every(Boolean)) throw new Error(`${verifier.kind} refused a valid signature`);
    best = Math.max(best, items.length / seconds);
  }
  return best;
}

/**
 * Ed25519 verification through the platform's WebCrypto (native) against @noble/ed25519, both behind
 * createSignatureVerifier and so under the same pre-checks. ratio = webcrypto / noble: higher is better.
 */
export async function verify(): Promise<void> {
  const keys = generateKeyPair();
  const items = Array.from({ length: COUNT }, (_, i) => {
    const message = new TextEncoder().encode(`souk bench message ${i} ${'x'.repeat(i % 200)}`);
    return { signature: sign(message, keys.secretKey), message, publicKey: keys.publicKey };
  });
  const webcrypto = await createSignatureVerifier({ backend: 'webcrypto' });
  const noble = await createSignatureVerifier({ backend: 'noble' });
  await webcrypto.verifyMany(items.slice(0, 200)); // warm-up (and the key's import)
  await noble.verifyMany(items.slice(0, 50));
  const measured = await rate(webcrypto, items);
  const reference = await rate(noble, items);
  console.log(`# verify: ${COUNT} valid signatures on distinct messages under one key, verifyMany, best of ${ROUNDS}; ref = @noble/ed25519 under the same rule; ratio = webcrypto/noble, higher is better`);
  console.log(`BENCH verify ${measured.toFixed(0)} verifies/s ref=${reference.toFixed(0)} verifies/s ratio=${(measured / reference).toFixed(2)}`);
}
