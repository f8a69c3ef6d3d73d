import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deviceKeys, rootKeys } from '../test/vectors';
import { toHex } from '../wire/hex';
import { certifyDevice } from './deviceCertificate';
import {
  checkDeviceRevocation,
  decodeDeviceRevocation,
  DEVICE_REVOCATION_BYTES,
  deviceRevocationStatement,
  encodeDeviceRevocation,
  headsDigest,
  revokedStatementStands,
  revokeDevice,
} from './deviceRevocation';
import { signHeads } from './signedHeads';
import { checkStatementList, coveredHeads, mergeStatements, versionNumber, versionWith } from './vaultVersion';
import { generateKeyPair } from '../crypto/ed25519';

function opensslVerifies(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  const der = Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(publicKey)]);
  return nodeVerify(null, message, createPublicKey({ key: der, format: 'der', type: 'spki' }), signature);
}

describe('device revocation', () => {
  it('signs exactly the documented statement bytes (the last statement pinned) and encodes to 176 bytes', () => {
    // The heads pinned: SHA-256 of the two heads, ascending, 32 bytes each.
    const pin = headsDigest(['aa'.repeat(32), '0b'.repeat(32)]);
    expect(toHex(pin)).toBe(createHash('sha256').update(Buffer.from('0b'.repeat(32) + 'aa'.repeat(32), 'hex')).digest('hex'));
    const statement = deviceRevocationStatement(rootKeys.publicKey, deviceKeys.publicKey, 1_700_000_000_000, 41, pin);
    expect(toHex(statement)).toBe(
      Buffer.from('souk/device-revocation/v2\0').toString('hex') + toHex(rootKeys.publicKey) + toHex(deviceKeys.publicKey) + '0000018bcfe56800' + '0000000000000029' + toHex(pin),
    );
    const revocation = revokeDevice(rootKeys, deviceKeys.publicKey, 1_700_000_000_000, { counter: 41, heads: ['aa'.repeat(32), '0b'.repeat(32)] });
    expect(opensslVerifies(revocation.signature, statement, rootKeys.publicKey)).toBe(true);
    const encoded = encodeDeviceRevocation(revocation);
    expect(encoded.length).toBe(DEVICE_REVOCATION_BYTES);
    expect(DEVICE_REVOCATION_BYTES).toBe(176);
    expect(toHex(encoded)).toBe(toHex(rootKeys.publicKey) + toHex(deviceKeys.publicKey) + '0000018bcfe56800' + '0000000000000029' + toHex(pin) + toHex(revocation.signature));
    expect(decodeDeviceRevocation(encoded)).toEqual(revocation);
    expect(checkDeviceRevocation(revocation, rootKeys.publicKey)).toBeUndefined();
  });

  it('refuses a revocation signed by a device key, for another vault, altered, or cut short', () => {
    const byDevice = revokeDevice(deviceKeys, deviceKeys.publicKey, 1, { counter: 1, heads: [] });
    expect(checkDeviceRevocation({ ...byDevice, vaultId: rootKeys.publicKey }, rootKeys.publicKey)).toMatch(/not signed by the vault root/);
    const genuine = revokeDevice(rootKeys, deviceKeys.publicKey, 1, { counter: 5, heads: ['aa'.repeat(32)] });
    expect(checkDeviceRevocation(genuine, deviceKeys.publicKey)).toMatch(/another vault/);
    expect(checkDeviceRevocation({ ...genuine, lastCounter: 6 }, rootKeys.publicKey)).toMatch(/not signed/);
    expect(checkDeviceRevocation({ ...genuine, lastHeadsDigest: new Uint8Array(32) }, rootKeys.publicKey)).toMatch(/not signed/);
    expect(() => decodeDeviceRevocation(encodeDeviceRevocation(genuine).slice(0, 175))).toThrow();
  });

  it('what a revoked device signed up to its last counter stands, exactly: no other heads under that counter, nothing above', () => {
    const revocation = revokeDevice(rootKeys, deviceKeys.publicKey, 1, { counter: 5, heads: ['aa'.repeat(32)] });
    expect(revokedStatementStands(revocation, 4, ['bb'.repeat(32)])).toBe(true);
    expect(revokedStatementStands(revocation, 5, ['aa'.repeat(32)])).toBe(true);
    expect(revokedStatementStands(revocation, 5, ['cc'.repeat(32)])).toBe(false);
    expect(revokedStatementStands(revocation, 6, ['aa'.repeat(32)])).toBe(false);
  });
});

describe('a vault version: one statement per device', () => {
  const second = generateKeyPair();
  const first = certifyDevice(rootKeys, deviceKeys.publicKey, 1);
  const other = certifyDevice(rootKeys, second.publicKey, 2);
  const a = (counter: number, heads: string[]) => signHeads(deviceKeys, first, counter, heads);
  const b = (counter: number, heads: string[]) => signHeads(second, other, counter, heads);
  const H1 = '11'.repeat(32);
  const H2 = '22'.repeat(32);
  const H3 = '33'.repeat(32);

  it('keeps the latest statement of each device; newer only when some counter rose', () => {
    const held = [a(3, [H1])];
    const merged = mergeStatements(held, [b(1, [H2]), a(2, [H3])]);
    expect(merged.newer).toBe(true);
    expect(merged.statements.map((s) => s.counter).sort()).toEqual([1, 3]);
    expect(mergeStatements(merged.statements, [a(3, [H1])]).newer).toBe(false);
    expect(versionNumber(merged.statements)).toBe(4);
    expect(versionWith(merged.statements, b(5, [H3]))).toBe(8);
    expect([...coveredHeads(merged.statements)].sort()).toEqual([H1, H2]);
  });

  it('calls out one device signing two versions under one counter, keeping the first', () => {
    const merged = mergeStatements([a(3, [H1])], [a(3, [H2])]);
    expect(merged.conflict?.heads).toEqual([H2]);
    expect(merged.statements[0]!.heads).toEqual([H1]);
  });

  it('refuses lists that cannot be one version', () => {
    expect(checkStatementList([])).toMatch(/no statements/);
    expect(checkStatementList([a(1, [H1]), a(2, [H2])])).toMatch(/two statements from one device/);
    const foreign = signHeads(second, certifyDevice(second, second.publicKey, 1), 1, [H1]);
    expect(checkStatementList([a(1, [H1]), foreign])).toMatch(/different vaults/);
    expect(checkStatementList(Array.from({ length: 65 }, () => a(1, [H1])))).toMatch(/over 64/);
  });
});
