import type { Point } from '@noble/ed25519';
import { toHex } from '../wire/hex';
import { decodeAcceptablePublicKey, hasCanonicalScalar, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, verifyWithKey } from './ed25519';
import { ED25519_VECTORS } from './ed25519Vectors';

/**
 * Asynchronous Ed25519 verification: the platform's WebCrypto (native code: Node ≥ 20, Chromium ≥ 137,
 * Firefox, Safari) where it has Ed25519 and passes a self-test, @noble/ed25519 otherwise. Both give
 * exactly the answers of the synchronous `verify` in ed25519.ts (Souk's rule), on every input:
 *
 * Refused up front, before WebCrypto sees anything (WebCrypto itself would accept the first two):
 * - a key that is not acceptable (isAcceptablePublicKey: small order, or a non-canonical encoding);
 *   checked once per key and cached;
 * - a signature that is not 64 bytes, or whose S ≥ L (malleable);
 * - a non-canonical R (y ≥ p, or x = 0 with the sign bit set). The native verifiers compare R byte
 *   for byte with a canonical encoding and so refuse these anyway; the check keeps that independent
 *   of the platform.
 * Then the equation [S]B = R + [k]A is checked without the cofactor, as native WebCrypto does; the
 * noble path computes the same equation (verifyWithKey), not noble's cofactored one, which accepts
 * signatures with a small-order component in R or A that native verifiers refuse (Taming vectors
 * 4 and 5, and a mixed-order R under an honest key: see ed25519Vectors.ts).
 *
 * Never throws on malformed input: the answer is false. If WebCrypto fails unexpectedly on a
 * well-formed input, that one answer comes from noble.
 */
export type SignatureVerifierKind = 'webcrypto' | 'noble';

export interface SignedItem {
  signature: Uint8Array;
  message: Uint8Array;
  publicKey: Uint8Array;
}

export interface SignatureVerifier {
  readonly kind: SignatureVerifierKind;
  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean>;
  /** One answer per item, in order. */
  verifyMany(items: readonly SignedItem[]): Promise<boolean[]>;
}

export interface SignatureVerifierOptions {
  /** 'auto' (default): WebCrypto if usable, else noble. 'noble': always noble. 'webcrypto': rejects if unusable. */
  backend?: 'auto' | SignatureVerifierKind;
  /** The SubtleCrypto to use; `globalThis.crypto.subtle` by default. */
  subtle?: SubtleCrypto;
  /** Public keys whose decoding (and imported CryptoKey) is kept, least recently used dropped first. */
  keyCacheSize?: number;
  /** WebCrypto verifications in flight at once in verifyMany. */
  concurrency?: number;
}

const DEFAULT_KEY_CACHE = 1024;
const DEFAULT_CONCURRENCY = 32;
const ED25519 = { name: 'Ed25519' } as const;

/** Whether S < L and R is a canonical encoding (y < p, no negative zero): byte tests only. */
export function isCanonicalSignature(signature: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES || !hasCanonicalScalar(signature)) return false;
  return isCanonicalEncoding(signature.subarray(0, 32));
}

/**
 * y < p = 2^255 − 19 once the sign bit is cleared, and not x = 0 with the sign bit set. x = 0 only for
 * y = 1 and y = p − 1, so the negative zeros are exactly two encodings. Says nothing of whether
 * the point is on the curve.
 */
function isCanonicalEncoding(bytes: Uint8Array): boolean {
  const top = bytes[31]! & 0x7f;
  const sign = bytes[31]! & 0x80;
  let allOnes = top === 0x7f;
  for (let i = 1; i < 31 && allOnes; i++) allOnes = bytes[i] === 0xff;
  // y ≥ p: bytes 1..30 are 0xff, the top byte 0x7f and the low byte ≥ 0xed.
  if (allOnes && bytes[0]! >= 0xed) return false;
  if (sign) {
    if (allOnes && bytes[0] === 0xec) return false; // y = p − 1
    let one = bytes[0] === 1 && top === 0;
    for (let i = 1; i < 31 && one; i++) one = bytes[i] === 0;
    if (one) return false; // y = 1
  }
  return true;
}

/** A view whose buffer is an ArrayBuffer, as WebCrypto wants (a copy only for a SharedArrayBuffer). */
function plain(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
}

class Lru<V> {
  private readonly entries = new Map<string, V>();
  constructor(private readonly limit: number) {}
  get(key: string, make: () => V): V {
    const found = this.entries.get(key);
    if (found !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, found);
      return found;
    }
    const made = make();
    this.entries.set(key, made);
    if (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value!);
    return made;
  }
}

function wellFormed(signature: unknown, message: unknown, publicKey: unknown): boolean {
  return (
    signature instanceof Uint8Array &&
    signature.length === SIGNATURE_BYTES &&
    message instanceof Uint8Array &&
    publicKey instanceof Uint8Array &&
    publicKey.length === PUBLIC_KEY_BYTES
  );
}

function fromHex(hex: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

const selfTests = new WeakMap<SubtleCrypto, Promise<boolean>>();

/**
 * Whether `subtle` verifies Ed25519 and answers as Souk's rule needs: RFC 8032 vectors accepted and
 * refused, and the cofactorless equation (Taming 3 accepted, Taming 4 and a mixed-order R under an
 * honest key refused). Run once per SubtleCrypto; never rejects.
 */
export function webCryptoEd25519Usable(subtle: SubtleCrypto | undefined = globalThis.crypto?.subtle): Promise<boolean> {
  if (!subtle) return Promise.resolve(false);
  let result = selfTests.get(subtle);
  if (!result) {
    result = (async () => {
      try {
        const names = ['RFC 8032 test 1', 'RFC 8032 test 3', 'Taming 3', 'Taming 4', 'Souk: mixed-order R under a prime-order key', 'Souk: RFC 8032 test 1 on another message'];
        for (const name of names) {
          const vector = ED25519_VECTORS.find((v) => v.name === name)!;
          const key = await subtle.importKey('raw', fromHex(vector.publicKey), ED25519, false, ['verify']);
          const answer = await subtle.verify(ED25519, key, fromHex(vector.signature), fromHex(vector.message));
          if (answer !== vector.native.openssl) return false;
        }
        return true;
      } catch {
        return false;
      }
    })();
    selfTests.set(subtle, result);
  }
  return result;
}

function nobleVerifier(keyCacheSize: number): SignatureVerifier {
  const points = new Lru<Point | null>(keyCacheSize);
  const verifyOne = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean => {
    try {
      if (!wellFormed(signature, message, publicKey)) return false;
      const point = points.get(toHex(publicKey), () => decodeAcceptablePublicKey(publicKey) ?? null);
      return point !== null && verifyWithKey(signature, message, publicKey, point);
    } catch {
      return false;
    }
  };
  return {
    kind: 'noble',
    verify: async (signature, message, publicKey) => verifyOne(signature, message, publicKey),
    verifyMany: async (items) => items.map((item) => verifyOne(item?.signature, item?.message, item?.publicKey)),
  };
}

interface KeyEntry {
  point: Point | null;
  /** Undefined when the key cannot be imported: noble answers for it. */
  cryptoKey: Promise<CryptoKey | undefined>;
}

function webCryptoVerifier(subtle: SubtleCrypto, keyCacheSize: number, concurrency: number): SignatureVerifier {
  const keys = new Lru<KeyEntry>(keyCacheSize);
  const entry = (publicKey: Uint8Array): KeyEntry =>
    keys.get(toHex(publicKey), () => {
      const point = decodeAcceptablePublicKey(publicKey) ?? null;
      const cryptoKey =
        point === null
          ? Promise.resolve(undefined)
          : subtle.importKey('raw', new Uint8Array(publicKey), ED25519, false, ['verify']).then(
              (key) => key,
              () => undefined,
            );
      return { point, cryptoKey };
    });
  const verifyOne = async (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): Promise<boolean> => {
    try {
      if (!wellFormed(signature, message, publicKey) || !isCanonicalSignature(signature)) return false;
      const { point, cryptoKey } = entry(publicKey);
      if (point === null) return false;
      const key = await cryptoKey;
      if (key) {
        try {
          return await subtle.verify(ED25519, key, plain(signature), plain(message));
        } catch {
          // Unexpected on a well-formed input: answer with noble below.
        }
      }
      return verifyWithKey(signature, message, publicKey, point);
    } catch {
      return false;
    }
  };
  return {
    kind: 'webcrypto',
    verify: verifyOne,
    verifyMany: async (items) => {
      const answers = new Array<boolean>(items.length);
      let next = 0;
      const lane = async () => {
        while (next < items.length) {
          const i = next++;
          const item = items[i];
          answers[i] = await verifyOne(item?.signature as Uint8Array, item?.message as Uint8Array, item?.publicKey as Uint8Array);
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, lane));
      return answers;
    },
  };
}

/** See the top of this file. Detects WebCrypto Ed25519 once per SubtleCrypto (a self-test on known vectors). */
export async function createSignatureVerifier(options: SignatureVerifierOptions = {}): Promise<SignatureVerifier> {
  const backend = options.backend ?? 'auto';
  const keyCacheSize = Math.max(1, options.keyCacheSize ?? DEFAULT_KEY_CACHE);
  if (backend === 'noble') return nobleVerifier(keyCacheSize);
  const subtle = options.subtle ?? globalThis.crypto?.subtle;
  if (subtle && (await webCryptoEd25519Usable(subtle))) {
    return webCryptoVerifier(subtle, keyCacheSize, Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY));
  }
  if (backend === 'webcrypto') throw new Error('WebCrypto Ed25519 is not available or failed its self-test');
  return nobleVerifier(keyCacheSize);
}
