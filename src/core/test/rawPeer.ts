import { createMemoryLinkPair } from '../link/memoryLink';
import type { SoukNode } from '../node/soukNode';
import { decodeMessage, encodeMessage, SYNC_FRAME_LIMITS, type SyncMessage } from '../sync/syncMessages';
import { FrameDecoder } from '../wire/frame';

/** A hand-driven peer for tests: sends exactly the messages it is told to, records what it gets. */
export class RawPeer {
  readonly received: SyncMessage[] = [];
  closedReason: string | undefined;
  private readonly decoder = new FrameDecoder(SYNC_FRAME_LIMITS);
  private readonly end;

  constructor(node: SoukNode, name = 'raw peer') {
    const [ours, theirs] = createMemoryLinkPair(name, 'victim');
    this.end = ours;
    this.end.start({
      receive: (bytes) => this.received.push(...this.decoder.push(bytes).map(decodeMessage)),
      closed: (reason) => (this.closedReason = reason),
    });
    node.addLink(theirs);
  }

  send(message: SyncMessage): Promise<void> {
    return this.end.send(encodeMessage(message));
  }

  sendBytes(bytes: Uint8Array): Promise<void> {
    return this.end.send(bytes);
  }

  hello(name = 'rogue'): Promise<void> {
    return this.send({ type: 'hello', nodeId: crypto.getRandomValues(new Uint8Array(32)), name });
  }

  async waitFor<T extends SyncMessage['type']>(type: T): Promise<Extract<SyncMessage, { type: T }>> {
    await eventually(() => this.received.some((m) => m.type === type));
    return this.received.find((m) => m.type === type) as Extract<SyncMessage, { type: T }>;
  }
}

/** Polls until `condition` holds, failing after `timeoutMs`. */
export async function eventually(condition: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
