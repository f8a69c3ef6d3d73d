import { describe, expect, it } from 'vitest';
import { generateKeyPair } from '../crypto/ed25519';
import { createMemoryLinkPair } from '../link/memoryLink';
import { SoukNode } from '../node/soukNode';
import { MemoryStorage } from '../storage/memoryStorage';
import { ManualClock } from '../test/manualClock';
import { eventually } from '../test/rawPeer';
import { FrameDecoder } from '../wire/frame';
import { proveLink } from './linkProof';
import { decodeMessage, messageFrames, SYNC_FRAME_LIMITS, type SyncMessage } from './syncMessages';
import { PING_EVERY_MS, PROOF_TIMEOUT_MS, SILENT_PEER_MS } from './syncSession';

async function rawLink(node: SoukNode) {
  const [ours, theirs] = createMemoryLinkPair('peer', 'node');
  const got: SyncMessage[] = [];
  const state: { closed?: string } = {};
  const decoder = new FrameDecoder(SYNC_FRAME_LIMITS);
  ours.start({ receive: (bytes) => got.push(...decoder.push(bytes).map(decodeMessage)), closed: (reason) => (state.closed = reason) });
  node.addLink(theirs);
  const send = async (message: SyncMessage) => {
    for (const frame of messageFrames(message)) await ours.send(frame);
  };
  return { got, state, send };
}

describe('heartbeats', () => {
  it('pings a quiet peer and drops one that has vanished, with a reason', async () => {
    const time = new ManualClock();
    const node = await SoukNode.open({ storage: new MemoryStorage(), clock: time });
    const { got, state, send } = await rawLink(node);
    const keys = generateKeyPair();
    await send({ type: 'hello', nodeId: keys.publicKey, challenge: new Uint8Array(32) });
    await eventually(() => got.some((m) => m.type === 'hello'));
    const theirs = got.find((m) => m.type === 'hello') as Extract<SyncMessage, { type: 'hello' }>;
    await send({ type: 'proof', signature: proveLink(keys, theirs.challenge, theirs.nodeId) });
    await eventually(() => node.view().peers.length === 1);

    time.advance(PING_EVERY_MS);
    await eventually(() => got.some((m) => m.type === 'ping'));
    // The peer answers once, then says nothing more.
    await send({ type: 'pong', nonce: 1 });
    await new Promise((resolve) => setTimeout(resolve, 10));
    time.advance(SILENT_PEER_MS + PING_EVERY_MS);
    await eventually(() => state.closed !== undefined);
    expect(state.closed).toMatch(/peer silent for 20 s/);
    expect(node.view().peers).toEqual([]);
    node.close();
  });

  it('drops a link whose peer never proves its identity, and never lists it as a peer', async () => {
    const time = new ManualClock();
    const node = await SoukNode.open({ storage: new MemoryStorage(), clock: time });
    const { state, send } = await rawLink(node);
    // A hello claiming this node's neighbour's id, with no proof.
    await send({ type: 'hello', nodeId: generateKeyPair().publicKey, challenge: new Uint8Array(32) });
    time.advance(PROOF_TIMEOUT_MS - 1000);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(node.view().peers).toEqual([]);
    expect(state.closed).toBeUndefined();
    time.advance(PING_EVERY_MS);
    await eventually(() => state.closed !== undefined);
    expect(state.closed).toMatch(/did not prove its identity in time/);
    node.close();
  });

  it('closes a link that sends anything but hello and proof before proving itself', async () => {
    const node = await SoukNode.open({ storage: new MemoryStorage() });
    const { state, send } = await rawLink(node);
    await send({ type: 'hello', nodeId: generateKeyPair().publicKey, challenge: new Uint8Array(32) });
    await send({ type: 'want', vaultId: new Uint8Array(32), have: [] });
    await eventually(() => state.closed !== undefined);
    expect(state.closed).toMatch(/want before the peer proved its identity/);
    expect(node.view().peers).toEqual([]);
    node.close();
  });
});

describe('the id a link was dialed for', () => {
  it('a peer that claims a different key from the one it was dialed as is dropped before it gets a proof', async () => {
    const node = await SoukNode.open({ storage: new MemoryStorage() });
    const [ours, theirs] = createMemoryLinkPair('peer', 'node');
    const got: SyncMessage[] = [];
    let closed: string | undefined;
    const decoder = new FrameDecoder(SYNC_FRAME_LIMITS);
    ours.start({ receive: (bytes) => got.push(...decoder.push(bytes).map(decodeMessage)), closed: (reason) => (closed = reason) });
    const dialed = generateKeyPair();
    node.addLink(theirs, Buffer.from(dialed.publicKey).toString('hex'));
    const other = generateKeyPair();
    for (const frame of messageFrames({ type: 'hello', nodeId: other.publicKey, challenge: new Uint8Array(32) })) await ours.send(frame);
    await eventually(() => closed !== undefined);
    expect(closed).toMatch(/different id from the one it was dialed as/);
    // It never lent its proof to the impostor (who could relay it to a third node).
    expect(got.some((m) => m.type === 'proof')).toBe(false);
    expect(node.view().peers).toEqual([]);
    node.close();
  });
});
