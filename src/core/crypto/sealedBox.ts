/**
 * AES-256-GCM through WebCrypto (Node 20 and every browser have it): a 12-byte random nonce,
 * then the ciphertext with its 16-byte tag. `context` is authenticated, not sent: a box sealed
 * for one purpose (one vault, one pair of devices) does not open for another.
 *
 * Layout: nonce (12) | ciphertext | tag (16).
 */
export const SEALED_OVERHEAD = 12 + 16;

const keys = new WeakMap<Uint8Array, Promise<CryptoKey>>();

function importKey(key: Uint8Array): Promise<CryptoKey> {
  let imported = keys.get(key);
  if (!imported) {
    if (key.length !== 32) throw new RangeError('an AES-256 key is 32 bytes');
    imported = crypto.subtle.importKey('raw', key as BufferSource, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
    keys.set(key, imported);
  }
  return imported;
}

export async function seal(key: Uint8Array, plaintext: Uint8Array, context: Uint8Array, randomBytes: (n: number) => Uint8Array): Promise<Uint8Array> {
  const nonce = randomBytes(12);
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: 'AES-GCM', iv: nonce as BufferSource, additionalData: context as BufferSource }, await importKey(key), plaintext as BufferSource),
  );
  const out = new Uint8Array(12 + sealed.length);
  out.set(nonce);
  out.set(sealed, 12);
  return out;
}

/** The plaintext, or undefined when the box was not sealed with this key and context (or was altered). */
export async function open(key: Uint8Array, box: Uint8Array, context: Uint8Array): Promise<Uint8Array | undefined> {
  if (box.length < SEALED_OVERHEAD) return undefined;
  try {
    return new Uint8Array(
      await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: box.subarray(0, 12) as BufferSource, additionalData: context as BufferSource },
        await importKey(key),
        box.subarray(12) as BufferSource,
      ),
    );
  } catch {
    return undefined;
  }
}
