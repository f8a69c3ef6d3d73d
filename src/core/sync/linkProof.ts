import { PUBLIC_KEY_BYTES, sign, verify, type KeyPair } from '../crypto/ed25519';
import { BinaryWriter } from '../wire/binary';
import { bytesEqual } from '../wire/hex';
import { checkDeviceCertificate, type DeviceCertificate } from '../vault/deviceCertificate';
import { CHALLENGE_BYTES } from './syncMessages';

/**
 * Proof of identity on a link. Each side's hello carries its node id (an Ed25519 public key)
 * and a fresh random challenge; each side then signs
 *   "souk/link-proof/v2" 0x00 | challenge (32, chosen by the verifier) | prover id (32) | verifier id (32)
 * with its node key. A claim to a shop is a device certificate from the shop's root key for the
 * prover's node key: the same signature proves the claim. Nothing a peer says about itself is
 * believed before its proof verifies.
 */
const TAG = new TextEncoder().encode('souk/link-proof/v2\0');

export function linkProofStatement(challenge: Uint8Array, prover: Uint8Array, verifier: Uint8Array): Uint8Array {
  return new BinaryWriter(TAG.length + 96)
    .fixed(TAG, TAG.length)
    .fixed(challenge, CHALLENGE_BYTES)
    .fixed(prover, PUBLIC_KEY_BYTES)
    .fixed(verifier, PUBLIC_KEY_BYTES)
    .finish();
}

export function proveLink(node: KeyPair, theirChallenge: Uint8Array, theirId: Uint8Array): Uint8Array {
  return sign(linkProofStatement(theirChallenge, node.publicKey, theirId), node.secretKey);
}

/** Undefined when `signature` proves the peer holds `proverId`'s key for this link, else why not. */
export function checkLinkProof(signature: Uint8Array, myChallenge: Uint8Array, proverId: Uint8Array, myId: Uint8Array): string | undefined {
  if (bytesEqual(proverId, myId)) return 'the peer claims this node’s own id';
  if (!verify(signature, linkProofStatement(myChallenge, proverId, myId), proverId)) return 'link proof does not verify';
  return undefined;
}

/** Undefined when the certificate makes the proven node a device of the shop it names, else why not. */
export function checkShopClaim(certificate: DeviceCertificate, proverId: Uint8Array): string | undefined {
  if (!bytesEqual(certificate.devicePublicKey, proverId)) return 'shop certificate is for another device';
  return checkDeviceCertificate(certificate, certificate.vaultId);
}
