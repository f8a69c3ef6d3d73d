import * as A from '@automerge/automerge';
import { keyPairFromSecret, type KeyPair } from '../crypto/ed25519';
import { readCheckedProducts } from '../catalog/productRecords';
import { PRIVATE_CATALOG_LIMITS } from '../vault/vaultLimits';
import { acceptBundle } from '../vault/acceptBundle';
import { VAULT_LIMITS } from '../vault/automergeCost';
import { certifyDevice, checkDeviceCertificate, encodeDeviceCertificate, type DeviceCertificate } from '../vault/deviceCertificate';
import { CATALOG_KEY_BYTES, type ShopKeys } from '../vault/shopKeys';
import { readSignedHeads, writeSignedHeads, type SignedHeads } from '../vault/signedHeads';
import type { PrivateVaultDoc, SharedVaultDoc } from '../vault/vaultDocuments';
import { MAX_STATEMENTS } from '../vault/vaultVersion';
import { BinaryReader, BinaryWriter } from '../wire/binary';
import { bytesEqual, toHex } from '../wire/hex';
import type { PairGrant } from '../pairing/devicePairing';
import { deviceActor, OwnShop } from './ownShop';
import type { StorageWrite } from '../storage/storage';

/**
 * A shop arriving on a device from elsewhere — from its root device by pairing, or from a backup
 * file — checked exactly like any peer's vault before it becomes this device's shop.
 */
export class ShopTransferError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShopTransferError';
  }
}

/** The shared document with this device listed (its name and certificate), written as this device. */
function listDevice(doc: A.Doc<SharedVaultDoc>, certificate: DeviceCertificate, name: string): A.Doc<SharedVaultDoc> {
  return A.change(doc, (d) => {
    d.devices[toHex(certificate.devicePublicKey)] = { name: new A.ImmutableString(name), certificate: encodeDeviceCertificate(certificate) };
  });
}

/** Loads a shop's documents as this device and checks them as a fresh peer would. */
function checkedDocuments(
  device: KeyPair,
  vaultId: Uint8Array,
  sharedBytes: Uint8Array,
  privateBytes: Uint8Array,
  statements: SignedHeads[],
): { doc: A.Doc<SharedVaultDoc>; privateDoc: A.Doc<PrivateVaultDoc> } {
  if (statements.length === 0 || statements.some((s) => !bytesEqual(s.vaultId, vaultId))) throw new ShopTransferError('the shop’s signed versions are missing or for another shop');
  const accepted = acceptBundle(undefined, { statements, snapshot: true, changes: [sharedBytes] }, { limits: VAULT_LIMITS });
  if (!accepted.accepted) throw new ShopTransferError(`the shop’s shared vault does not check: ${accepted.reason}`);
  const actor = deviceActor(device.publicKey);
  let privateDoc: A.Doc<PrivateVaultDoc>;
  try {
    privateDoc = A.load<PrivateVaultDoc>(privateBytes, { actor });
    if ((privateDoc as { schema?: number }).schema !== 2) throw new Error('not a schema-2 catalog');
    readCheckedProducts(privateDoc, PRIVATE_CATALOG_LIMITS);
    if (privateBytes.length > PRIVATE_CATALOG_LIMITS.maxSavedBytes) throw new Error(`it is ${privateBytes.length} bytes, limit ${PRIVATE_CATALOG_LIMITS.maxSavedBytes}`);
  } catch (error) {
    throw new ShopTransferError(`the shop’s catalog does not read: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { doc: A.load<SharedVaultDoc>(A.save(accepted.vault.doc), { actor }), privateDoc };
}

/** What the root device sends a device it adds: its certificate, the catalog key, both documents. */
export function grantFor(shop: OwnShop, certificate: DeviceCertificate): PairGrant {
  return {
    certificate,
    catalogKey: shop.keys.catalogKey,
    sharedDoc: A.save(shop.doc),
    privateDoc: A.save(shop.privateDoc),
    statements: shop.statements,
  };
}

/** This device's shop from a pairing grant: checked, then saved with this device's first statement. */
export function shopFromGrant(device: KeyPair, grant: PairGrant): { shop: OwnShop; writes: StorageWrite[] } {
  if (!bytesEqual(grant.certificate.devicePublicKey, device.publicKey)) throw new ShopTransferError('the shop certified another device');
  const problem = checkDeviceCertificate(grant.certificate, grant.certificate.vaultId);
  if (problem) throw new ShopTransferError(`the shop’s certificate for this device does not check: ${problem}`);
  const { doc, privateDoc } = checkedDocuments(device, grant.certificate.vaultId, grant.sharedDoc, grant.privateDoc, grant.statements);
  if (!doc.devices[toHex(device.publicKey)]) throw new ShopTransferError('the shop does not list this device');
  const keys: ShopKeys = { vaultId: grant.certificate.vaultId, device, certificate: grant.certificate, catalogKey: grant.catalogKey };
  return OwnShop.fromDocuments(keys, doc, privateDoc, grant.statements);
}

/**
 * The payload of a backup file (sealed by backupFile.ts): version 1 | root secret (32) | catalog
 * key (32) | u32 length + shared document | u32 length + private document | u16 count + statements.
 */
export function encodeShopBackup(shop: OwnShop): Uint8Array {
  if (!shop.keys.root) throw new ShopTransferError('Only the device that created the shop (or restored it) holds its root key: back up from that device');
  const shared = A.save(shop.doc);
  const priv = A.save(shop.privateDoc);
  const w = new BinaryWriter(shared.length + priv.length + 4096).u8(1).fixed(shop.keys.root.secretKey, 32).fixed(shop.keys.catalogKey, CATALOG_KEY_BYTES);
  w.u32(shared.length).fixed(shared, shared.length).u32(priv.length).fixed(priv, priv.length).u16(shop.statements.length);
  for (const s of shop.statements) writeSignedHeads(w, s);
  return w.finish();
}

/** A shop restored from a backup's payload on this device: the root key certifies this device, which is listed and signs first. */
export function shopFromBackup(device: KeyPair, payload: Uint8Array, now: number, deviceName: string): { shop: OwnShop; writes: StorageWrite[] } {
  let root: KeyPair;
  let catalogKey: Uint8Array;
  let shared: Uint8Array;
  let priv: Uint8Array;
  const statements: SignedHeads[] = [];
  try {
    const r = new BinaryReader(payload);
    const version = r.u8('backup payload version');
    if (version !== 1) throw new Error(`backup payload version ${version} is unknown`);
    root = keyPairFromSecret(r.fixed(32, 'root secret'));
    catalogKey = r.fixed(CATALOG_KEY_BYTES, 'catalog key');
    shared = r.fixed(r.u32('shared length'), 'shared document');
    priv = r.fixed(r.u32('private length'), 'private document');
    const count = r.count(MAX_STATEMENTS, 'statements');
    for (let i = 0; i < count; i++) statements.push(readSignedHeads(r));
    r.end('backup payload');
  } catch (error) {
    throw new ShopTransferError(`the backup’s contents do not read: ${error instanceof Error ? error.message : String(error)}`);
  }
  const { doc, privateDoc } = checkedDocuments(device, root.publicKey, shared, priv, statements);
  const certificate = certifyDevice(root, device.publicKey, now);
  const keys: ShopKeys = { vaultId: root.publicKey, root, device, certificate, catalogKey };
  return OwnShop.fromDocuments(keys, listDevice(doc, certificate, deviceName), privateDoc, statements);
}

export { listDevice };
