import { describe, expect, it } from 'vitest';
import { certifyDevice } from '../vault/deviceCertificate';
import { encodeSignedHeads, signHeads } from '../vault/signedHeads';
import { deviceKeys, rootKeys } from '../test/vectors';
import { FrameDecoder } from '../wire/frame';
import { concatBytes, toHex } from '../wire/hex';
import { WireError } from '../wire/wireError';
import { decodeMessage, messageFrames, SYNC_FRAME_LIMITS, type SyncMessage } from './syncMessages';

const join = (frames: Uint8Array[]) => concatBytes(...frames);
const bytesOf = (message: SyncMessage) => join(messageFrames(message));
const decodeOne = (bytes: Uint8Array) => {
  const frames = new FrameDecoder(SYNC_FRAME_LIMITS).push(bytes);
  expect(frames).toHaveLength(1);
  return decodeMessage(frames[0]!);
};

describe('sync messages (protocol version 3)', () => {
  const signed = signHeads(deviceKeys, certifyDevice(rootKeys, deviceKeys.publicKey, 5), 2, ['cc'.repeat(32)]);

  it('hello, proof, ping, bye, refusal and want have fixed byte layouts', () => {
    const nodeId = new Uint8Array(32).fill(0x11);
    const challenge = new Uint8Array(32).fill(0x22);
    // 'SK' | version 3 | type | flags 0 | u24 length | payload
    expect(toHex(bytesOf({ type: 'hello', nodeId, challenge }))).toBe('534b' + '03' + '01' + '00' + '000040' + '11'.repeat(32) + '22'.repeat(32));
    expect(toHex(bytesOf({ type: 'proof', signature: new Uint8Array(64).fill(0x33) }))).toBe('534b0309' + '00' + '000041' + '33'.repeat(64) + '00');
    const certificate = certifyDevice(rootKeys, deviceKeys.publicKey, 5);
    expect(toHex(bytesOf({ type: 'proof', signature: new Uint8Array(64).fill(0x33), shop: certificate }))).toBe(
      '534b0309' + '00' + '0000c9' + '33'.repeat(64) + '01' + toHex(rootKeys.publicKey) + toHex(deviceKeys.publicKey) + '0000000000000005' + toHex(certificate.signature),
    );
    expect(toHex(bytesOf({ type: 'ping', nonce: 258 }))).toBe('534b0305' + '00' + '000004' + '00000102');
    expect(toHex(bytesOf({ type: 'bye', reason: 'off' }))).toBe('534b0308' + '00' + '000005' + '0003' + '6f6666');
    expect(toHex(bytesOf({ type: 'refusal', code: 1, vaultId: rootKeys.publicKey, reason: 'busy' }))).toBe(
      '534b0307' + '00' + '000028' + '01' + '01' + toHex(rootKeys.publicKey) + '0004' + '62757379',
    );
    expect(toHex(bytesOf({ type: 'want', vaultId: rootKeys.publicKey, have: ['dd'.repeat(32)] }))).toBe(
      '534b0303' + '00' + '000042' + toHex(rootKeys.publicKey) + '0001' + 'dd'.repeat(32),
    );
  });

  it('changes carry a count of device statements, the statements, a count of revocations and them, a kind byte and length-prefixed changes', () => {
    const bytes = bytesOf({ type: 'changes', statements: [signed], revocations: [], snapshot: true, changes: [new Uint8Array([7, 8])] });
    expect(toHex(bytes.slice(8))).toBe('01' + toHex(encodeSignedHeads(signed)) + '00' + '01' + '0001' + '00000002' + '0708');
  });

  it('a large bundle is cut into 64 KiB frames and reassembled', () => {
    const big = new Uint8Array(200_000).map((_, i) => i & 0xff);
    const frames = messageFrames({ type: 'changes', statements: [signed], revocations: [], snapshot: true, changes: [big] });
    expect(frames.length).toBe(4);
    for (const frame of frames) expect(frame.length).toBeLessThanOrEqual(8 + 65536);
    const [message] = new FrameDecoder(SYNC_FRAME_LIMITS).push(join(frames)).map(decodeMessage);
    expect(message).toEqual({ type: 'changes', statements: [signed], revocations: [], snapshot: true, changes: [big] });
  });

  it('round-trips every message type', () => {
    const messages: SyncMessage[] = [
      { type: 'hello', nodeId: new Uint8Array(32).fill(3), challenge: new Uint8Array(32).fill(4) },
      { type: 'proof', signature: new Uint8Array(64).fill(5), shop: certifyDevice(rootKeys, deviceKeys.publicKey, 9) },
      { type: 'proof', signature: new Uint8Array(64).fill(6) },
      { type: 'heads', statements: [signed, signed] },
      { type: 'want', vaultId: rootKeys.publicKey, have: [] },
      { type: 'changes', statements: [signed], revocations: [], snapshot: false, changes: [new Uint8Array([1]), new Uint8Array(300)] },
      { type: 'ping', nonce: 0xffffffff },
      { type: 'pong', nonce: 1 },
      { type: 'refusal', code: 2, reason: 'no vault here' },
      { type: 'refusal', code: 1, vaultId: rootKeys.publicKey, reason: 'busy' },
      { type: 'bye', reason: 'switched to network night-market' },
    ];
    for (const message of messages) expect(decodeOne(bytesOf(message))).toEqual(message);
  });

  it('refuses malformed payloads with a clear reason', () => {
    const proof = bytesOf({ type: 'proof', signature: new Uint8Array(64) });
    const truncated = proof.slice(0, proof.length - 1);
    truncated[7] = truncated.length - 8;
    expect(() => decodeOne(truncated)).toThrow(/truncated shop flag/);
    const badFlag = proof.slice();
    badFlag[badFlag.length - 1] = 2;
    expect(() => decodeOne(badFlag)).toThrow(/shop flag must be 0 or 1/);
    const ping = bytesOf({ type: 'ping', nonce: 1 });
    const longPing = new Uint8Array([...ping.slice(0, 5), 0, 0, 5, 0, 0, 0, 1, 0]);
    expect(() => decodeOne(longPing)).toThrow(WireError);
    const badUtf8 = bytesOf({ type: 'refusal', code: 0, reason: 'ab' });
    badUtf8[badUtf8.length - 1] = 0xff;
    expect(() => decodeOne(badUtf8)).toThrow(/not valid UTF-8/);
    const snapshotOfTwo = bytesOf({ type: 'changes', statements: [signed], revocations: [], snapshot: false, changes: [new Uint8Array(1), new Uint8Array(1)] });
    const offset = 8 + 1 + encodeSignedHeads(signed).length + 1;
    snapshotOfTwo[offset] = 1;
    expect(() => decodeOne(snapshotOfTwo)).toThrow(/exactly one document/);
    const oldVersion = bytesOf({ type: 'ping', nonce: 1 });
    oldVersion[2] = 1;
    expect(() => decodeOne(oldVersion)).toThrow(/version 1 is not supported/);
  });
});
