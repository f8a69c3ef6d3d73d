import type { Clock } from '../clock';
import type { Link } from '../link/link';
import { FrameDecoder } from '../wire/frame';
import { toHex } from '../wire/hex';
import { WireError } from '../wire/wireError';
import type { SignedHeads } from '../vault/signedHeads';
import {
  decodeMessage,
  encodeMessage,
  MAX_HEADS_PER_FRAME,
  SYNC_FRAME_LIMITS,
  type SyncMessage,
} from './syncMessages';

export const PING_EVERY_MS = 10_000;
export const SILENT_PEER_MS = 35_000;

/** What a session needs from the node it belongs to. */
export interface SyncHost {
  readonly clock: Clock;
  hello(): { nodeId: Uint8Array; name: string; shopVaultId?: Uint8Array };
  allSignedHeads(): SignedHeads[];
  sessionReady(session: SyncSession): void;
  receiveHeads(session: SyncSession, statement: SignedHeads): void;
  receiveWant(session: SyncSession, vaultId: Uint8Array, have: string[]): void;
  receiveChanges(session: SyncSession, message: Extract<SyncMessage, { type: 'changes' }>): Promise<void>;
  /** The peer broke the protocol; the host counts it against the peer. */
  offence(session: SyncSession, reason: string): void;
  /** The peer told us it refused something we sent. */
  peerRefused(session: SyncSession, reason: string): void;
  sessionClosed(session: SyncSession, reason: string): void;
}

export interface RemotePeer {
  nodeId: string;
  name: string;
  shopVaultId?: string;
}

/**
 * One conversation with one peer over one link: frames in and out, the hello, heartbeats,
 * and the dispatch of sync messages to the node. Sends are queued so frames never interleave.
 */
export class SyncSession {
  remote: RemotePeer | undefined;
  readonly openedAt: number;
  bytesIn = 0;
  bytesOut = 0;
  lastHeardAt: number;
  closedReason: string | undefined;
  private readonly decoder = new FrameDecoder(SYNC_FRAME_LIMITS);
  private sendChain: Promise<void> = Promise.resolve();
  private receiveChain: Promise<void> = Promise.resolve();
  private cancelHeartbeat: (() => void) | undefined;
  private nonce = 0;

  constructor(
    readonly link: Link,
    private readonly host: SyncHost,
  ) {
    this.openedAt = host.clock.now();
    this.lastHeardAt = this.openedAt;
  }

  start(): void {
    this.link.start({
      receive: (bytes) => this.receive(bytes),
      closed: (reason) => this.closed(reason),
    });
    const hello = this.host.hello();
    this.send({ type: 'hello', ...hello });
    this.heartbeat();
  }

  get label(): string {
    return this.remote ? `${this.remote.name || 'unnamed'} (${this.remote.nodeId.slice(0, 8)})` : this.link.label;
  }

  /** Queue a message. Failures close the session; they never throw at the caller. */
  send(message: SyncMessage): Promise<void> {
    if (this.closedReason !== undefined) return Promise.resolve();
    const frame = encodeMessage(message);
    this.sendChain = this.sendChain
      .then(async () => {
        if (this.closedReason !== undefined) return;
        await this.link.send(frame);
        this.bytesOut += frame.length;
      })
      .catch((error) => this.close(`send failed: ${error instanceof Error ? error.message : String(error)}`));
    return this.sendChain;
  }

  /** Tells the peer again who this node is (after its shop was created or renamed). */
  sayHello(): void {
    void this.send({ type: 'hello', ...this.host.hello() });
  }

  announce(statements: SignedHeads[]): void {
    for (let i = 0; i < statements.length; i += MAX_HEADS_PER_FRAME) {
      void this.send({ type: 'heads', statements: statements.slice(i, i + MAX_HEADS_PER_FRAME) });
    }
  }

  close(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.link.close(reason);
    this.closed(reason);
  }

  /** Closes on purpose: tells the peer why first, so it need not wait for the transport to notice. */
  leave(reason: string): Promise<void> {
    if (this.closedReason !== undefined) return Promise.resolve();
    const farewell = this.send({ type: 'bye', reason });
    const flushed = new Promise<void>((resolve) => {
      const cancel = this.host.clock.setTimer(resolve, 1000);
      void farewell.then(() => {
        cancel();
        resolve();
      });
    });
    return flushed.then(() => this.close(reason));
  }

  private closed(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.cancelHeartbeat?.();
    this.host.sessionClosed(this, reason);
  }

  private heartbeat(): void {
    this.cancelHeartbeat = this.host.clock.setTimer(() => {
      if (this.closedReason !== undefined) return;
      if (this.host.clock.now() - this.lastHeardAt > SILENT_PEER_MS) {
        this.close(`peer silent for ${Math.round(SILENT_PEER_MS / 1000)} s`);
        return;
      }
      void this.send({ type: 'ping', nonce: (this.nonce = (this.nonce + 1) >>> 0) });
      this.heartbeat();
    }, PING_EVERY_MS);
  }

  private receive(bytes: Uint8Array): void {
    if (this.closedReason !== undefined) return;
    this.bytesIn += bytes.length;
    this.lastHeardAt = this.host.clock.now();
    let messages: SyncMessage[];
    try {
      messages = this.decoder.push(bytes).map(decodeMessage);
    } catch (error) {
      const reason = error instanceof WireError ? `bad frame: ${error.message}` : `bad frame: ${String(error)}`;
      this.host.offence(this, reason);
      void this.send({ type: 'refusal', reason });
      // The stream is out of step; nothing after this can be trusted.
      void this.sendChain.then(() => this.close(reason));
      return;
    }
    for (const message of messages) {
      this.receiveChain = this.receiveChain
        .then(() => this.handle(message))
        .catch((error) => this.host.offence(this, `failed to handle ${message.type}: ${error instanceof Error ? error.message : String(error)}`));
    }
  }

  private async handle(message: SyncMessage): Promise<void> {
    if (this.closedReason !== undefined) return;
    if (message.type !== 'hello' && !this.remote) {
      const reason = `${message.type} before hello`;
      this.host.offence(this, reason);
      this.close(reason);
      return;
    }
    switch (message.type) {
      case 'hello': {
        const remote: RemotePeer = {
          nodeId: toHex(message.nodeId),
          name: message.name,
          ...(message.shopVaultId ? { shopVaultId: toHex(message.shopVaultId) } : {}),
        };
        if (this.remote) {
          // A later hello updates the name and shop (the peer created or renamed its shop); never the node id.
          if (this.remote.nodeId !== remote.nodeId) this.host.offence(this, 'hello with a different node id');
          else this.remote = remote;
          return;
        }
        this.remote = remote;
        this.host.sessionReady(this);
        this.announce(this.host.allSignedHeads());
        return;
      }
      case 'heads':
        for (const statement of message.statements) this.host.receiveHeads(this, statement);
        return;
      case 'want':
        this.host.receiveWant(this, message.vaultId, message.have);
        return;
      case 'changes':
        await this.host.receiveChanges(this, message);
        return;
      case 'ping':
        void this.send({ type: 'pong', nonce: message.nonce });
        return;
      case 'pong':
        return;
      case 'refusal':
        this.host.peerRefused(this, message.reason);
        return;
      case 'bye':
        this.close(`peer left: ${message.reason}`);
        return;
    }
  }
}
