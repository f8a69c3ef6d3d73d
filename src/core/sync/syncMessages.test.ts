import { describe, expect, it } from 'vitest';
import { certifyDevice } from '../vault/deviceCertificate';
import { encodeSignedHeads, signHeads } from '../vault/signedHeads';
import { deviceKeys, rootKeys } from '../test/vectors';
import { FrameDecoder } from '../wire/frame';
import { toHex } from '../wire/hex';
import { decodeMessage, encodeMessage, SYNC_FRAME_LIMITS, type SyncMessage } from './syncMessages';

const decodeOne = (bytes: Uint8Array) => {
  const frames = new FrameDecoder(SYNC_FRAME_LIMITS).push(bytes);
  expect(frames).toHaveLength(1);
  return decodeMessage(frames[0]!);
};

describe('sync messages', () => {
  const signed = signHeads(deviceKeys, certifyDevice(rootKeys, deviceKeys.publicKey, 5), 2, ['cc'.repeat(32)]);

  it('hello, ping and want have fixed byte layouts', () => {
    const nodeId = new Uint8Array(32).fill(0x11);
    expect(toHex(encodeMessage({ type: 'hello', nodeId, name: 'Ada' }))).toBe(
      '534b0101' + '00000016' + '11'.repeat(16) + '0003' + '416461' + '00',
    );
    expect(toHex(encodeMessage({ type: 'ping', nonce: 258 }))).toBe('534b0105000000040000' + '0102');
    expect(toHex(encodeMessage({ type: 'bye', reason: 'off' }))).toBe('534b0108' + '00000005' + '0003' + '6f6666');
    expect(toHex(encodeMessage({ type: 'want', vaultId: rootKeys.publicKey, have: ['dd'.repeat(32)] }))).toBe(
      '534b0103' + '00000042' + toHex(rootKeys.publicKey) + '0001' + 'dd'.repeat(32),
    );
  });

  it('changes carry signed heads, a kind byte and length-prefixed changes', () => {
    const bytes = encodeMessage({ type: 'changes', signedHeads: signed, snapshot: true, changes: [new Uint8Array([7, 8])] });
    expect(toHex(bytes.slice(8))).toBe(toHex(encodeSignedHeads(signed)) + '01' + '0001' + '00000002' + '0708');
  });

  it('round-trips every message type', () => {
    const messages: SyncMessage[] = [
      { type: 'hello', nodeId: new Uint8Array(32).fill(3), name: 'Bazaar Ünal', shopVaultId: rootKeys.publicKey },
      { type: 'heads', statements: [signed, signed] },
      { type: 'want', vaultId: rootKeys.publicKey, have: [] },
      { type: 'changes', signedHeads: signed, snapshot: false, changes: [new Uint8Array([1]), new Uint8Array(300)] },
      { type: 'ping', nonce: 0xffffffff },
      { type: 'pong', nonce: 1 },
      { type: 'refusal', reason: 'no vault here' },
      { type: 'bye', reason: 'switched to network night-market' },
    ];
    for (const message of messages) expect(decodeOne(encodeMessage(message))).toEqual(message);
  });

  it('refuses malformed payloads with a clear reason', () => {
    const hello = encodeMessage({ type: 'hello', nodeId: new Uint8Array(32), name: 'x' });
    const truncated = hello.slice(0, hello.length - 1);
    new DataView(truncated.buffer).setUint32(4, truncated.length - 8);
    expect(() => decodeOne(truncated)).toThrow(/truncated shop flag/);
    const badFlag = hello.slice();
    badFlag[badFlag.length - 1] = 2;
    expect(() => decodeOne(badFlag)).toThrow(/shop flag must be 0 or 1/);
    const ping = encodeMessage({ type: 'ping', nonce: 1 });
    const longPing = new Uint8Array([...ping.slice(0, 4), 0, 0, 0, 5, 0, 0, 0, 1, 0]);
    expect(() => decodeOne(longPing)).toThrow(/declares 5 bytes, limit 4/);
    const badUtf8 = encodeMessage({ type: 'refusal', reason: 'ab' });
    badUtf8[badUtf8.length - 1] = 0xff;
    expect(() => decodeOne(badUtf8)).toThrow(/not valid UTF-8/);
  });
});
