import { describe, expect, it } from 'vitest';
import { createMemoryLinkPair } from '../link/memoryLink';
import { SoukNode } from '../node/soukNode';
import { MemoryStorage } from '../storage/memoryStorage';
import { ManualClock } from '../test/manualClock';
import { eventually } from '../test/rawPeer';
import { FrameDecoder } from '../wire/frame';
import { decodeMessage, encodeMessage, SYNC_FRAME_LIMITS, type SyncMessage } from './syncMessages';
import { PING_EVERY_MS, SILENT_PEER_MS } from './syncSession';

describe('heartbeats', () => {
  it('pings a quiet peer and drops one that has vanished, with a reason', async () => {
    const time = new ManualClock();
    const node = await SoukNode.open({ storage: new MemoryStorage(), clock: time });
    const [ours, theirs] = createMemoryLinkPair('peer', 'node');
    const got: SyncMessage[] = [];
    let closed: string | undefined;
    const decoder = new FrameDecoder(SYNC_FRAME_LIMITS);
    ours.start({ receive: (bytes) => got.push(...decoder.push(bytes).map(decodeMessage)), closed: (reason) => (closed = reason) });
    node.addLink(theirs);
    await ours.send(encodeMessage({ type: 'hello', nodeId: new Uint8Array(32).fill(1), name: 'quiet' }));
    await eventually(() => node.view().peers.length === 1);

    time.advance(PING_EVERY_MS);
    await eventually(() => got.some((m) => m.type === 'ping'));
    // The peer answers once, then says nothing more.
    await ours.send(encodeMessage({ type: 'pong', nonce: 1 }));
    await new Promise((resolve) => setTimeout(resolve, 10));
    time.advance(SILENT_PEER_MS + PING_EVERY_MS);
    await eventually(() => closed !== undefined);
    expect(closed).toMatch(/peer silent for 35 s/);
    expect(node.view().peers).toEqual([]);
    node.close();
  });
});
