import { MessageType, PROTOCOL_VERSION, decodeMessage, encodeMessage, type SyncMessage } from '../sync/syncMessages';
import { MAX_RADIO_BUNDLE_BYTES } from './radioVaultSource';

/**
 * A radio bundle: a vault version too large for one compact update (several changes, a merge,
 * a catch-up), sent over the radio as fragments. Layout: version 0x01, then exactly the payload
 * of a `changes` message (docs/protocol.md §5: statements, revocations, snapshot flag, changes),
 * so what arrives by radio is judged by the very acceptance WebRTC sync uses. At most
 * MAX_RADIO_BUNDLE_BYTES, checked before parsing.
 */
export const RADIO_BUNDLE_VERSION = 1;

export type ChangesMessage = Extract<SyncMessage, { type: 'changes' }>;

export class RadioBundleError extends Error {
  override name = 'RadioBundleError';
}

export function encodeRadioBundle(message: ChangesMessage): Uint8Array {
  const { payload } = encodeMessage(message);
  if (payload.length + 1 > MAX_RADIO_BUNDLE_BYTES) throw new RadioBundleError(`${payload.length + 1} bytes, over the radio's ${MAX_RADIO_BUNDLE_BYTES}`);
  const out = new Uint8Array(payload.length + 1);
  out[0] = RADIO_BUNDLE_VERSION;
  out.set(payload, 1);
  return out;
}

/** The changes message a bundle carries, or why not. Never throws. */
export function decodeRadioBundle(bytes: Uint8Array): ChangesMessage | { error: string } {
  if (bytes.length > MAX_RADIO_BUNDLE_BYTES) return { error: `radio bundle of ${bytes.length} bytes, over ${MAX_RADIO_BUNDLE_BYTES}` };
  if (bytes.length < 1) return { error: 'empty radio bundle' };
  if (bytes[0] !== RADIO_BUNDLE_VERSION) return { error: `unknown radio bundle version ${bytes[0]}` };
  try {
    const message = decodeMessage({ type: MessageType.changes, version: PROTOCOL_VERSION, payload: bytes.subarray(1) });
    if (message.type !== 'changes') return { error: 'not a vault version' };
    return message;
  } catch (error) {
    return { error: `radio bundle does not decode: ${error instanceof Error ? error.message : String(error)}` };
  }
}
