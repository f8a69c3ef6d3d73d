import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';

ed.hashes.sha512 = sha512;

export interface KeyPair {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

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

/**
 * Whether `publicKey` may stand for a vault, a device or a node: 32 bytes, the canonical encoding
 * of a point on the curve (y < p, no negative zero) and not of small order. A small-order key
 * lets anyone produce signatures that verify, so it can never be an identity.
 */
export function isAcceptablePublicKey(publicKey: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== PUBLIC_KEY_BYTES) return false;
  try {
    const point = ed.Point.fromBytes(publicKey, false);
    if (point.isSmallOrder()) return false;
    const canonical = point.toBytes();
    return canonical.every((byte, i) => byte === publicKey[i]);
  } catch {
    return false;
  }
}

/**
 * False for a bad signature, for malformed, non-canonical or small-order keys and for
 * non-canonical signatures (RFC 8032 strict: S < L, canonical R); never throws.
 */
export function verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    if (signature.length !== SIGNATURE_BYTES || !isAcceptablePublicKey(publicKey)) return false;
    return ed.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}
