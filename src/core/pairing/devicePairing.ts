import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { BinaryReader, BinaryWriter } from '../wire/binary';
import { concatBytes, toHex } from '../wire/hex';
import { readDeviceCertificate, writeDeviceCertificate, type DeviceCertificate } from '../vault/deviceCertificate';
import { CATALOG_KEY_BYTES } from '../vault/shopKeys';
import { readSignedHeads, writeSignedHeads, type SignedHeads } from '../vault/signedHeads';
import { MAX_STATEMENTS } from '../vault/vaultVersion';
import { open, seal } from '../crypto/sealedBox';

/**
 * Adding a device to a shop, over a proven link between the shop's root device (the holder) and
 * the new device (the joiner), with the pairing code the merchant carried between them.
 *
 * 1. The joiner sends `pairRequest`: HMAC-SHA256(key = secret, "souk/pair-request/v1" 0x00 |
 *    holder node id | joiner node id) and the name it wants. Both ids are proven by the link, so
 *    a request cannot be replayed on another link; a wrong code costs the holder one of a few
 *    attempts, after which the code is dead.
 * 2. The holder certifies the joiner's node key with the shop's root key and sends `pairGrant`:
 *    AES-256-GCM under SHA-256("souk/pair-grant/v1" 0x00 | secret), context = both node ids,
 *    holding the certificate, the catalog key and both documents with their statements. A
 *    relaying peer can neither read it nor pass it off as shared.
 */
const REQUEST_TAG = new TextEncoder().encode('souk/pair-request/v1\0');
const GRANT_TAG = new TextEncoder().encode('souk/pair-grant/v1\0');
export const PAIR_PROOF_BYTES = 32;
export const MAX_DEVICE_NAME_BYTES = 64;
export const MAX_GRANT_DOCUMENT_BYTES = 32 * 1024 * 1024;

const ROOM_TAG = new TextEncoder().encode('souk/pair-room/v1\0');

/**
 * The signaling room both devices wait in while pairing, named from the code: only someone
 * with the code finds it, and the shop's device meets the new one there however big the
 * network's own room is.
 */
export function pairingRoom(secret: Uint8Array): string {
  return `pair-${toHex(sha256(concatBytes(ROOM_TAG, secret))).slice(0, 32)}`;
}

export function pairRequestProof(secret: Uint8Array, holderId: Uint8Array, joinerId: Uint8Array): Uint8Array {
  return hmac(sha256, secret, concatBytes(REQUEST_TAG, holderId, joinerId));
}

/** Constant-time comparison of two proofs. */
export function sameProof(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export interface PairGrant {
  certificate: DeviceCertificate;
  catalogKey: Uint8Array;
  sharedDoc: Uint8Array;
  privateDoc: Uint8Array;
  statements: SignedHeads[];
}

export function encodePairGrant(grant: PairGrant): Uint8Array {
  const w = new BinaryWriter(grant.sharedDoc.length + grant.privateDoc.length + 1024).u8(1);
  writeDeviceCertificate(w, grant.certificate);
  w.fixed(grant.catalogKey, CATALOG_KEY_BYTES);
  w.u32(grant.sharedDoc.length).fixed(grant.sharedDoc, grant.sharedDoc.length);
  w.u32(grant.privateDoc.length).fixed(grant.privateDoc, grant.privateDoc.length);
  w.u16(grant.statements.length);
  for (const s of grant.statements) writeSignedHeads(w, s);
  return w.finish();
}

export function decodePairGrant(bytes: Uint8Array): PairGrant {
  const r = new BinaryReader(bytes);
  const version = r.u8('grant version');
  if (version !== 1) throw new Error(`pairing grant version ${version} is unknown`);
  const certificate = readDeviceCertificate(r);
  const catalogKey = r.fixed(CATALOG_KEY_BYTES, 'catalog key');
  const sharedLength = r.u32('shared document length');
  if (sharedLength > MAX_GRANT_DOCUMENT_BYTES) throw new Error('shared document too large');
  const sharedDoc = r.fixed(sharedLength, 'shared document');
  const privateLength = r.u32('private document length');
  if (privateLength > MAX_GRANT_DOCUMENT_BYTES) throw new Error('private document too large');
  const privateDoc = r.fixed(privateLength, 'private document');
  const count = r.count(MAX_STATEMENTS, 'statements');
  const statements: SignedHeads[] = [];
  for (let i = 0; i < count; i++) statements.push(readSignedHeads(r));
  r.end('pairing grant');
  return { certificate, catalogKey, sharedDoc, privateDoc, statements };
}

function grantKey(secret: Uint8Array): Uint8Array {
  return sha256(concatBytes(GRANT_TAG, secret));
}

export function sealPairGrant(secret: Uint8Array, holderId: Uint8Array, joinerId: Uint8Array, grant: PairGrant, randomBytes: (n: number) => Uint8Array): Promise<Uint8Array> {
  return seal(grantKey(secret), encodePairGrant(grant), concatBytes(GRANT_TAG, holderId, joinerId), randomBytes);
}

export async function openPairGrant(secret: Uint8Array, holderId: Uint8Array, joinerId: Uint8Array, sealed: Uint8Array): Promise<PairGrant | undefined> {
  const plain = await open(grantKey(secret), sealed, concatBytes(GRANT_TAG, holderId, joinerId));
  return plain && decodePairGrant(plain);
}
