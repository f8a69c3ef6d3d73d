import type { Clock } from '../clock';
import type { Link } from '../link/link';
import { LaneSender } from '../link/laneSender';
import { FrameDecoder } from '../wire/frame';
import { toHex } from '../wire/hex';
import { WireError } from '../wire/wireError';
import type { DeviceCertificate } from '../vault/deviceCertificate';
import type { SignedHeads } from '../vault/signedHeads';
import { checkLinkProof, checkShopClaim } from './linkProof';
import {
  CHALLENGE_BYTES,
  decodeMessage,
  encodeMessage,
  MAX_HEADS_PER_FRAME,
  SYNC_FRAME_LIMITS,
  type SyncMessage,
} from './syncMessages';

export const PING_EVERY_MS = 5_000;
export const SILENT_PEER_MS = 20_000;
/** A peer must prove its identity this soon after the link opens. */
export const PROOF_TIMEOUT_MS = 10_000;
/** Received messages waiting to be handled, in bytes: past this the peer is flooding and the link closes. */
export const MAX_PENDING_INBOUND_BYTES = 48 * 1024 * 1024;

/** What a session needs from the node it belongs to. */
export interface SyncHost {
  readonly clock: Clock;
  readonly nodeId: Uint8Array;
  randomBytes(n: number): Uint8Array;
  /** Signs the peer's challenge with this node's key (see linkProof.ts). */
  proveLink(theirChallenge: Uint8Array, theirId: Uint8Array): Uint8Array;
  /** The device certificate of the shop this node holds, if any. */
  shopClaim(): DeviceCertificate | undefined;
  /** A proven peer now also proved a shop (it created or joined one while linked). */
  shopClaimed(session: SyncSession): void;
  /** The peer proved its id (and shop, if it claims one); return false to close the link. */
  sessionReady(session: SyncSession): boolean;
  receiveHeads(session: SyncSession, statements: SignedHeads[]): void;
  receiveWant(session: SyncSession, vaultId: Uint8Array, have: string[]): void;
  receiveChanges(session: SyncSession, message: Extract<SyncMessage, { type: 'changes' }>): Promise<void>;
  receiveRefusal(session: SyncSession, message: Extract<SyncMessage, { type: 'refusal' }>): void;
  /** Private-catalog sync and device pairing: between a shop's own devices (the host checks who may). */
  /** Awaited: a link's inbound bound covers the work they start. */
  receivePrivate(session: SyncSession, sealed: Uint8Array): Promise<void>;
  receivePairRequest(session: SyncSession, proof: Uint8Array, deviceName: string): void;
  receivePairGrant(session: SyncSession, sealed: Uint8Array): Promise<void>;
  /** Package messages (asks, haves, chunks): handled without holding up the link's other messages. */
  receivePackage(session: SyncSession, message: PackageMessage): void;
  /** The proven peer broke the protocol; the host counts it against the peer. */
  offence(session: SyncSession, reason: string): void;
  sessionClosed(session: SyncSession, reason: string): void;
}

export type PackageMessage = Extract<SyncMessage, { type: 'packageAsk' | 'packageHave' | 'chunkAsk' | 'chunk' | 'chunkRefusal' }>;

/** A peer whose node id is proven by a signature over this link's challenge. */
export interface RemotePeer {
  nodeId: string;
  /** The shop the peer proved it holds a device key of. */
  shopVaultId?: string;
}

/**
 * One conversation with one peer over one link: the hello and proof of identity, frames in
 * and out on prioritised lanes (a bounded send queue per lane, so a slow link slows only
 * itself), heartbeats, and the dispatch of sync messages to the node.
 */
export class SyncSession {
  /** Set once the peer proved its node id; nothing else it says counts before. */
  remote: RemotePeer | undefined;
  readonly openedAt: number;
  bytesIn = 0;
  lastHeardAt: number;
  /** Bytes received for vault sync so far (fragments of bundles, whole answers): requests measure their progress by it. */
  syncBytesIn = 0;
  closedReason: string | undefined;
  private readonly decoder = new FrameDecoder(SYNC_FRAME_LIMITS);
  private readonly sender: LaneSender;
  private readonly challenge: Uint8Array;
  private claimedId: Uint8Array | undefined;
  private theirChallenge: Uint8Array | undefined;
  private receiveChain: Promise<void> = Promise.resolve();
  private pendingInbound = 0;
  private cancelTimer: (() => void) | undefined;
  private nonce = 0;

  constructor(
    readonly link: Link,
    private readonly host: SyncHost,
    /** The node id the link was dialed for (the signaling peer id): the proof must be for this key. */
    private readonly expectedNodeId?: string,
  ) {
    this.openedAt = host.clock.now();
    this.lastHeardAt = this.openedAt;
    this.challenge = host.randomBytes(CHALLENGE_BYTES);
    this.sender = new LaneSender(link, { onError: (error) => this.close(`send failed: ${error instanceof Error ? error.message : String(error)}`) });
  }

  start(): void {
    this.link.start({
      receive: (bytes) => this.receive(bytes),
      closed: (reason) => this.closed(reason),
    });
    this.send({ type: 'hello', nodeId: this.host.nodeId, challenge: this.challenge });
    this.heartbeat();
  }

  get label(): string {
    return this.remote ? `peer ${this.remote.nodeId.slice(0, 8)}` : this.link.label;
  }

  get bytesOut(): number {
    return this.sender.bytesSent;
  }

  /** Queues a message on its lane. False when that lane's queue is full (the message is dropped). */
  send(message: SyncMessage): boolean {
    if (this.closedReason !== undefined) return false;
    const { lane, type, version, payload } = encodeMessage(message);
    return this.sender.enqueue(lane, type, version, payload);
  }

  /** Bytes waiting to go out on a lane: the node asks before it queues a large answer. */
  queuedBytes(lane: 'control' | 'sync' | 'bulk'): number {
    return this.sender.queuedBytes(lane);
  }

  /** Tells the peer again who this node is (after its shop was created): a new proof with the shop claim. */
  sayHello(): void {
    if (this.claimedId && this.theirChallenge) this.sendProof();
  }

  announce(statements: SignedHeads[]): void {
    for (let i = 0; i < statements.length; i += MAX_HEADS_PER_FRAME) {
      this.send({ type: 'heads', statements: statements.slice(i, i + MAX_HEADS_PER_FRAME) });
    }
  }

  close(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.sender.close();
    this.link.close(reason);
    this.closed(reason);
  }

  /** Closes on purpose: tells the peer why first, so it need not wait for the transport to notice. */
  leave(reason: string): Promise<void> {
    if (this.closedReason !== undefined) return Promise.resolve();
    this.send({ type: 'bye', reason });
    const flushed = new Promise<void>((resolve) => {
      const cancel = this.host.clock.setTimer(resolve, 1000);
      void this.sender.idle().then(() => {
        cancel();
        resolve();
      });
    });
    return flushed.then(() => this.close(reason));
  }

  private closed(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.sender.close();
    this.cancelTimer?.();
    this.host.sessionClosed(this, reason);
  }

  private heartbeat(): void {
    this.cancelTimer = this.host.clock.setTimer(() => {
      if (this.closedReason !== undefined) return;
      const now = this.host.clock.now();
      if (!this.remote && now - this.openedAt >= PROOF_TIMEOUT_MS) {
        this.close('peer did not prove its identity in time');
        return;
      }
      if (now - this.lastHeardAt > SILENT_PEER_MS) {
        this.close(`peer silent for ${Math.round(SILENT_PEER_MS / 1000)} s`);
        return;
      }
      // Pings only once the peer is proven: a ping must never overtake this side's own proof.
      if (this.remote) this.send({ type: 'ping', nonce: (this.nonce = (this.nonce + 1) >>> 0) });
      this.heartbeat();
    }, PING_EVERY_MS);
  }

  /** A broken stream: the link is out of step and closes; a proven peer is charged with it. */
  private broken(reason: string): void {
    if (this.remote) this.host.offence(this, reason);
    this.send({ type: 'refusal', code: 0, reason });
    void this.sender.idle().then(() => this.close(reason));
    this.host.clock.setTimer(() => this.close(reason), 1000);
  }

  private receive(bytes: Uint8Array): void {
    if (this.closedReason !== undefined) return;
    this.bytesIn += bytes.length;
    this.lastHeardAt = this.host.clock.now();
    const bufferedBefore = this.decoder.buffered;
    let messages: { message: SyncMessage; size: number }[];
    try {
      messages = this.decoder.push(bytes).map((frame) => ({ message: decodeMessage(frame), size: frame.payload.length }));
    } catch (error) {
      // Frame and message errors alike: nothing after this can be trusted.
      this.broken(`bad frame: ${error instanceof WireError ? error.message : String(error)}`);
      return;
    }
    // Progress for vault sync: bytes buffered towards an unfinished message, and whole answers.
    this.syncBytesIn += Math.max(0, this.decoder.buffered - bufferedBefore);
    for (const { message, size } of messages) if (message.type === 'changes' || message.type === 'refusal') this.syncBytesIn += size;
    for (const { message, size } of messages) {
      this.pendingInbound += size;
      if (this.pendingInbound > MAX_PENDING_INBOUND_BYTES) {
        this.broken('peer sends faster than it is answered (flooding)');
        return;
      }
      this.receiveChain = this.receiveChain
        .then(() => this.handle(message))
        .catch((error) => {
          if (this.remote) this.host.offence(this, `failed to handle ${message.type}: ${error instanceof Error ? error.message : String(error)}`);
        })
        .finally(() => (this.pendingInbound -= size));
    }
  }

  private sendProof(): void {
    const signature = this.host.proveLink(this.theirChallenge!, this.claimedId!);
    const shop = this.host.shopClaim();
    this.send({ type: 'proof', signature, ...(shop ? { shop } : {}) });
  }

  private async handle(message: SyncMessage): Promise<void> {
    if (this.closedReason !== undefined) return;
    if (message.type === 'hello') {
      if (this.claimedId) return this.close('a second hello on one link');
      if (toHex(message.nodeId) === toHex(this.host.nodeId)) return this.close('the peer claims this node’s own id');
      // Never answer (and so never lend a proof to) a hello for another id than the one dialed.
      if (this.expectedNodeId && toHex(message.nodeId) !== this.expectedNodeId) {
        return this.close('the peer claims a different id from the one it was dialed as');
      }
      this.claimedId = message.nodeId;
      this.theirChallenge = message.challenge;
      this.sendProof();
      return;
    }
    if (message.type === 'proof') {
      if (!this.claimedId) return this.close('proof before hello');
      const problem = checkLinkProof(message.signature, this.challenge, this.claimedId, this.host.nodeId);
      if (problem) {
        if (this.remote) this.host.offence(this, problem);
        return this.close(problem);
      }
      if (this.expectedNodeId && toHex(this.claimedId) !== this.expectedNodeId) {
        return this.close('the peer proved a different id from the one it was dialed as');
      }
      let shopVaultId: string | undefined;
      if (message.shop) {
        const claimProblem = checkShopClaim(message.shop, this.claimedId);
        if (claimProblem) {
          // Proven id, false claim: it counts against the proven id.
          this.remote = { nodeId: toHex(this.claimedId) };
          this.host.offence(this, `shop claim refused: ${claimProblem}`);
          return this.close(`shop claim refused: ${claimProblem}`);
        }
        shopVaultId = toHex(message.shop.vaultId);
      }
      const first = !this.remote;
      if (this.remote?.shopVaultId && this.remote.shopVaultId !== shopVaultId) {
        this.host.offence(this, 'claimed a different shop on the same link');
        return this.close('claimed a different shop on the same link');
      }
      const claimed = !first && shopVaultId !== undefined && this.remote?.shopVaultId === undefined;
      this.remote = { nodeId: toHex(this.claimedId), ...(shopVaultId ? { shopVaultId } : {}) };
      if (first && !this.host.sessionReady(this)) return;
      if (claimed) this.host.shopClaimed(this);
      return;
    }
    if (!this.remote) {
      // A heartbeat that crossed the proofs is harmless; anything else before proof closes the link.
      if (message.type === 'ping' || message.type === 'pong') return;
      return this.close(`${message.type} before the peer proved its identity`);
    }
    switch (message.type) {
      case 'heads':
        this.host.receiveHeads(this, message.statements);
        return;
      case 'want':
        this.host.receiveWant(this, message.vaultId, message.have);
        return;
      case 'changes':
        await this.host.receiveChanges(this, message);
        return;
      case 'ping':
        this.send({ type: 'pong', nonce: message.nonce });
        return;
      case 'pong':
        return;
      case 'refusal':
        this.host.receiveRefusal(this, message);
        return;
      case 'bye':
        this.close(`peer left: ${message.reason}`);
        return;
      case 'private':
        await this.host.receivePrivate(this, message.sealed);
        return;
      case 'pairRequest':
        this.host.receivePairRequest(this, message.proof, message.deviceName);
        return;
      case 'pairGrant':
        await this.host.receivePairGrant(this, message.sealed);
        return;
      case 'packageAsk':
      case 'packageHave':
      case 'chunkAsk':
      case 'chunk':
      case 'chunkRefusal':
        this.host.receivePackage(this, message);
        return;
    }
  }
}
