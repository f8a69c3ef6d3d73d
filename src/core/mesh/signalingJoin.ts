import { PUBLIC_KEY_BYTES, sign, verify, type KeyPair } from '../crypto/ed25519';
import { BinaryWriter } from '../wire/binary';

/**
 * A node proves to the signaling server that it holds the key its peer id names. The server
 * sends a fresh 32-byte challenge on every connection; the node signs
 *   "souk/signaling-join/v2" 0x00 | challenge (32) | peer id (32, the node's public key) | room (UTF-8)
 * and joins with its peer id (lowercase hex) and that signature. Nobody can join as another node.
 */
const TAG = new TextEncoder().encode('souk/signaling-join/v2\0');
export const SIGNALING_CHALLENGE_BYTES = 32;

export function signalingJoinStatement(challenge: Uint8Array, peerId: Uint8Array, room: string): Uint8Array {
  if (challenge.length !== SIGNALING_CHALLENGE_BYTES) throw new RangeError('challenge must be 32 bytes');
  const roomBytes = new TextEncoder().encode(room);
  return new BinaryWriter(TAG.length + 64 + roomBytes.length)
    .fixed(TAG, TAG.length)
    .fixed(challenge, SIGNALING_CHALLENGE_BYTES)
    .fixed(peerId, PUBLIC_KEY_BYTES)
    .fixed(roomBytes, roomBytes.length)
    .finish();
}

export function proveSignalingJoin(node: KeyPair, challenge: Uint8Array, room: string): Uint8Array {
  return sign(signalingJoinStatement(challenge, node.publicKey, room), node.secretKey);
}

/** True when `signature` proves that the holder of `peerId` answered `challenge` for `room`. */
export function checkSignalingJoin(peerId: Uint8Array, challenge: Uint8Array, room: string, signature: Uint8Array): boolean {
  if (peerId.length !== PUBLIC_KEY_BYTES || challenge.length !== SIGNALING_CHALLENGE_BYTES) return false;
  return verify(signature, signalingJoinStatement(challenge, peerId, room), peerId);
}
