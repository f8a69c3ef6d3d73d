import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';

ed.hashes.sha512 = sha512;

export interface KeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

/** L, the order of the prime-order subgroup of edwards25519 (RFC 8032 §5.1). */
export const ED25519_ORDER = (1n << 252n) + 27742317777372353535851937790883648493n;

export function generateKeyPair(): KeyPair {
  const { secretKey, publicKey } = ed.keygen();
  return { secretKey, publicKey };
}

export function keyPairFromSecret(secretKey: Uint8Array): KeyPair {
  return { secretKey, publicKey: ed.getPublicKey(secretKey) };
}

export function sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return ed.sign(message, secretKey);
}

/** The decoded point of an acceptable public key (see isAcceptablePublicKey), or undefined. */
export function decodeAcceptablePublicKey(publicKey: Uint8Array): ed.Point | undefined {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) return undefined;
  try {
    const point = ed.Point.fromBytes(publicKey, false);
    if (point.isSmallOrder()) return undefined;
    const canonical = point.toBytes();
    return canonical.every((byte, i) => byte === publicKey[i]) ? point : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `publicKey` may stand for a vault, a device or a node: 32 bytes, the canonical encoding
 * of a point on the curve (y < p, no negative zero) and not of small order. A small-order key
 * lets anyone produce signatures that verify, so it can never be an identity.
 */
export function isAcceptablePublicKey(publicKey: Uint8Array): boolean {
  return decodeAcceptablePublicKey(publicKey) !== undefined;
}

function numberLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

/** Whether the signature's second half, S, is a canonical scalar: S < L. A cheap byte-level test. */
export function hasCanonicalScalar(signature: Uint8Array): boolean {
  return signature.length === SIGNATURE_BYTES && numberLE(signature.subarray(32, 64)) < ED25519_ORDER;
}

/**
 * Souk's verification rule given a key already found acceptable (`point` is its decoding):
 * S < L, R the canonical encoding of a curve point, and the cofactorless equation [S]B = R + [k]A,
 * k = SHA-512(R ‖ A ‖ M) mod L. Cofactorless, as in OpenSSL, BoringSSL, CryptoKit and HACL* (the
 * WebCrypto of Node, Chromium, Safari, Firefox), so every platform gives the same answer: the
 * cofactored equation would also accept signatures whose R (or A) carries a small-order component,
 * which native verifiers refuse. Throws on malformed input; callers catch.
 */
export function verifyWithKey(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array, point: ed.Point): boolean {
  if (!hasCanonicalScalar(signature) || !(message instanceof Uint8Array)) return false;
  const rBytes = signature.subarray(0, 32);
  const R = ed.Point.fromBytes(rBytes, false); // strict: y < p, no negative zero, on the curve; throws otherwise
  const hashed = new Uint8Array(64 + message.length);
  hashed.set(rBytes, 0);
  hashed.set(publicKey, 32);
  hashed.set(message, 64);
  const k = numberLE(sha512(hashed)) % ED25519_ORDER;
  const s = numberLE(signature.subarray(32, 64));
  return ed.Point.BASE.multiply(s, false).equals(R.add(point.multiply(k, false)));
}

/**
 * False for a bad signature, for malformed, non-canonical or small-order keys, for non-canonical
 * signatures (S ≥ L, non-canonical R) and for signatures that only hold with the cofactor
 * (see verifyWithKey); never throws.
 */
export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_BYTES) return false;
    const point = decodeAcceptablePublicKey(publicKey);
    return point !== undefined && verifyWithKey(signature, message, publicKey, point);
  } catch {
    return false;
  }
}
