/**
 * Messages between a browser node and the signaling server: JSON text frames, each with a
 * version and a type, at most MAX_SIGNAL_MESSAGE_BYTES long (checked before parsing). The server
 * only introduces peers and relays their connection set-up; it stores nothing.
 */
export const SIGNALING_VERSION = 1;
export const SIGNALING_PATH = '/signal';
export const MAX_SIGNAL_MESSAGE_BYTES = 16 * 1024;
export const ROOM_NAME = /^[\w.-]{1,64}$/;
export const PEER_ID = /^[0-9a-f]{32}$/;

export type ClientMessage =
  | { v: 1; type: 'join'; room: string; peerId: string }
  | { v: 1; type: 'signal'; to: string; data: unknown }
  | { v: 1; type: 'leave' };

export type ServerMessage =
  | { v: 1; type: 'joined'; room: string; peers: string[] }
  | { v: 1; type: 'peer-joined'; peerId: string }
  | { v: 1; type: 'peer-left'; peerId: string }
  | { v: 1; type: 'signal'; from: string; data: unknown }
  | { v: 1; type: 'error'; code: SignalingErrorCode; message: string };

export type SignalingErrorCode = 'too-large' | 'malformed' | 'rate-limited' | 'not-joined' | 'no-such-peer' | 'room-full' | 'replaced';

/** Parses a client frame, or says what is wrong with it. */
export function parseClientMessage(text: string): ClientMessage | { error: string } {
  if (text.length > MAX_SIGNAL_MESSAGE_BYTES) return { error: `message is over ${MAX_SIGNAL_MESSAGE_BYTES} bytes` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { error: 'message is not JSON' };
  }
  if (typeof value !== 'object' || value === null) return { error: 'message is not an object' };
  const message = value as Record<string, unknown>;
  if (message.v !== SIGNALING_VERSION) return { error: `unsupported version ${String(message.v)}; this server speaks ${SIGNALING_VERSION}` };
  switch (message.type) {
    case 'join':
      if (typeof message.room !== 'string' || !ROOM_NAME.test(message.room)) return { error: 'room must be 1-64 letters, digits, dots, dashes or underscores' };
      if (typeof message.peerId !== 'string' || !PEER_ID.test(message.peerId)) return { error: 'peerId must be 32 lowercase hex digits' };
      return { v: 1, type: 'join', room: message.room, peerId: message.peerId };
    case 'signal':
      if (typeof message.to !== 'string' || !PEER_ID.test(message.to)) return { error: 'signal needs a peer id in "to"' };
      if (message.data === undefined) return { error: 'signal needs data' };
      return { v: 1, type: 'signal', to: message.to, data: message.data };
    case 'leave':
      return { v: 1, type: 'leave' };
    default:
      return { error: `unknown message type ${String(message.type)}` };
  }
}
