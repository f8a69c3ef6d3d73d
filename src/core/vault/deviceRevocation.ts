import { BinaryReader, BinaryWriter } from '../wire/binary';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, sign, verify, type KeyPair } from '../crypto/ed25519';
import { bytesEqual } from '../wire/hex';

/**
 * A shop's root key withdraws a device. What the device signed up to and including
 * `lastCounter` stands; any statement of it with a higher counter is refused everywhere.
 *
 * Signed statement (bytes):
 *   "souk/device-revocation/v1" 0x00 | vaultId (32) | devicePublicKey (32) | revokedAt ms u64 BE | lastCounter u64 BE
 * Encoded: vaultId (32) | devicePublicKey (32) | revokedAt u64 | lastCounter u64 | signature (64) = 144 bytes.
 */
export interface DeviceRevocation {
  vaultId: Uint8Array;
  devicePublicKey: Uint8Array;
  revokedAt: number;
  lastCounter: number;
  signature: Uint8Array;
}

const TAG = new TextEncoder().encode('souk/device-revocation/v1\0');
export const DEVICE_REVOCATION_BYTES = PUBLIC_KEY_BYTES * 2 + 16 + SIGNATURE_BYTES;

export function deviceRevocationStatement(vaultId: Uint8Array, devicePublicKey: Uint8Array, revokedAt: number, lastCounter: number): Uint8Array {
  return new BinaryWriter(TAG.length + 80)
    .fixed(TAG, TAG.length)
    .fixed(vaultId, PUBLIC_KEY_BYTES)
    .fixed(devicePublicKey, PUBLIC_KEY_BYTES)
    .u64(revokedAt)
    .u64(lastCounter)
    .finish();
}

export function revokeDevice(root: KeyPair, devicePublicKey: Uint8Array, revokedAt: number, lastCounter: number): DeviceRevocation {
  const statement = deviceRevocationStatement(root.publicKey, devicePublicKey, revokedAt, lastCounter);
  return { vaultId: root.publicKey, devicePublicKey, revokedAt, lastCounter, signature: sign(statement, root.secretKey) };
}

/** Undefined when the revocation is genuine for `vaultId`, else why not. */
export function checkDeviceRevocation(revocation: DeviceRevocation, vaultId: Uint8Array): string | undefined {
  if (!bytesEqual(revocation.vaultId, vaultId)) return 'revocation is for another vault';
  const statement = deviceRevocationStatement(revocation.vaultId, revocation.devicePublicKey, revocation.revokedAt, revocation.lastCounter);
  if (!verify(revocation.signature, statement, revocation.vaultId)) return 'revocation is not signed by the vault root key';
  return undefined;
}

export function encodeDeviceRevocation(revocation: DeviceRevocation): Uint8Array {
  return new BinaryWriter(DEVICE_REVOCATION_BYTES)
    .fixed(revocation.vaultId, PUBLIC_KEY_BYTES)
    .fixed(revocation.devicePublicKey, PUBLIC_KEY_BYTES)
    .u64(revocation.revokedAt)
    .u64(revocation.lastCounter)
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
    signature: reader.fixed(SIGNATURE_BYTES, 'revocation signature'),
  };
  reader.end('device revocation');
  return revocation;
}
