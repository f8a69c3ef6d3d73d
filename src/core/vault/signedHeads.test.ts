import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sign } from '../crypto/ed25519';
import { deviceKeys, rootKeys } from '../test/vectors';
import { toHex } from '../wire/hex';
import { certifyDevice, checkDeviceCertificate, deviceCertificateStatement } from './deviceCertificate';
import {
  checkSignedHeads,
  decodeSignedHeads,
  encodeSignedHeads,
  signedHeadsStatement,
  signHeads,
} from './signedHeads';

const HEAD_A = 'aa'.repeat(32);
const HEAD_B = '0b'.repeat(32);

/** Verifies with Node's own Ed25519 (OpenSSL), independent of @noble/ed25519. */
function opensslVerifies(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(publicKey)]);
  return nodeVerify(null, message, createPublicKey({ key: der, format: 'der', type: 'spki' }), signature);
}

describe('device certificate', () => {
  it('signs exactly the documented statement bytes', () => {
    const statement = deviceCertificateStatement(rootKeys.publicKey, deviceKeys.publicKey, 1_700_000_000_000);
    const expected =
      Buffer.from('souk/device-certificate/v1\0').toString('hex') +
      toHex(rootKeys.publicKey) +
      toHex(deviceKeys.publicKey) +
      '0000018bcfe56800';
    expect(toHex(statement)).toBe(expected);
    const certificate = certifyDevice(rootKeys, deviceKeys.publicKey, 1_700_000_000_000);
    expect(opensslVerifies(certificate.signature, statement, rootKeys.publicKey)).toBe(true);
    expect(checkDeviceCertificate(certificate, rootKeys.publicKey)).toBeUndefined();
  });

  it('refuses a certificate signed by another key or for another vault', () => {
    const forged = certifyDevice(deviceKeys, deviceKeys.publicKey, 1);
    expect(checkDeviceCertificate({ ...forged, vaultId: rootKeys.publicKey }, rootKeys.publicKey)).toMatch(/not signed by the vault root/);
    const real = certifyDevice(rootKeys, deviceKeys.publicKey, 1);
    expect(checkDeviceCertificate(real, deviceKeys.publicKey)).toMatch(/another vault/);
  });
});

describe('signed heads', () => {
  const certificate = certifyDevice(rootKeys, deviceKeys.publicKey, 1_700_000_000_000);

  it('signs the documented statement: tag, vault id, counter, sorted heads', () => {
    const statement = signedHeadsStatement(rootKeys.publicKey, 7, [HEAD_A, HEAD_B]);
    const expected =
      Buffer.from('souk/signed-heads/v1\0').toString('hex') +
      toHex(rootKeys.publicKey) +
      '0000000000000007' +
      '0002' +
      HEAD_B +
      HEAD_A;
    expect(toHex(statement)).toBe(expected);
    const signed = signHeads(deviceKeys, certificate, 7, [HEAD_A, HEAD_B]);
    expect(signed.heads).toEqual([HEAD_B, HEAD_A]);
    expect(opensslVerifies(signed.signature, statement, deviceKeys.publicKey)).toBe(true);
    expect(checkSignedHeads(signed)).toBeUndefined();
  });

  it('encodes to the documented wire bytes and back', () => {
    const signed = signHeads(deviceKeys, certificate, 7, [HEAD_A]);
    const bytes = encodeSignedHeads(signed);
    const expected =
      toHex(rootKeys.publicKey) +
      '0000000000000007' +
      '0001' +
      HEAD_A +
      toHex(rootKeys.publicKey) +
      toHex(deviceKeys.publicKey) +
      '0000018bcfe56800' +
      toHex(certificate.signature) +
      toHex(signed.signature);
    expect(toHex(bytes)).toBe(expected);
    expect(bytes.length).toBe(32 + 8 + 2 + 32 + 32 + 32 + 8 + 64 + 64);
    expect(decodeSignedHeads(bytes)).toEqual(signed);
  });

  it('refuses a forged signature, a changed counter, changed heads and an uncertified device', () => {
    const signed = signHeads(deviceKeys, certificate, 3, [HEAD_A]);
    const flipped = signed.signature.slice();
    flipped[0]! ^= 1;
    expect(checkSignedHeads({ ...signed, signature: flipped })).toMatch(/signature does not verify/);
    expect(checkSignedHeads({ ...signed, counter: 4 })).toMatch(/signature does not verify/);
    expect(checkSignedHeads({ ...signed, heads: [HEAD_B] })).toMatch(/signature does not verify/);
    // A device key the root never certified, vouching for itself.
    const selfCertified = certifyDevice(deviceKeys, deviceKeys.publicKey, 1);
    const rogue = signHeads(deviceKeys, { ...selfCertified, vaultId: rootKeys.publicKey }, 3, [HEAD_A]);
    expect(checkSignedHeads(rogue)).toMatch(/not signed by the vault root key/);
    // Signed by a key other than the certified device.
    const byRoot = { ...signed, signature: sign(signedHeadsStatement(rootKeys.publicKey, 3, [HEAD_A]), rootKeys.secretKey) };
    expect(checkSignedHeads(byRoot)).toMatch(/signature does not verify/);
  });

  it('refuses truncated or padded wire bytes with a clear error', () => {
    const bytes = encodeSignedHeads(signHeads(deviceKeys, certificate, 1, [HEAD_A]));
    expect(() => decodeSignedHeads(bytes.slice(0, 100))).toThrow(/truncated/);
    expect(() => decodeSignedHeads(new Uint8Array([...bytes, 0]))).toThrow(/trailing/);
  });
});

describe('signed heads with a certificate already checked', () => {
  const certificate = certifyDevice(rootKeys, deviceKeys.publicKey, 5);
  const genuine = signHeads(deviceKeys, certificate, 3, ['ab'.repeat(32)]);

  it('still verifies the statement’s own signature and its vault', () => {
    expect(checkSignedHeads(genuine, true)).toBeUndefined();
    const forged = { ...genuine, counter: 4 };
    expect(checkSignedHeads(forged, true)).toBe('heads signature does not verify');
    const otherVault = { ...genuine, vaultId: deviceKeys.publicKey };
    expect(checkSignedHeads(otherVault, true)).toBe('device certificate is for another vault');
  });
});
