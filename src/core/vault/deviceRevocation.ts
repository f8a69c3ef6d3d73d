import { sha256 } from '@noble/hashes/sha2.js';
import { BinaryReader, BinaryWriter } from '../wire/binary';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, sign, verify, type KeyPair } from '../crypto/ed25519';
import { bytesEqual, fromHex } from '../wire/hex';
import { sortHeads } from './signedHeads';

/**
 * A shop's root key withdraws a device. Exactly what the device signed up to and including
 * `lastCounter` stands — pinned by the digest of the heads it signed at that counter, so the
 * device cannot sign something else under that counter after the fact — and any statement of it
 * with a higher counter is refused everywhere. Revocations travel with every bundle of the
 * vault and are kept by every node that has seen them; they only ever grow.
 *
 * Signed statement (bytes):
 *   "souk/device-revocation/v2" 0x00 | vaultId (32) | devicePublicKey (32) | revokedAt ms u64 BE |
 *   lastCounter u64 BE | lastHeadsDigest (32)
 * lastHeadsDigest = SHA-256 of the heads of the device's statement at lastCounter, ascending, 32
 * bytes each, concatenated (all zero when lastCounter is 0).
 * Encoded: vaultId | devicePublicKey | revokedAt | lastCounter | lastHeadsDigest | signature (64) = 176 bytes.
 */
export interface DeviceRevocation {
  vaultId: Uint8Array;
  devicePublicKey: Uint8Array;
  revokedAt: number;
  lastCounter: number;
  lastHeadsDigest: Uint8Array;
  signature: Uint8Array;
}

const TAG = new TextEncoder().encode('souk/device-revocation/v2\0');
export const DEVICE_REVOCATION_BYTES = PUBLIC_KEY_BYTES * 2 + 16 + 32 + SIGNATURE_BYTES;

/** The pin of a statement's heads: SHA-256 over them, ascending (zeros for no statement). */
export function headsDigest(heads: readonly string[] | undefined): Uint8Array {
  if (!heads) return new Uint8Array(32);
  const sorted = sortHeads(heads);
  const bytes = new Uint8Array(sorted.length * 32);
  sorted.forEach((head, i) => bytes.set(fromHex(head), i * 32));
  return sha256(bytes);
}

export function deviceRevocationStatement(
  vaultId: Uint8Array,
  devicePublicKey: Uint8Array,
  revokedAt: number,
  lastCounter: number,
  lastHeadsDigest: Uint8Array,
): Uint8Array {
  return new BinaryWriter(TAG.length + 112)
    .fixed(TAG, TAG.length)
    .fixed(vaultId, PUBLIC_KEY_BYTES)
    .fixed(devicePublicKey, PUBLIC_KEY_BYTES)
    .u64(revokedAt)
    .u64(lastCounter)
    .fixed(lastHeadsDigest, 32)
    .finish();
}

/** Revokes a device whose last statement held is `last` (undefined when it never signed). */
export function revokeDevice(root: KeyPair, devicePublicKey: Uint8Array, revokedAt: number, last: { counter: number; heads: readonly string[] } | undefined): DeviceRevocation {
  const lastCounter = last?.counter ?? 0;
  const lastHeadsDigest = headsDigest(last?.heads);
  const statement = deviceRevocationStatement(root.publicKey, devicePublicKey, revokedAt, lastCounter, lastHeadsDigest);
  return { vaultId: root.publicKey, devicePublicKey, revokedAt, lastCounter, lastHeadsDigest, signature: sign(statement, root.secretKey) };
}

/**
 * Whether a statement of a revoked device stands: counters above the last are refused, and the
 * statement at the last counter must be exactly the one pinned.
 */
export function revokedStatementStands(revocation: { lastCounter: number; lastHeadsDigest: Uint8Array }, counter: number, heads: readonly string[]): boolean {
  if (counter > revocation.lastCounter) return false;
  if (counter === revocation.lastCounter) return bytesEqual(headsDigest(heads), revocation.lastHeadsDigest);
  return true;
}

/** Undefined when the revocation is genuine for `vaultId`, else why not. */
export function checkDeviceRevocation(revocation: DeviceRevocation, vaultId: Uint8Array): string | undefined {
  if (!bytesEqual(revocation.vaultId, vaultId)) return 'revocation is for another vault';
  const statement = deviceRevocationStatement(revocation.vaultId, revocation.devicePublicKey, revocation.revokedAt, revocation.lastCounter, revocation.lastHeadsDigest);
  if (!verify(revocation.signature, statement, revocation.vaultId)) return 'revocation is not signed by the vault root key';
  return undefined;
}

export function encodeDeviceRevocation(revocation: DeviceRevocation): Uint8Array {
  return new BinaryWriter(DEVICE_REVOCATION_BYTES)
    .fixed(revocation.vaultId, PUBLIC_KEY_BYTES)
    .fixed(revocation.devicePublicKey, PUBLIC_KEY_BYTES)
    .u64(revocation.revokedAt)
    .u64(revocation.lastCounter)
    .fixed(revocation.lastHeadsDigest, 32)
    .fixed(revocation.signature, SIGNATURE_BYTES)
    .finish();
}

export function decodeDeviceRevocation(bytes: Uint8Array): DeviceRevocation {
  const reader = new BinaryReader(bytes);
  const revocation = {
    vaultId: reader.fixed(PUBLIC_KEY_BYTES, 'revocation vault id'),
    devicePublicKey: reader.fixed(PUBLIC_KEY_BYTES, 'revoked device key'),
    revokedAt: reader.u64('revokedAt'),
    lastCounter: reader.u64('lastCounter'),
    lastHeadsDigest: reader.fixed(32, 'last heads digest'),
    signature: reader.fixed(SIGNATURE_BYTES, 'revocation signature'),
  };
  reader.end('device revocation');
  return revocation;
}
