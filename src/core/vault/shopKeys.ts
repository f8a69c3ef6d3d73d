import { BinaryReader, BinaryWriter } from '../wire/binary';
import { generateKeyPair, keyPairFromSecret, type KeyPair } from '../crypto/ed25519';
import { certifyDevice, readDeviceCertificate, writeDeviceCertificate, type DeviceCertificate } from './deviceCertificate';

/** The keys a node holds for the shop it owns: the root (whose public key is the vault id) and this device's. */
export interface ShopKeys {
  root: KeyPair;
  device: KeyPair;
  certificate: DeviceCertificate;
}

/** A new shop's keys: a fresh root key certifying `device` (the node's own key). */
export function createShopKeys(now: number, device: KeyPair = generateKeyPair()): ShopKeys {
  const root = generateKeyPair();
  return { root, device, certificate: certifyDevice(root, device.publicKey, now) };
}

/** Version byte 1 | root secret (32) | device secret (32) | device certificate. Never leaves the device. */
export function encodeShopKeys(keys: ShopKeys): Uint8Array {
  const writer = new BinaryWriter().u8(1).fixed(keys.root.secretKey, 32).fixed(keys.device.secretKey, 32);
  writeDeviceCertificate(writer, keys.certificate);
  return writer.finish();
}

export function decodeShopKeys(bytes: Uint8Array): ShopKeys {
  const reader = new BinaryReader(bytes);
  const version = reader.u8('keys version');
  if (version !== 1) throw new Error(`stored shop keys have unknown version ${version}`);
  const root = keyPairFromSecret(reader.fixed(32, 'root secret'));
  const device = keyPairFromSecret(reader.fixed(32, 'device secret'));
  const certificate = readDeviceCertificate(reader);
  reader.end('shop keys');
  return { root, device, certificate };
}
