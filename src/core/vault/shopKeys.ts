import { BinaryReader, BinaryWriter } from '../wire/binary';
import { generateKeyPair, keyPairFromSecret, type KeyPair } from '../crypto/ed25519';
import { certifyDevice, readDeviceCertificate, writeDeviceCertificate, type DeviceCertificate } from './deviceCertificate';

/**
 * The keys a device holds for the shop it belongs to. The device key is the node's own key,
 * certified by the shop's root key (whose public key is the vault id). The root key itself is
 * held by the device that created the shop (or restored it from a backup): only that device adds
 * and revokes devices. The catalog key encrypts the private catalog between the shop's devices.
 */
export interface ShopKeys {
  vaultId: Uint8Array;
  root?: KeyPair;
  device: KeyPair;
  certificate: DeviceCertificate;
  catalogKey: Uint8Array;
}

export const CATALOG_KEY_BYTES = 32;

/** A new shop's keys: a fresh root key certifying `device` (the node's own key), and a fresh catalog key. */
export function createShopKeys(now: number, device: KeyPair = generateKeyPair(), randomBytes = (n: number) => crypto.getRandomValues(new Uint8Array(n))): ShopKeys {
  const root = generateKeyPair();
  return { vaultId: root.publicKey, root, device, certificate: certifyDevice(root, device.publicKey, now), catalogKey: randomBytes(CATALOG_KEY_BYTES) };
}

/**
 * Version 2: 0x02 | has root (0/1) | [root secret (32)] | device secret (32) | device certificate (136) | catalog key (32).
 * Version 1 (before devices): 0x01 | root secret | device secret | certificate — read, with a new catalog key.
 * Never leaves the device (a backup carries the root key inside its own encryption).
 */
export function encodeShopKeys(keys: ShopKeys): Uint8Array {
  const writer = new BinaryWriter().u8(2).u8(keys.root ? 1 : 0);
  if (keys.root) writer.fixed(keys.root.secretKey, 32);
  writer.fixed(keys.device.secretKey, 32);
  writeDeviceCertificate(writer, keys.certificate);
  writer.fixed(keys.catalogKey, CATALOG_KEY_BYTES);
  return writer.finish();
}

export function decodeShopKeys(bytes: Uint8Array, randomBytes = (n: number) => crypto.getRandomValues(new Uint8Array(n))): ShopKeys {
  const reader = new BinaryReader(bytes);
  const version = reader.u8('keys version');
  if (version === 1) {
    const root = keyPairFromSecret(reader.fixed(32, 'root secret'));
    const device = keyPairFromSecret(reader.fixed(32, 'device secret'));
    const certificate = readDeviceCertificate(reader);
    reader.end('shop keys');
    return { vaultId: root.publicKey, root, device, certificate, catalogKey: randomBytes(CATALOG_KEY_BYTES) };
  }
  if (version !== 2) throw new Error(`stored shop keys have unknown version ${version}`);
  const hasRoot = reader.u8('root flag');
  const root = hasRoot === 1 ? keyPairFromSecret(reader.fixed(32, 'root secret')) : undefined;
  const device = keyPairFromSecret(reader.fixed(32, 'device secret'));
  const certificate = readDeviceCertificate(reader);
  const catalogKey = reader.fixed(CATALOG_KEY_BYTES, 'catalog key');
  reader.end('shop keys');
  return { vaultId: certificate.vaultId, ...(root ? { root } : {}), device, certificate, catalogKey };
}
