import { generateKeyPair, type KeyPair } from '../crypto/ed25519';
import { createMemoryLinkPair, type MemoryLink } from '../link/memoryLink';
import type { SoukNode } from '../node/soukNode';
import { proveLink } from '../sync/linkProof';
import { decodeMessage, messageFrames, SYNC_FRAME_LIMITS, type SyncMessage } from '../sync/syncMessages';
import type { DeviceCertificate } from '../vault/deviceCertificate';
import { FrameDecoder } from '../wire/frame';
import { toHex } from '../wire/hex';

/**
 * A hand-driven peer for tests and attacks: sends exactly the messages it is told to, records
 * what it gets. It holds a node key of its own (or one it is given) and can prove it, or not.
 */
export class RawPeer {
  readonly received: SyncMessage[] = [];
  closedReason: string | undefined;
  readonly keys: KeyPair;
  readonly challenge = crypto.getRandomValues(new Uint8Array(32));
  private readonly decoder = new FrameDecoder(SYNC_FRAME_LIMITS);
  readonly end: MemoryLink;

  constructor(
    private readonly node: SoukNode,
    name = 'raw peer',
    keys: KeyPair = generateKeyPair(),
  ) {
    this.keys = keys;
    const [ours, theirs] = createMemoryLinkPair(name, 'victim');
    this.end = ours;
    this.end.start({
      receive: (bytes) => {
        try {
          this.received.push(...this.decoder.push(bytes).map(decodeMessage));
        } catch {
          // A test peer records what it can read.
        }
      },
      closed: (reason) => (this.closedReason = reason),
    });
    node.addLink(theirs);
  }

  get id(): string {
    return toHex(this.keys.publicKey);
  }

  /** Waits for the node to ask for a vault, then answers with `bundle` (whatever it is). */
  async answerWant(bundle: Omit<Extract<SyncMessage, { type: 'changes' }>, 'type'>): Promise<void> {
    const seen = this.received.filter((m) => m.type === 'want').length;
    await eventually(() => this.received.filter((m) => m.type === 'want').length > seen, 10_000, 'a want');
    await this.send({ type: 'changes', ...bundle });
  }

  async send(message: SyncMessage): Promise<void> {
    for (const frame of messageFrames(message)) await this.end.send(frame);
  }

  sendBytes(bytes: Uint8Array): Promise<void> {
    return this.end.send(bytes);
  }

  /** Says hello with this peer's key and answers the node's challenge; optionally claims a shop. */
  async hello(shop?: DeviceCertificate): Promise<void> {
    await this.send({ type: 'hello', nodeId: this.keys.publicKey, challenge: this.challenge });
    const theirs = await this.waitFor('hello');
    await this.send({ type: 'proof', signature: proveLink(this.keys, theirs.challenge, theirs.nodeId), ...(shop ? { shop } : {}) });
    await eventually(() => this.node.view().peers.some((p) => p.nodeId === this.id) || this.closedReason !== undefined);
  }

  async waitFor<T extends SyncMessage['type']>(type: T, timeoutMs = 10_000): Promise<Extract<SyncMessage, { type: T }>> {
    await eventually(() => this.received.some((m) => m.type === type), timeoutMs, `a ${type} message`);
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
