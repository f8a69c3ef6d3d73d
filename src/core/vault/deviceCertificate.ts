import { BinaryReader, BinaryWriter } from '../wire/binary';
import { isAcceptablePublicKey, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, sign, verify, type KeyPair } from '../crypto/ed25519';
import { bytesEqual } from '../wire/hex';

/**
 * A shop's root key vouches for one device key. The root public key is the vault id.
 *
 * Signed statement (bytes):
 *   "souk/device-certificate/v1" 0x00 | vaultId (32) | devicePublicKey (32) | issuedAt ms u64 BE
 */
export interface DeviceCertificate {
  vaultId: Uint8Array;
  devicePublicKey: Uint8Array;
  issuedAt: number;
  signature: Uint8Array;
}

const TAG = new TextEncoder().encode('souk/device-certificate/v1\0');
export const DEVICE_CERTIFICATE_BYTES = PUBLIC_KEY_BYTES * 2 + 8 + SIGNATURE_BYTES;

export function deviceCertificateStatement(vaultId: Uint8Array, devicePublicKey: Uint8Array, issuedAt: number): Uint8Array {
  return new BinaryWriter(TAG.length + 72)
    .fixed(TAG, TAG.length)
    .fixed(vaultId, PUBLIC_KEY_BYTES)
    .fixed(devicePublicKey, PUBLIC_KEY_BYTES)
    .u64(issuedAt)
    .finish();
}

export function certifyDevice(root: KeyPair, devicePublicKey: Uint8Array, issuedAt: number): DeviceCertificate {
  const statement = deviceCertificateStatement(root.publicKey, devicePublicKey, issuedAt);
  return { vaultId: root.publicKey, devicePublicKey, issuedAt, signature: sign(statement, root.secretKey) };
}

/**
 * Undefined when the certificate is valid for `vaultId`, else the reason it is not.
 * `verifySignature` may be a check already made (an asynchronous verifier's answer).
 */
export function checkDeviceCertificate(
  certificate: DeviceCertificate,
  vaultId: Uint8Array,
  verifySignature: typeof verify = verify,
): string | undefined {
  if (!bytesEqual(certificate.vaultId, vaultId)) return 'device certificate is for another vault';
  if (!isAcceptablePublicKey(certificate.vaultId)) return 'vault id is not an acceptable Ed25519 key (small-order or non-canonical)';
  if (!isAcceptablePublicKey(certificate.devicePublicKey)) return 'device key is not an acceptable Ed25519 key (small-order or non-canonical)';
  const statement = deviceCertificateStatement(certificate.vaultId, certificate.devicePublicKey, certificate.issuedAt);
  if (!verifySignature(certificate.signature, statement, certificate.vaultId)) return 'device certificate is not signed by the vault root key';
  return undefined;
}

export function writeDeviceCertificate(writer: BinaryWriter, certificate: DeviceCertificate): void {
  writer
    .fixed(certificate.vaultId, PUBLIC_KEY_BYTES)
    .fixed(certificate.devicePublicKey, PUBLIC_KEY_BYTES)
    .u64(certificate.issuedAt)
    .fixed(certificate.signature, SIGNATURE_BYTES);
}

export function readDeviceCertificate(reader: BinaryReader): DeviceCertificate {
  return {
    vaultId: reader.fixed(PUBLIC_KEY_BYTES, 'certificate vault id'),
    devicePublicKey: reader.fixed(PUBLIC_KEY_BYTES, 'certificate device key'),
    issuedAt: reader.u64('certificate issuedAt'),
    signature: reader.fixed(SIGNATURE_BYTES, 'certificate signature'),
  };
}

export function encodeDeviceCertificate(certificate: DeviceCertificate): Uint8Array {
  const writer = new BinaryWriter();
  writeDeviceCertificate(writer, certificate);
  return writer.finish();
}
