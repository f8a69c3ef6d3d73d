import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, toHex } from '../wire/hex';

/**
 * An 8-byte id derived from what it stands for: the first 8 bytes of SHA-256(tag | parts), as 16
 * hex digits. The same parts give the same id on every device, so a step written twice (a retry,
 * two devices of a shop while apart) lands on one key: trade slots (tradeEvent.ts `slotId`), a
 * reservation's stock move and the undo of a move (catalog/stockMoves.ts).
 */
export function taggedId(tag: Uint8Array, ...parts: Uint8Array[]): string {
  return toHex(sha256(concatBytes(tag, ...parts)).subarray(0, 8));
}
