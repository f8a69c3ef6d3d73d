import { BinaryReader, BinaryWriter } from '../wire/binary';
import { encodeFrame, type Frame, type FrameLimits } from '../wire/frame';
import { fromHex, toHex } from '../wire/hex';
import { WireError } from '../wire/wireError';
import { HEAD_BYTES, MAX_HEADS, readSignedHeads, writeSignedHeads, type SignedHeads } from '../vault/signedHeads';

/**
 * The messages two Souk nodes exchange over a link. Each is one frame (see wire/frame.ts):
 * its type byte, version byte and size limit are listed here.
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
} as const;

export const NODE_ID_BYTES = 32;
export const MAX_NAME_BYTES = 128;
export const MAX_HEADS_PER_FRAME = 256;
export const MAX_CHANGES_PER_FRAME = 4096;
export const MAX_REASON_BYTES = 512;
/** The largest vault snapshot or change bundle one frame may carry. */
export const MAX_CHANGES_PAYLOAD = 32 * 1024 * 1024;

export const SYNC_FRAME_LIMITS: FrameLimits = new Map([
  [MessageType.hello, { versions: [1], maxPayload: 1024 }],
  [MessageType.heads, { versions: [1], maxPayload: 256 * 1024 }],
  [MessageType.want, { versions: [1], maxPayload: 64 + MAX_HEADS * HEAD_BYTES }],
  [MessageType.changes, { versions: [1], maxPayload: MAX_CHANGES_PAYLOAD }],
  [MessageType.ping, { versions: [1], maxPayload: 4 }],
  [MessageType.pong, { versions: [1], maxPayload: 4 }],
  [MessageType.refusal, { versions: [1], maxPayload: 1024 }],
  [MessageType.bye, { versions: [1], maxPayload: 1024 }],
]);

export type SyncMessage =
  | { type: 'hello'; nodeId: Uint8Array; name: string; shopVaultId?: Uint8Array }
  | { type: 'heads'; statements: SignedHeads[] }
  | { type: 'want'; vaultId: Uint8Array; have: string[] }
  | { type: 'changes'; signedHeads: SignedHeads; snapshot: boolean; changes: Uint8Array[] }
  | { type: 'ping'; nonce: number }
  | { type: 'pong'; nonce: number }
  | { type: 'refusal'; reason: string }
  /** The sender is closing this link on purpose (leaving the network, shutting down). */
  | { type: 'bye'; reason: string };

export function encodeMessage(message: SyncMessage): Uint8Array {
  const w = new BinaryWriter();
  switch (message.type) {
    case 'hello':
      w.fixed(message.nodeId, NODE_ID_BYTES).text(message.name);
      if (message.shopVaultId) w.u8(1).fixed(message.shopVaultId, 32);
      else w.u8(0);
      break;
    case 'heads':
      if (message.statements.length > MAX_HEADS_PER_FRAME) throw new RangeError('too many statements for one frame');
      w.u16(message.statements.length);
      for (const statement of message.statements) writeSignedHeads(w, statement);
      break;
    case 'want':
      w.fixed(message.vaultId, 32).u16(message.have.length);
      for (const head of message.have) w.fixed(fromHex(head), HEAD_BYTES);
      break;
    case 'changes':
      writeSignedHeads(w, message.signedHeads);
      w.u8(message.snapshot ? 1 : 0).u16(message.changes.length);
      for (const change of message.changes) w.bytes(change);
      break;
    case 'ping':
    case 'pong':
      w.u32(message.nonce);
      break;
    case 'refusal':
    case 'bye':
      w.text(message.reason.slice(0, MAX_REASON_BYTES / 4));
      break;
  }
  return encodeFrame(MessageType[message.type], 1, w.finish());
}

export function decodeMessage(frame: Frame): SyncMessage {
  const r = new BinaryReader(frame.payload);
  let message: SyncMessage;
  switch (frame.type) {
    case MessageType.hello: {
      const nodeId = r.fixed(NODE_ID_BYTES, 'node id');
      const name = r.text(MAX_NAME_BYTES, 'name');
      const hasShop = r.u8('shop flag');
      if (hasShop > 1) throw new WireError('malformed', 'shop flag must be 0 or 1');
      message = { type: 'hello', nodeId, name, ...(hasShop ? { shopVaultId: r.fixed(32, 'shop vault id') } : {}) };
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
      const signedHeads = readSignedHeads(r);
      const kind = r.u8('bundle kind');
      if (kind > 1) throw new WireError('malformed', `unknown bundle kind ${kind}`);
      const n = r.count(MAX_CHANGES_PER_FRAME, 'changes');
      const changes: Uint8Array[] = [];
      for (let i = 0; i < n; i++) changes.push(r.bytes(MAX_CHANGES_PAYLOAD, 'change'));
      message = { type: 'changes', signedHeads, snapshot: kind === 1, changes };
      break;
    }
    case MessageType.ping:
      message = { type: 'ping', nonce: r.u32('nonce') };
      break;
    case MessageType.pong:
      message = { type: 'pong', nonce: r.u32('nonce') };
      break;
    case MessageType.refusal:
      message = { type: 'refusal', reason: r.text(MAX_REASON_BYTES, 'reason') };
      break;
    case MessageType.bye:
      message = { type: 'bye', reason: r.text(MAX_REASON_BYTES, 'reason') };
      break;
    default:
      throw new WireError('unknown-type', `unknown message type ${frame.type}`);
  }
  r.end(`message type ${frame.type}`);
  return message;
}
