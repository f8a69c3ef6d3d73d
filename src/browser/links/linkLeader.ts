import SimplePeer from '@thaunknown/simple-peer/lite.js';
import * as Comlink from 'comlink';
import type { NodeApi } from '../../../workers/nodeHost';
import { acceptsIncoming, peersToDial, RedialPolicy } from '../../core/mesh/peerSelection';
import { LINKS_LOCK, NODE_CHANGES_CHANNEL } from '../nodeChannel';
import { closePeer, dataChannelStreams, type LinkStreams } from './dataChannelStreams';
import { SignalingClient } from './signalingClient';

const BUSY = 'souk-busy';

function roomFor(view: { settings: { networkName: string }; pairing: { state: string; room: string } | null }): string {
  return view.pairing?.state === 'waiting' ? view.pairing.room : view.settings.networkName;
}
const FILL_EVERY_MS = 3_000;
const CONNECT_TIMEOUT_MS = 15_000;

export interface LeaderStatus {
  leader: boolean;
  signaling: 'connecting' | 'online' | 'offline' | 'idle';
  detail?: string;
  present: number;
  /** Slots held: links being set up (each with a timeout) and links whose node session is alive. */
  linked?: number;
}

interface Attempt {
  peer: SimplePeer;
  initiator: boolean;
  connected: boolean;
  timer: ReturnType<typeof setTimeout>;
  /** Once connected: the streams handed to the node. */
  streams?: LinkStreams;
}

/**
 * Runs in the one tab that holds the links lock: RTCPeerConnection exists only in pages. It
 * meets peers through the signaling server, keeps at most the node's maximum of WebRTC links,
 * and hands each connected data channel to the node as a pair of streams. When this tab
 * closes, the lock passes to another tab, which does the same under a new epoch.
 *
 * A slot is held only by an attempt that is connecting (for at most CONNECT_TIMEOUT_MS) or whose
 * link is alive: `dataChannelStreams` reports the end of a link (channel closed, connection
 * failed, the node's session closed) and the slot is freed at once. A peer whose link or dial
 * ended is not dialed again until `RedialPolicy` allows; blocked peers never.
 */
export class LinkLeader {
  private readonly epoch = crypto.randomUUID();
  private readonly attempts = new Map<string, Attempt>();
  private readonly present = new Set<string>();
  private readonly redial = new RedialPolicy(() => Date.now());
  private signaling: SignalingClient | undefined;
  private networkName = '';
  /** The signaling room: the network's, or while pairing a device, the pairing code's. */
  private room = '';
  private maxConnections = 1;
  private blocked = new Set<string>();
  private nodeId = '';
  status: LeaderStatus = { leader: false, signaling: 'idle', present: 0, linked: 0 };

  constructor(
    private readonly node: Comlink.Remote<NodeApi>,
    private readonly signalingUrl: string,
    private readonly onStatus: (status: LeaderStatus) => void,
  ) {}

  /** Waits for the links lock, then leads until the tab closes. */
  run(): void {
    void navigator.locks.request(LINKS_LOCK, async () => {
      await this.lead();
      await new Promise(() => {});
    });
  }

  private async lead(): Promise<void> {
    await this.node.becomeLeader(this.epoch);
    const view = await this.node.view();
    this.nodeId = view.nodeId;
    this.applySettings(view.settings, view.blockedPeers);
    this.setStatus({ leader: true });
    this.room = roomFor(view);
    this.signaling = new SignalingClient(this.signalingUrl, this.room, this.nodeId, (challenge, room) => this.node.proveSignalingJoin(challenge, room), {
      joined: (peers) => {
        this.present.clear();
        for (const peer of peers) this.present.add(peer);
        this.setStatus({});
        this.fill();
      },
      peerJoined: (peer) => {
        this.present.add(peer);
        this.setStatus({});
      },
      peerLeft: (peer) => {
        this.present.delete(peer);
        this.setStatus({});
      },
      signal: (from, data) => this.receiveSignal(from, data),
      status: (signaling, detail) => this.setStatus({ signaling, detail }),
    });
    this.signaling.start();
    setInterval(() => this.fill(), FILL_EVERY_MS);
    const changes = new BroadcastChannel(NODE_CHANGES_CHANNEL);
    changes.onmessage = async () => {
      const next = await this.node.view();
      const previousNetwork = this.networkName;
      this.applySettings(next.settings, next.blockedPeers);
      if (next.settings.networkName !== previousNetwork) {
        await this.node.leaveAll(`switched to network ${next.settings.networkName}`);
        for (const peer of [...this.attempts.keys()]) this.drop(peer, 'switched networks', false);
        this.present.clear();
        this.room = roomFor(next);
        this.signaling?.switchRoom(this.room);
      } else if (roomFor(next) !== this.room) {
        // Pairing started or ended: meet in the code's room (links already made stay).
        this.present.clear();
        this.room = roomFor(next);
        this.signaling?.switchRoom(this.room);
      }
    };
  }

  private applySettings(settings: { networkName: string; maxConnections: number }, blocked: string[]): void {
    this.networkName = settings.networkName;
    this.maxConnections = settings.maxConnections;
    this.blocked = new Set(blocked);
  }

  private setStatus(change: Partial<LeaderStatus>): void {
    this.status = { ...this.status, ...change, present: this.present.size, linked: this.attempts.size };
    this.onStatus(this.status);
  }

  private mesh() {
    const avoid = this.redial.waiting();
    for (const peer of this.blocked) avoid.add(peer);
    return { self: this.nodeId, present: [...this.present], linked: new Set(this.attempts.keys()), avoid, maxConnections: this.maxConnections };
  }

  private fill(): void {
    const mesh = this.mesh();
    const dial = peersToDial(mesh);
    for (const peer of dial) this.open(peer, true);
    // The signaling server tells each member only a sample of the room: ask for another when this
    // one has no one left to dial and there is room for more links.
    if (dial.length === 0 && mesh.linked.size < mesh.maxConnections) this.signaling?.requestPeers();
  }

  private open(remote: string, initiator: boolean): Attempt {
    const peer = new SimplePeer({ initiator, trickle: false, config: { iceServers: [] } });
    const attempt: Attempt = {
      peer,
      initiator,
      connected: false,
      timer: setTimeout(() => {
        if (!attempt.connected) this.drop(remote, 'timed out connecting', true);
      }, CONNECT_TIMEOUT_MS),
    };
    this.attempts.set(remote, attempt);
    this.setStatus({});
    peer.on('signal', (data) => this.signaling?.signal(remote, data));
    peer.on('connect', () => {
      if (this.attempts.get(remote) !== attempt) return;
      attempt.connected = true;
      clearTimeout(attempt.timer);
      this.redial.linked(remote);
      const streams = dataChannelStreams(peer, (reason) => this.end(remote, attempt, reason));
      attempt.streams = streams;
      const { readable, writable } = streams;
      this.node
        // The node refuses the link unless the peer proves the id it was dialed (or signaled) as.
        .attachLink(this.epoch, `webrtc:${remote.slice(0, 8)}`, Comlink.transfer(readable, [readable]), Comlink.transfer(writable, [writable]), remote)
        .then(
          (accepted) => {
            if (!accepted) this.drop(remote, 'the node refused the link', false);
          },
          () => this.drop(remote, 'the node could not take the link', true),
        );
    });
    // Before 'connect' only; after it, dataChannelStreams watches the link.
    peer.on('close', () => {
      if (!attempt.connected) this.end(remote, attempt, 'closed while connecting');
    });
    peer.on('error', () => {
      if (!attempt.connected) this.end(remote, attempt, 'failed while connecting');
    });
    return attempt;
  }

  private receiveSignal(from: string, data: unknown): void {
    if ((data as { type?: string })?.type === BUSY) {
      // Only a dial of ours can be answered busy; a stray busy never ends a live link.
      const attempt = this.attempts.get(from);
      if (attempt?.initiator && !attempt.connected) this.drop(from, 'busy', false);
      this.redial.busy(from);
      return;
    }
    const isOffer = (data as { type?: string })?.type === 'offer';
    let attempt = this.attempts.get(from);
    if (isOffer && attempt?.connected) {
      // Data-only links never renegotiate: a new offer means the peer restarted (a new leader tab).
      this.drop(from, 'the peer dialed again', true);
      attempt = undefined;
    }
    if (isOffer && attempt?.initiator && !attempt.connected) {
      // Both dialed at once: the lower node id keeps dialing, the other answers.
      if (this.nodeId < from) return;
      this.drop(from, 'crossed dials: answering theirs', false);
      attempt = undefined;
    }
    if (!attempt) {
      // Only peers in this node's current network: a dial relayed just before a network switch is stale.
      if (!isOffer || !this.present.has(from)) return;
      // A peer that was busy when we dialed may dial us once it has room: only blocked peers are refused.
      if (!acceptsIncoming({ ...this.mesh(), avoid: this.blocked }, from)) {
        this.signaling?.signal(from, { type: BUSY });
        return;
      }
      attempt = this.open(from, false);
    }
    try {
      attempt.peer.signal(data);
    } catch {
      this.drop(from, 'bad signal', true);
    }
  }

  /**
   * Ends whatever attempt or link to `remote` there is and frees its slot. `counts`: whether the
   * end counts as a drop for the redial policy (not for a crossed dial, a busy answer, a
   * network switch).
   */
  private drop(remote: string, reason: string, counts: boolean): void {
    const attempt = this.attempts.get(remote);
    if (attempt) this.end(remote, attempt, reason, counts);
  }

  private end(remote: string, attempt: Attempt, reason: string, counts = true): void {
    if (this.attempts.get(remote) !== attempt) return;
    this.attempts.delete(remote);
    clearTimeout(attempt.timer);
    if (attempt.streams) attempt.streams.close(reason);
    else closePeer(attempt.peer);
    if (counts) this.redial.dropped(remote);
    this.setStatus({});
  }
}
