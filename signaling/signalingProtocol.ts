/**
 * Messages between a browser node and the signaling server, protocol version 2: JSON text
 * frames, each with a version and a type. The server only introduces peers and relays their
 * connection set-up; it stores nothing.
 *
 * Every frame from a client is at most MAX_SIGNAL_MESSAGE_BYTES long and nested at most
 * MAX_JSON_DEPTH deep; both are checked on the raw text BEFORE it is parsed. A peer id is the
 * node's Ed25519 public key in lowercase hex, and a join is proven: the server sends a fresh
 * challenge on every connection and the node signs `signalingJoinStatement(challenge, peerId,
 * room)` (src/core/mesh/signalingJoin.ts). Relayed set-up data is an opaque string the server
 * never parses.
 *
 *   server → client  {"v":2,"type":"challenge","nonce":"<64 hex>"}              once, on connection
 *   client → server  {"v":2,"type":"join","room":"<name>","peerId":"<64 hex>","signature":"<128 hex>"}
 *   server → client  {"v":2,"type":"joined","room":"<name>","peers":["<64 hex>", …]}   a random sample of the room, ≤ 64
 *   server → client  {"v":2,"type":"peer-joined","peerId":"<64 hex>"} / {"v":2,"type":"peer-left",…}
 *   client → server  {"v":2,"type":"sample"}
 *   server → client  {"v":2,"type":"peers","peers":["<64 hex>", …]}             a fresh random sample, ≤ 64
 *   client → server  {"v":2,"type":"signal","to":"<64 hex>","data":"<string, ≤ 12 KiB>"}
 *   server → client  {"v":2,"type":"signal","from":"<64 hex>","data":"<that string>"}
 *   client → server  {"v":2,"type":"leave"}
 *   server → client  {"v":2,"type":"error","code":"<SignalingErrorCode>","message":"<text>"}
 *
 * A room has no size limit of its own (only the server's connection cap), so nobody can fill it
 * to lock others out; instead what a member is told is bounded: a sample of at most 64 peers on
 * joining or asking, and a join is announced to at most 32 random members (docs/protocol.md §2).
 */
export const SIGNALING_VERSION = 2;
export const SIGNALING_PATH = '/signal';
/** Longest frame a client may send (UTF-8 bytes). */
export const MAX_SIGNAL_MESSAGE_BYTES = 16 * 1024;
/** Longest relayed `data` string (UTF-8 bytes). */
export const MAX_SIGNAL_DATA_BYTES = 12 * 1024;
/** Longest frame a client accepts from the server: a sample of 64 peer ids is ~4.4 KB. */
export const MAX_SERVER_MESSAGE_BYTES = 64 * 1024;
/** Deepest nesting of arrays and objects accepted in any JSON text, in either direction. */
export const MAX_JSON_DEPTH = 8;
export const ROOM_NAME = /^[\w.-]{1,64}$/;
export const PEER_ID = /^[0-9a-f]{64}$/;
export const NONCE = /^[0-9a-f]{64}$/;
export const SIGNATURE = /^[0-9a-f]{128}$/;

export type ClientMessage =
  | { v: 2; type: 'join'; room: string; peerId: string; signature: string }
  | { v: 2; type: 'signal'; to: string; data: string }
  | { v: 2; type: 'sample' }
  | { v: 2; type: 'leave' };

export type ServerMessage =
  | { v: 2; type: 'challenge'; nonce: string }
  | { v: 2; type: 'joined'; room: string; peers: string[] }
  | { v: 2; type: 'peer-joined'; peerId: string }
  | { v: 2; type: 'peer-left'; peerId: string }
  | { v: 2; type: 'peers'; peers: string[] }
  | { v: 2; type: 'signal'; from: string; data: string }
  | { v: 2; type: 'error'; code: SignalingErrorCode; message: string };

export type SignalingErrorCode =
  | 'too-large'
  | 'malformed'
  | 'unsupported-version'
  | 'rate-limited'
  | 'not-joined'
  | 'no-such-peer'
  | 'too-many-from-address'
  | 'too-many-rooms'
  | 'bad-proof'
  | 'replaced';

/** WebSocket close codes the server uses. */
export const CLOSE_CODES = {
  /** Too many refused messages (strikes), or a join not made in time. */
  policy: 1008,
  /** A frame over MAX_SIGNAL_MESSAGE_BYTES (sent by `ws` itself). */
  tooLarge: 1009,
  /** The server failed handling this connection's message; the connection is closed, nothing else. */
  internalError: 1011,
  /** Too many connections from this address, or on the whole server: try again later. */
  tryAgainLater: 1013,
  /** Another proven connection of the same node took this one's place in its room. */
  replaced: 4000,
} as const;

/**
 * True when `text`, read as JSON, never nests arrays and objects deeper than `maxDepth`. It only
 * counts brackets outside strings (minding backslash escapes) and does not validate anything
 * else (beyond refusing a closing bracket that closes nothing), so it is safe to run on any text
 * before JSON.parse.
 */
export function jsonDepthWithin(text: string, maxDepth: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > maxDepth) return false;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      // A closing bracket with nothing open is never JSON; refusing it keeps the count honest.
      if (--depth < 0) return false;
    }
  }
  return true;
}

/** UTF-8 length of a string without encoding it (a lone surrogate counts as the 3 bytes of U+FFFD). */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/**
 * Parses untrusted JSON text: the size and the nesting depth are checked on the text first,
 * and JSON.parse runs inside try/catch. Never throws.
 */
export function parseJsonSafely(text: string, maxBytes: number, maxDepth: number = MAX_JSON_DEPTH): { value: unknown } | { error: string } {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: skip counting when the text is clearly short enough.
  if (text.length > maxBytes || (text.length * 3 > maxBytes && utf8Length(text) > maxBytes)) return { error: `message is over ${maxBytes} bytes` };
  if (!jsonDepthWithin(text, maxDepth)) return { error: `message is nested deeper than ${maxDepth} levels` };
  try {
    return { value: JSON.parse(text) as unknown };
  } catch {
    return { error: 'message is not JSON' };
  }
}

export type ParseError = { error: string; code: SignalingErrorCode };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses a client frame, or says what is wrong with it. The result holds only fields that were
 * checked (strings matching their pattern); error texts never echo what the client sent.
 */
export function parseClientMessage(text: string): ClientMessage | ParseError {
  const parsed = parseJsonSafely(text, MAX_SIGNAL_MESSAGE_BYTES);
  if ('error' in parsed) return { error: parsed.error, code: parsed.error.startsWith('message is over') ? 'too-large' : 'malformed' };
  if (!isRecord(parsed.value)) return { error: 'message is not a JSON object', code: 'malformed' };
  const message = parsed.value;
  if (message.v !== SIGNALING_VERSION) {
    const said = typeof message.v === 'number' && Number.isSafeInteger(message.v) ? ` ${message.v}` : '';
    return {
      error: `unsupported version${said}: this server speaks signaling protocol version ${SIGNALING_VERSION}; reload the app`,
      code: 'unsupported-version',
    };
  }
  switch (message.type) {
    case 'join':
      if (typeof message.room !== 'string' || !ROOM_NAME.test(message.room)) {
        return { error: 'room must be 1-64 letters, digits, dots, dashes or underscores', code: 'malformed' };
      }
      if (typeof message.peerId !== 'string' || !PEER_ID.test(message.peerId)) {
        return { error: 'peerId must be 64 lowercase hex digits (the node public key)', code: 'malformed' };
      }
      if (typeof message.signature !== 'string' || !SIGNATURE.test(message.signature)) {
        return { error: 'signature must be 128 lowercase hex digits', code: 'malformed' };
      }
      return { v: 2, type: 'join', room: message.room, peerId: message.peerId, signature: message.signature };
    case 'signal':
      if (typeof message.to !== 'string' || !PEER_ID.test(message.to)) return { error: 'signal needs a peer id (64 lowercase hex) in "to"', code: 'malformed' };
      if (typeof message.data !== 'string') return { error: 'signal data must be a string', code: 'malformed' };
      if (utf8Length(message.data) > MAX_SIGNAL_DATA_BYTES) return { error: `signal data is over ${MAX_SIGNAL_DATA_BYTES} bytes`, code: 'too-large' };
      return { v: 2, type: 'signal', to: message.to, data: message.data };
    case 'sample':
      return { v: 2, type: 'sample' };
    case 'leave':
      return { v: 2, type: 'leave' };
    default:
      return { error: 'unknown message type', code: 'malformed' };
  }
}

/**
 * Parses a server frame on the client, or returns undefined for anything that is not a
 * well-formed version 2 message (size and depth checked first; never throws).
 */
export function parseServerMessage(text: string): ServerMessage | undefined {
  const parsed = parseJsonSafely(text, MAX_SERVER_MESSAGE_BYTES);
  if ('error' in parsed || !isRecord(parsed.value)) return undefined;
  const message = parsed.value;
  if (message.v !== SIGNALING_VERSION) return undefined;
  const id = (value: unknown): value is string => typeof value === 'string' && PEER_ID.test(value);
  switch (message.type) {
    case 'challenge':
      return typeof message.nonce === 'string' && NONCE.test(message.nonce) ? { v: 2, type: 'challenge', nonce: message.nonce } : undefined;
    case 'joined':
      if (typeof message.room !== 'string' || !ROOM_NAME.test(message.room) || !Array.isArray(message.peers) || !message.peers.every(id)) return undefined;
      return { v: 2, type: 'joined', room: message.room, peers: [...message.peers] };
    case 'peers':
      if (!Array.isArray(message.peers) || !message.peers.every(id)) return undefined;
      return { v: 2, type: 'peers', peers: [...message.peers] };
    case 'peer-joined':
    case 'peer-left':
      return id(message.peerId) ? { v: 2, type: message.type, peerId: message.peerId } : undefined;
    case 'signal':
      if (!id(message.from) || typeof message.data !== 'string' || utf8Length(message.data) > MAX_SIGNAL_DATA_BYTES) return undefined;
      return { v: 2, type: 'signal', from: message.from, data: message.data };
    case 'error':
      if (typeof message.code !== 'string' || typeof message.message !== 'string') return undefined;
      return { v: 2, type: 'error', code: message.code as SignalingErrorCode, message: message.message.slice(0, 500) };
    default:
      return undefined;
  }
}
