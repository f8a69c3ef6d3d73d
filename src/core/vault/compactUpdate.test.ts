import * as A from '@automerge/automerge';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { generateKeyPair, keyPairFromSecret } from '../crypto/ed25519';
import { deviceActor, OwnShop } from '../node/ownShop';
import { bytesEqual, concatBytes, fromHex, toHex } from '../wire/hex';
import type { Product, SharedVaultDoc } from './vaultDocuments';
import { acceptBundle, type VerifiedVault } from './acceptBundle';
import { VAULT_LIMITS } from './automergeCost';
import {
  CompactUpdateError,
  decodeCompactUpdate,
  encodeCompactUpdate,
  MAX_COMPACT_UPDATE_BYTES,
  type CompactUpdateLookup,
} from './compactUpdate';
import { certifyDevice, encodeDeviceCertificate } from './deviceCertificate';
import { signHeads, signedHeadsStatement, type SignedHeads } from './signedHeads';
import type { ShopKeys } from './shopKeys';
import { sign } from '../crypto/ed25519';

const options = { limits: VAULT_LIMITS };
const T0 = 1767225600; // 2026-01-01T00:00:00Z, seconds (Automerge change time)
const PRODUCT = '0123456789abcdef';

/** A lookup over the verified vaults a receiver holds, by the first 8 bytes of the vault id. */
function lookupOf(...vaults: VerifiedVault[]): CompactUpdateLookup & { calls: number } {
  const lookup = {
    calls: 0,
    vault(prefix: Uint8Array) {
      lookup.calls += 1;
      const vault = vaults.find((v) => bytesEqual(v.statements[0]!.vaultId.subarray(0, 8), prefix));
      return vault && { vaultId: vault.statements[0]!.vaultId, statements: vault.statements };
    },
  };
  return lookup;
}

function accepted(outcome: ReturnType<typeof acceptBundle>): VerifiedVault {
  if (!outcome.accepted) throw new Error(outcome.reason);
  return outcome.vault;
}

/** The test vector: fixed keys, a fixed first document, one price change at a fixed time. */
function vector() {
  const root = keyPairFromSecret(new Uint8Array(32).fill(1));
  const device = keyPairFromSecret(new Uint8Array(32).fill(2));
  const certificate = certifyDevice(root, device.publicKey, T0 * 1000);
  const actor = deviceActor(device.publicKey);
  const first = A.change(A.init<SharedVaultDoc>({ actor }), { time: T0 }, (d) => {
    d.schema = 2;
    d.profile = { name: new A.ImmutableString('Vector Stall'), area: new A.ImmutableString('Old Market'), currency: new A.ImmutableString('EUR') };
    d.devices = { [toHex(device.publicKey)]: { name: new A.ImmutableString('Till'), certificate: encodeDeviceCertificate(certificate) } };
    d.revocations = {};
    d.offerSets = {};
    d.offerFields = {
      [`${PRODUCT}/n`]: new A.ImmutableString('Saffron'),
      [`${PRODUCT}/s`]: new A.ImmutableString('SAF-1'),
      [`${PRODUCT}/u`]: new A.ImmutableString('g'),
      [`${PRODUCT}/q`]: 250.5,
      [`${PRODUCT}/p`]: 1200,
      [`${PRODUCT}/e`]: null,
    };
  });
  const previous = signHeads(device, certificate, 1, A.getHeads(first));
  const second = A.change(first, { time: T0 + 60 }, (d) => void (d.offerFields[`${PRODUCT}/p`] = 1350));
  const statement = signHeads(device, certificate, 2, A.getHeads(second));
  const [change] = A.getChanges(first, second);
  return { root, device, certificate, first, second, previous, statement, change: change! };
}

function receiverOf(first: A.Doc<SharedVaultDoc>, previous: SignedHeads): VerifiedVault {
  return accepted(acceptBundle(undefined, { statements: [previous], snapshot: true, changes: [A.save(first)] }, options));
}

/** The change chunk Automerge 3.5 writes for the vector's price change (127 bytes). */
const VECTOR_CHANGE =
  '856f4a83' + '5c86311a' + '01' + '75' + // magic, checksum, change chunk, body length 117
  '01' + '989c3b5a5b3a74b4381050bd7172bdcdc930bc812b4251360c0d11c4af59656d' + // 1 dep: the previous statement's head
  '10' + '8139770ea87d175f56a35466c34c7ecc' + // actor: the first 16 bytes of the device key
  '02' + '13' + 'bcf2d6ca06' + '00' + '00' + // seq 2, startOp 19, time 1767225660, no message, no other actors
  '0a' + '0102' + '0202' + '1514' + '3401' + '4202' + '5602' + '5702' + '7002' + '7102' + '7302' + // 10 op columns (spec, length)
  '7f00' + '7f0c' + '7f12' + '303132333435363738396162636465662f70' + '01' + '7f01' + '7f24' + 'c60a' + '7f01' + '7f00' + '7f0f';
// obj 12@actor0 (offerFields), key "0123456789abcdef/p", not an insert, action set, int of 2 bytes, 1350, 1 pred: 15@actor0

/** The compact update of that change (146 bytes). */
const VECTOR_UPDATE =
  '01' + '8a88e3dd7409f195' + '8139770e' + '02' + '03' + // version, vault prefix, device prefix, counter 2, deps and actor elided
  '0213bcf2d6ca060000' + '0a01020202151434014202560257027002710273027f007f0c7f12303132333435363738396162636465662f70017f017f24c60a7f017f007f0f' +
  'decafb655c5bd30ad08508351e9a645eda2f955ac2bdd772a283f944557a2ef96233e067142560bc92a1c892db37d7c2df6bc9fe98a14dc4156917ebb8a4000e';

describe('compact update: the test vector', () => {
  it('is built on the change Automerge writes, whose hash is SHA-256 over type | length | body', () => {
    const v = vector();
    expect(toHex(v.change)).toBe(VECTOR_CHANGE);
    const hash = sha256(v.change.subarray(8));
    expect(toHex(hash)).toBe(A.decodeChange(v.change).hash);
    expect(toHex(hash)).toBe(v.statement.heads[0]);
    expect(toHex(hash.subarray(0, 4))).toBe(toHex(v.change.subarray(4, 8)));
    expect(v.previous.heads).toEqual(['989c3b5a5b3a74b4381050bd7172bdcdc930bc812b4251360c0d11c4af59656d']);
    expect(deviceActor(v.device.publicKey)).toBe('8139770ea87d175f56a35466c34c7ecc');
  });

  it('encodes a price change to the documented bytes: header, the change without what the receiver rebuilds, signature', () => {
    const v = vector();
    const update = encodeCompactUpdate(v.change, v.statement, v.previous);
    expect(toHex(update)).toBe(VECTOR_UPDATE);
    expect(update.length).toBe(146);
    // The elided body is the change's body after deps (33 bytes) and actor (17 bytes).
    expect(toHex(update.subarray(15, 15 + 67))).toBe(toHex(v.change.subarray(10 + 33 + 17)));
    expect(toHex(update.subarray(1, 9))).toBe(toHex(v.statement.vaultId.subarray(0, 8)));
    expect(toHex(update.subarray(9, 13))).toBe(toHex(v.device.publicKey.subarray(0, 4)));
    // The signature is the device's over the ordinary signed-heads statement, as full sync carries it.
    expect(toHex(update.subarray(update.length - 64))).toBe(toHex(sign(signedHeadsStatement(v.statement.vaultId, 2, v.statement.heads), v.device.secretKey)));
  });

  it('decodes back to the exact change and statement', () => {
    const v = vector();
    const receiver = receiverOf(v.first, v.previous);
    const decoded = decodeCompactUpdate(fromHex(VECTOR_UPDATE), lookupOf(receiver));
    if ('error' in decoded) throw new Error(decoded.error);
    expect(toHex(decoded.change)).toBe(VECTOR_CHANGE);
    expect(decoded.statement).toEqual(v.statement);
  });

  it('applied through acceptBundle, reaches exactly the state full sync reaches', () => {
    const v = vector();
    const receiver = receiverOf(v.first, v.previous);
    const decoded = decodeCompactUpdate(encodeCompactUpdate(v.change, v.statement, v.previous), lookupOf(receiver));
    if ('error' in decoded) throw new Error(decoded.error);
    const compact = accepted(acceptBundle(receiver, { statements: [decoded.statement], snapshot: false, changes: [decoded.change] }, options));
    const full = accepted(acceptBundle(receiver, { statements: [v.statement], snapshot: false, changes: [v.change] }, options));
    expect(A.getHeads(compact.doc)).toEqual(A.getHeads(full.doc));
    expect(A.getHeads(compact.doc)).toEqual(A.getHeads(v.second));
    expect(compact.statements).toEqual(full.statements);
    expect(toHex(A.save(compact.doc))).toBe(toHex(A.save(full.doc)));
    expect(compact.content.offers[0]!.price).toBe(1350);
  });
});
