import { BinaryReader, BinaryWriter } from '../wire/binary';
import { encodeMessageFrames, type Frame, type FrameLimits, type Lane } from '../wire/frame';
import { fromHex, toHex } from '../wire/hex';
import { WireError } from '../wire/wireError';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES } from '../crypto/ed25519';
import { readDeviceCertificate, writeDeviceCertificate, type DeviceCertificate } from '../vault/deviceCertificate';
import { HEAD_BYTES, MAX_HEADS, readSignedHeads, writeSignedHeads, type SignedHeads } from '../vault/signedHeads';
import { MAX_VAULT_BYTES } from '../vault/vaultLimits';
import { MAX_STATEMENTS } from '../vault/vaultVersion';
import { DEVICE_REVOCATION_BYTES } from '../vault/deviceRevocation';
import { MAX_DEVICE_NAME_BYTES, PAIR_PROOF_BYTES } from '../pairing/devicePairing';
import { chunkCount, MAX_CHUNKS, MAX_CHUNK_LOG2, MAX_PACKAGE_BYTES, MIN_CHUNK_LOG2 } from '../packages/packageManifest';

/**
 * The messages two Souk nodes exchange over a link (protocol version 3). Each message is sent
 * as one or more frames (see wire/frame.ts) on its lane: control messages (hello, proof, heads,
 * ping, pong, refusal, bye) go before vault sync (want, changes). Type bytes, versions, lanes
 * and size limits are listed here; docs/protocol.md specifies every byte.
 */
export const MessageType = {
  hello: 1,
  heads: 2,
  want: 3,
  changes: 4,
  ping: 5,
  pong: 6,
  refusal: 7,
  bye: 8,
  proof: 9,
  private: 10,
  pairRequest: 11,
  pairGrant: 12,
  packageAsk: 13,
  packageHave: 14,
  chunkAsk: 15,
  chunk: 16,
  chunkRefusal: 17,
} as const;

export const PROTOCOL_VERSION = 3;
export const NODE_ID_BYTES = PUBLIC_KEY_BYTES;
export const CHALLENGE_BYTES = 32;
export const MAX_HEADS_PER_FRAME = 64;
export const MAX_CHANGES_PER_FRAME = 4096;
export const MAX_REASON_BYTES = 512;
/** The largest sealed private-catalog sync message (between a shop's own devices). */
export const MAX_PRIVATE_PAYLOAD = 16 * 1024 * 1024;
/** The largest sealed pairing grant (both documents of a shop). */
export const MAX_GRANT_PAYLOAD = 2 * MAX_PRIVATE_PAYLOAD;
/** The largest vault snapshot or change bundle one message may carry. */
export const MAX_CHANGES_PAYLOAD = MAX_VAULT_BYTES + 64 * 1024;

/** The largest chunk a `chunk` message carries (1 MiB, the largest chunk size a manifest allows). */
export const MAX_CHUNK_BYTES = 1 << MAX_CHUNK_LOG2;
/** Why a chunk was not sent: ask later or elsewhere (busy), or this node does not serve that package (notHere). */
export const ChunkRefusalCode = { busy: 1, notHere: 2 } as const;
export type ChunkRefusalCodeValue = (typeof ChunkRefusalCode)[keyof typeof ChunkRefusalCode];

/** Why a request was refused, so the asker knows whether to ask elsewhere or later. */
export const RefusalCode = {
  /** The peer broke a rule (the reason says which). */
  rule: 0,
  /** The request is fine but over this node's budget for the asker now: ask later or elsewhere. */
  busy: 1,
  /** This node does not carry that vault. */
  notHere: 2,
} as const;
export type RefusalCodeValue = (typeof RefusalCode)[keyof typeof RefusalCode];

const limit = (maxPayload: number, lane: Lane) => ({ versions: [PROTOCOL_VERSION], maxPayload, lane });
const SIGNED_HEADS_MAX = 32 + 8 + 2 + MAX_HEADS * HEAD_BYTES + 32 + 32 + 8 + 64 + 64;

export const SYNC_FRAME_LIMITS: FrameLimits = new Map([
  [MessageType.hello, limit(NODE_ID_BYTES + CHALLENGE_BYTES, 'control')],
  [MessageType.proof, limit(SIGNATURE_BYTES + 1 + 200, 'control')],
  [MessageType.heads, limit(2 + MAX_HEADS_PER_FRAME * SIGNED_HEADS_MAX, 'control')],
  [MessageType.want, limit(32 + 2 + MAX_HEADS * HEAD_BYTES, 'sync')],
  [MessageType.changes, limit(1 + MAX_STATEMENTS * SIGNED_HEADS_MAX + 1 + MAX_STATEMENTS * DEVICE_REVOCATION_BYTES + 3 + MAX_CHANGES_PAYLOAD + 4 * MAX_CHANGES_PER_FRAME, 'sync')],
  [MessageType.ping, limit(4, 'control')],
  [MessageType.pong, limit(4, 'control')],
  [MessageType.refusal, limit(1 + 33 + 2 + MAX_REASON_BYTES, 'control')],
  [MessageType.bye, limit(2 + MAX_REASON_BYTES, 'control')],
  [MessageType.private, limit(4 + MAX_PRIVATE_PAYLOAD, 'sync')],
  [MessageType.pairRequest, limit(PAIR_PROOF_BYTES + 2 + MAX_DEVICE_NAME_BYTES, 'control')],
  [MessageType.pairGrant, limit(4 + MAX_GRANT_PAYLOAD, 'sync')],
  [MessageType.packageAsk, limit(32 + 1, 'sync')],
  [MessageType.packageHave, limit(32 + 8 + 1 + MAX_CHUNKS / 8 + 1 + MAX_CHUNKS * 32, 'sync')],
  [MessageType.chunkAsk, limit(32 + 2, 'sync')],
  [MessageType.chunk, limit(32 + 2 + 4 + MAX_CHUNK_BYTES, 'bulk')],
  [MessageType.chunkRefusal, limit(32 + 2 + 1, 'control')],
]);

export type SyncMessage =
  /** First message on a link: who I claim to be, and a fresh challenge for you to sign. */
  | { type: 'hello'; nodeId: Uint8Array; challenge: Uint8Array }
  /** The answer to the other side's challenge, and optionally the shop this node holds a device key of. */
  | { type: 'proof'; signature: Uint8Array; shop?: DeviceCertificate }
  | { type: 'heads'; statements: SignedHeads[] }
  | { type: 'want'; vaultId: Uint8Array; have: string[] }
  /** A vault version: every device's latest statement, and a whole document or the changes since what the asker has. */
  | { type: 'changes'; statements: SignedHeads[]; revocations?: Uint8Array[]; snapshot: boolean; changes: Uint8Array[] }
  | { type: 'ping'; nonce: number }
  | { type: 'pong'; nonce: number }
  | { type: 'refusal'; code: RefusalCodeValue; vaultId?: Uint8Array; reason: string }
  /** The sender is closing this link on purpose (leaving the network, shutting down). */
  | { type: 'bye'; reason: string }
  /** An Automerge sync message for the private catalog, sealed with the shop's catalog key; only between a shop's own devices. */
  | { type: 'private'; sealed: Uint8Array }
  /** A new device asks to join the shop with the pairing code (devicePairing.ts). */
  | { type: 'pairRequest'; proof: Uint8Array; deviceName: string }
  /** The shop's root device answers: the new device's certificate, the catalog key and the shop, sealed with the code. */
  | { type: 'pairGrant'; sealed: Uint8Array }
  /** Which chunks of a package (by root) do you hold? With `hashList`, send the chunks' hashes too. */
  | { type: 'packageAsk'; root: Uint8Array; hashList: boolean }
  /**
   * The package as the sender holds it: its size and chunk size (which the root commits to, so a
   * listing that disagrees can be told from a peer that lies), the chunks it holds (bit i of the
   * bitfield, most significant bit first, is chunk i) and, if asked, its hash list. `size` null:
   * the sender does not serve it.
   */
  | { type: 'packageHave'; root: Uint8Array; size: number | null; chunkSize: number; bitfield: Uint8Array; hashList?: Uint8Array }
  | { type: 'chunkAsk'; root: Uint8Array; index: number }
  /** One chunk of a package, on the bulk lane. */
  | { type: 'chunk'; root: Uint8Array; index: number; bytes: Uint8Array }
  | { type: 'chunkRefusal'; root: Uint8Array; index: number; code: ChunkRefusalCodeValue };

export interface EncodedMessage {
  type: number;
  version: number;
  lane: Lane;
  payload: Uint8Array;
}

/** Cuts text to at most `maxBytes` of UTF-8 without splitting a character. */
export function clipText(text: string, maxBytes: number): string {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= maxBytes) return text;
  let end = maxBytes;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return new TextDecoder().decode(bytes.subarray(0, end));
}

export function encodeMessage(message: SyncMessage): EncodedMessage {
  const w = new BinaryWriter();
  switch (message.type) {
    case 'hello':
      w.fixed(message.nodeId, NODE_ID_BYTES).fixed(message.challenge, CHALLENGE_BYTES);
      break;
    case 'proof':
      w.fixed(message.signature, SIGNATURE_BYTES);
      if (message.shop) {
        w.u8(1);
        writeDeviceCertificate(w, message.shop);
      } else w.u8(0);
      break;
    case 'heads':
      if (message.statements.length > MAX_HEADS_PER_FRAME) throw new RangeError('too many statements for one message');
      w.u16(message.statements.length);
      for (const statement of message.statements) writeSignedHeads(w, statement);
      break;
    case 'want':
      w.fixed(message.vaultId, 32).u16(message.have.length);
      for (const head of message.have) w.fixed(fromHex(head), HEAD_BYTES);
      break;
    case 'changes':
      if (message.statements.length < 1 || message.statements.length > MAX_STATEMENTS) throw new RangeError('a vault version has 1 to 64 statements');
      w.u8(message.statements.length);
      for (const statement of message.statements) writeSignedHeads(w, statement);
      const revocations = message.revocations ?? [];
      if (revocations.length > MAX_STATEMENTS) throw new RangeError('at most 64 revocations');
      w.u8(revocations.length);
      for (const revocation of revocations) w.fixed(revocation, DEVICE_REVOCATION_BYTES);
      w.u8(message.snapshot ? 1 : 0).u16(message.changes.length);
      for (const change of message.changes) w.bytes(change);
      break;
    case 'ping':
    case 'pong':
      w.u32(message.nonce);
      break;
    case 'refusal':
      w.u8(message.code);
      if (message.vaultId) w.u8(1).fixed(message.vaultId, 32);
      else w.u8(0);
      w.text(clipText(message.reason, MAX_REASON_BYTES));
      break;
    case 'bye':
      w.text(clipText(message.reason, MAX_REASON_BYTES));
      break;
    case 'private':
    case 'pairGrant':
      w.bytes(message.sealed);
      break;
    case 'pairRequest':
      w.fixed(message.proof, PAIR_PROOF_BYTES).text(clipText(message.deviceName, MAX_DEVICE_NAME_BYTES));
      break;
    case 'packageAsk':
      w.fixed(message.root, 32).u8(message.hashList ? 1 : 0);
      break;
    case 'packageHave': {
      w.fixed(message.root, 32);
      if (message.size === null) {
        w.u64(0).u8(0);
        break;
      }
      const count = chunkCount(message.size, message.chunkSize);
      if (count > MAX_CHUNKS) throw new RangeError(`at most ${MAX_CHUNKS} chunks`);
      w.u64(message.size).u8(Math.log2(message.chunkSize)).fixed(message.bitfield, Math.ceil(count / 8));
      if (message.hashList) w.u8(1).fixed(message.hashList, count * 32);
      else w.u8(0);
      break;
    }
    case 'chunkAsk':
      w.fixed(message.root, 32).u16(message.index);
      break;
    case 'chunk':
      w.fixed(message.root, 32).u16(message.index).bytes(message.bytes);
      break;
    case 'chunkRefusal':
      w.fixed(message.root, 32).u16(message.index).u8(message.code);
      break;
  }
  const type = MessageType[message.type];
  return { type, version: PROTOCOL_VERSION, lane: SYNC_FRAME_LIMITS.get(type)!.lane, payload: w.finish() };
}

/** The frames that carry a message on a link. */
export function messageFrames(message: SyncMessage): Uint8Array[] {
  const { type, version, payload } = encodeMessage(message);
  return encodeMessageFrames(type, version, payload);
}

function flag(r: BinaryReader, what: string): boolean {
  const value = r.u8(what);
  if (value > 1) throw new WireError('malformed', `${what} must be 0 or 1`);
  return value === 1;
}

function chunkIndex(r: BinaryReader): number {
  const index = r.u16('chunk index');
  if (index >= MAX_CHUNKS) throw new WireError('malformed', `chunk index ${index}, limit ${MAX_CHUNKS - 1}`);
  return index;
}

/** Decodes one reassembled message. Throws WireError; the link is then out of step and closes. */
export function decodeMessage(frame: Frame): SyncMessage {
  const r = new BinaryReader(frame.payload);
  let message: SyncMessage;
  if (frame.version !== PROTOCOL_VERSION) throw new WireError('unsupported-version', `message version ${frame.version}`);
  switch (frame.type) {
    case MessageType.hello:
      message = { type: 'hello', nodeId: r.fixed(NODE_ID_BYTES, 'node id'), challenge: r.fixed(CHALLENGE_BYTES, 'challenge') };
      break;
    case MessageType.proof: {
      const signature = r.fixed(SIGNATURE_BYTES, 'proof signature');
      message = { type: 'proof', signature, ...(flag(r, 'shop flag') ? { shop: readDeviceCertificate(r) } : {}) };
      break;
    }
    case MessageType.heads: {
      const n = r.count(MAX_HEADS_PER_FRAME, 'statements');
      const statements: SignedHeads[] = [];
      for (let i = 0; i < n; i++) statements.push(readSignedHeads(r));
      message = { type: 'heads', statements };
      break;
    }
    case MessageType.want: {
      const vaultId = r.fixed(32, 'vault id');
      const n = r.count(MAX_HEADS, 'have heads');
      const have: string[] = [];
      for (let i = 0; i < n; i++) have.push(toHex(r.fixed(HEAD_BYTES, 'head')));
      message = { type: 'want', vaultId, have };
      break;
    }
    case MessageType.changes: {
      const count = r.u8('statements');
      if (count < 1 || count > MAX_STATEMENTS) throw new WireError('malformed', `a vault version has 1 to ${MAX_STATEMENTS} statements, not ${count}`);
      const statements: SignedHeads[] = [];
      for (let i = 0; i < count; i++) statements.push(readSignedHeads(r));
      const revoked = r.u8('revocations');
      if (revoked > MAX_STATEMENTS) throw new WireError('malformed', `at most ${MAX_STATEMENTS} revocations, not ${revoked}`);
      const revocations: Uint8Array[] = [];
      for (let i = 0; i < revoked; i++) revocations.push(r.fixed(DEVICE_REVOCATION_BYTES, 'revocation'));
      const kind = r.u8('bundle kind');
      if (kind > 1) throw new WireError('malformed', `unknown bundle kind ${kind}`);
      const n = r.count(MAX_CHANGES_PER_FRAME, 'changes');
      const changes: Uint8Array[] = [];
      for (let i = 0; i < n; i++) changes.push(r.bytes(MAX_CHANGES_PAYLOAD, 'change'));
      if (kind === 1 && n !== 1) throw new WireError('malformed', 'a snapshot bundle carries exactly one document');
      message = { type: 'changes', statements, revocations, snapshot: kind === 1, changes };
      break;
    }
    case MessageType.ping:
      message = { type: 'ping', nonce: r.u32('nonce') };
      break;
    case MessageType.pong:
      message = { type: 'pong', nonce: r.u32('nonce') };
      break;
    case MessageType.refusal: {
      const code = r.u8('refusal code');
      if (code > 2) throw new WireError('malformed', `unknown refusal code ${code}`);
      const vaultId = flag(r, 'vault flag') ? r.fixed(32, 'vault id') : undefined;
      message = { type: 'refusal', code: code as RefusalCodeValue, ...(vaultId ? { vaultId } : {}), reason: r.text(MAX_REASON_BYTES, 'reason') };
      break;
    }
    case MessageType.bye:
      message = { type: 'bye', reason: r.text(MAX_REASON_BYTES, 'reason') };
      break;
    case MessageType.private:
      message = { type: 'private', sealed: r.bytes(MAX_PRIVATE_PAYLOAD, 'sealed private sync') };
      break;
    case MessageType.pairRequest:
      message = { type: 'pairRequest', proof: r.fixed(PAIR_PROOF_BYTES, 'pairing proof'), deviceName: r.text(MAX_DEVICE_NAME_BYTES, 'device name') };
      break;
    case MessageType.pairGrant:
      message = { type: 'pairGrant', sealed: r.bytes(MAX_GRANT_PAYLOAD, 'sealed pairing grant') };
      break;
    case MessageType.packageAsk:
      message = { type: 'packageAsk', root: r.fixed(32, 'package root'), hashList: flag(r, 'hash list flag') };
      break;
    case MessageType.packageHave: {
      const root = r.fixed(32, 'package root');
      const size = r.u64('package size');
      const log2 = r.u8('chunk size');
      if (log2 === 0) {
        if (size !== 0) throw new WireError('malformed', 'a package not served has size 0');
        message = { type: 'packageHave', root, size: null, chunkSize: 0, bitfield: new Uint8Array(0) };
        break;
      }
      if (log2 < MIN_CHUNK_LOG2 || log2 > MAX_CHUNK_LOG2) throw new WireError('malformed', `chunk size 2^${log2}`);
      if (size > MAX_PACKAGE_BYTES) throw new WireError('too-large', `a package of ${size} bytes`);
      const count = chunkCount(size, 2 ** log2);
      if (count > MAX_CHUNKS) throw new WireError('too-large', `${count} chunks, limit ${MAX_CHUNKS}`);
      const bitfield = r.fixed(Math.ceil(count / 8), 'bitfield');
      if (count % 8 !== 0 && (bitfield[bitfield.length - 1]! & (0xff >> count % 8)) !== 0) throw new WireError('malformed', 'bitfield has bits set past its last chunk');
      const hashList = flag(r, 'hash list flag') ? r.fixed(count * 32, 'hash list') : undefined;
      message = { type: 'packageHave', root, size, chunkSize: 2 ** log2, bitfield, ...(hashList ? { hashList } : {}) };
      break;
    }
    case MessageType.chunkAsk:
      message = { type: 'chunkAsk', root: r.fixed(32, 'package root'), index: chunkIndex(r) };
      break;
    case MessageType.chunk:
      message = { type: 'chunk', root: r.fixed(32, 'package root'), index: chunkIndex(r), bytes: r.bytes(MAX_CHUNK_BYTES, 'chunk') };
      break;
    case MessageType.chunkRefusal: {
      const root = r.fixed(32, 'package root');
      const index = chunkIndex(r);
      const code = r.u8('chunk refusal code');
      if (code !== ChunkRefusalCode.busy && code !== ChunkRefusalCode.notHere) throw new WireError('malformed', `unknown chunk refusal code ${code}`);
      message = { type: 'chunkRefusal', root, index, code };
      break;
    }
    default:
      throw new WireError('unknown-type', `unknown message type ${frame.type}`);
  }
  r.end(`message type ${frame.type}`);
  return message;
}
