import { BinaryReader, BinaryWriter } from '../wire/binary';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, sign, verify, type KeyPair } from '../crypto/ed25519';
import { bytesEqual, compareBytes, fromHex, toHex } from '../wire/hex';
import {
  checkDeviceCertificate,
  readDeviceCertificate,
  writeDeviceCertificate,
  type DeviceCertificate,
} from './deviceCertificate';

/**
 * A device's signed word that a vault's Automerge document is exactly at `heads`.
 * `counter` rises with every statement a device makes for a vault, so an older statement
 * replayed later is recognised and refused.
 *
 * Signed statement (bytes):
 *   "souk/signed-heads/v1" 0x00 | vaultId (32) | counter u64 BE | head count u16 BE | heads (32 each, ascending)
 */
export interface SignedHeads {
  vaultId: Uint8Array;
  counter: number;
  /** Automerge change hashes, lowercase hex, ascending. */
  heads: string[];
  certificate: DeviceCertificate;
  signature: Uint8Array;
}

const TAG = new TextEncoder().encode('souk/signed-heads/v1\0');
export const HEAD_BYTES = 32;
export const MAX_HEADS = 64;

export function sortHeads(heads: readonly string[]): string[] {
  return [...new Set(heads.map((h) => h.toLowerCase()))].sort();
}

export function signedHeadsStatement(vaultId: Uint8Array, counter: number, heads: readonly string[]): Uint8Array {
  const sorted = sortHeads(heads);
  const writer = new BinaryWriter(TAG.length + 42 + sorted.length * HEAD_BYTES)
    .fixed(TAG, TAG.length)
    .fixed(vaultId, PUBLIC_KEY_BYTES)
    .u64(counter)
    .u16(sorted.length);
  for (const head of sorted) writer.fixed(fromHex(head), HEAD_BYTES);
  return writer.finish();
}

export function signHeads(
  device: KeyPair,
  certificate: DeviceCertificate,
  counter: number,
  heads: readonly string[],
): SignedHeads {
  const sorted = sortHeads(heads);
  const statement = signedHeadsStatement(certificate.vaultId, counter, sorted);
  return { vaultId: certificate.vaultId, counter, heads: sorted, certificate, signature: sign(statement, device.secretKey) };
}

/**
 * Undefined when the statement is genuine: signed by a device the vault's root key certified. Else
 * why not. `certificateChecked` says the caller already verified this exact certificate (a cache),
 * which saves one of the two signature checks. `verifySignature` may stand for checks already
 * made by an asynchronous verifier (WebCrypto).
 */
export function checkSignedHeads(signed: SignedHeads, certificateChecked = false, verifySignature: typeof verify = verify): string | undefined {
  if (signed.heads.length > MAX_HEADS) return `too many heads (${signed.heads.length})`;
  const sorted = sortHeads(signed.heads);
  if (sorted.length !== signed.heads.length || sorted.some((h, i) => h !== signed.heads[i])) return 'heads are not sorted and unique';
  if (signed.counter < 1) return 'counter must be at least 1';
  const certificateProblem = certificateChecked
    ? bytesEqual(signed.certificate.vaultId, signed.vaultId)
      ? undefined
      : 'device certificate is for another vault'
    : checkDeviceCertificate(signed.certificate, signed.vaultId, verifySignature);
  if (certificateProblem) return certificateProblem;
  const statement = signedHeadsStatement(signed.vaultId, signed.counter, signed.heads);
  if (!verifySignature(signed.signature, statement, signed.certificate.devicePublicKey)) return 'heads signature does not verify';
  return undefined;
}

export function writeSignedHeads(writer: BinaryWriter, signed: SignedHeads): void {
  writer.fixed(signed.vaultId, PUBLIC_KEY_BYTES).u64(signed.counter).u16(signed.heads.length);
  for (const head of signed.heads) writer.fixed(fromHex(head), HEAD_BYTES);
  writeDeviceCertificate(writer, signed.certificate);
  writer.fixed(signed.signature, SIGNATURE_BYTES);
}

export function readSignedHeads(reader: BinaryReader): SignedHeads {
  const vaultId = reader.fixed(PUBLIC_KEY_BYTES, 'vault id');
  const counter = reader.u64('counter');
  const count = reader.count(MAX_HEADS, 'heads');
  const headBytes: Uint8Array[] = [];
  for (let i = 0; i < count; i++) headBytes.push(reader.fixed(HEAD_BYTES, 'head'));
  headBytes.sort(compareBytes);
  const certificate = readDeviceCertificate(reader);
  const signature = reader.fixed(SIGNATURE_BYTES, 'heads signature');
  return { vaultId, counter, heads: headBytes.map(toHex), certificate, signature };
}

export function encodeSignedHeads(signed: SignedHeads): Uint8Array {
  const writer = new BinaryWriter();
  writeSignedHeads(writer, signed);
  return writer.finish();
}

export function decodeSignedHeads(bytes: Uint8Array): SignedHeads {
  const reader = new BinaryReader(bytes);
  const signed = readSignedHeads(reader);
  reader.end('signed heads');
  return signed;
}

export function sameHeads(a: readonly string[], b: readonly string[]): boolean {
  const x = sortHeads(a);
  const y = sortHeads(b);
  return x.length === y.length && x.every((h, i) => h === y[i]);
}
