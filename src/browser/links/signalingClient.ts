import {
  CLOSE_CODES,
  MAX_SIGNAL_DATA_BYTES,
  parseJsonSafely,
  parseServerMessage,
  PEER_ID,
  SIGNALING_PATH,
  utf8Length,
  type ClientMessage,
} from '../../../signaling/signalingProtocol';
import { fromHex, toHex } from '../../core/wire/hex';

export interface SignalingEvents {
  /** Joined the room: `peers` is a random sample of it (at most 64), not all of it. */
  joined(peers: string[]): void;
  /**
   * A peer in the room this client may now know: a newcomer, one from a `requestPeers()` sample,
   * or one the server introduces just before relaying its first signal. May repeat a peer.
   */
  peerJoined(peerId: string): void;
  peerLeft(peerId: string): void;
  /** `data` is what the peer passed to `signal`, parsed (depth-checked); malformed data never arrives here. */
  signal(from: string, data: unknown): void;
  status(state: 'connecting' | 'online' | 'offline', detail?: string): void;
}

/** Signs the server's challenge for a room with the node key: `(c, r) => node.proveSignalingJoin(c, r)`. */
export type ProveJoin = (challenge: Uint8Array, room: string) => Promise<Uint8Array>;

/** The part of the browser's WebSocket this client uses (the `ws` package's WebSocket fits too, for tests). */
export interface SignalingSocket {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}

export interface SignalingClientOptions {
  /** First retry delay after a lost connection; doubles up to `maxRetryMs`. */
  retryMs?: number;
  maxRetryMs?: number;
  /** Wait after the server said another connection of this node took our place, before trying again. */
  replacedBackoffMs?: number;
  createSocket?: (url: string) => SignalingSocket;
}

const OPEN = 1;
const REFUSED_JOIN = new Set<string>(['too-many-from-address', 'too-many-rooms', 'bad-proof', 'unsupported-version']);
/** A sample asked for and not answered is given up on after this long (the server may have refused it). */
const SAMPLE_PENDING_MS = 5_000;

/**
 * The leader tab's WebSocket to the signaling server (protocol version 2). On every connection
 * the server sends a challenge; the client has the node sign it for its room (`prove`) and joins
 * with its peer id (the node's public key) and that signature, and again for each room switch.
 * It reconnects with a backoff up to 30 s while the server is unreachable. If another
 * connection of the same node replaced it (a new leader tab), it waits `replacedBackoffMs`
 * (60 s) and tries again, so a tab that lost a race comes back when the other one is gone.
 *
 * The server tells a member only a random sample of its room (`joined`, at most 64 peers) and
 * announces each newcomer to a random few; `requestPeers()` asks for a fresh sample, delivered
 * as `peerJoined` events.
 */
export class SignalingClient {
  private socket: SignalingSocket | undefined;
  private challenge: Uint8Array | undefined;
  private joinedRoom: string | undefined;
  private retryMs: number;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private waitingAfterReplaced = false;
  /** When the unanswered `sample` on this connection was sent, or undefined. */
  private sampleAskedAt: number | undefined;
  private stopped = true;
  private readonly firstRetryMs: number;
  private readonly maxRetryMs: number;
  private readonly replacedBackoffMs: number;
  private readonly createSocket: (url: string) => SignalingSocket;

  constructor(
    private readonly url: string,
    private room: string,
    private readonly peerId: string,
    private readonly prove: ProveJoin,
    private readonly events: SignalingEvents,
    options: SignalingClientOptions = {},
  ) {
    if (!PEER_ID.test(peerId)) throw new Error('the signaling peer id must be the node public key in 64 lowercase hex digits');
    this.firstRetryMs = options.retryMs ?? 500;
    this.retryMs = this.firstRetryMs;
    this.maxRetryMs = options.maxRetryMs ?? 30_000;
    this.replacedBackoffMs = options.replacedBackoffMs ?? 60_000;
    this.createSocket = options.createSocket ?? ((address) => new WebSocket(address) as unknown as SignalingSocket);
  }

  static defaultUrl(): string {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}${SIGNALING_PATH}`;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    if (typeof addEventListener === 'function') addEventListener('online', this.reconnectNow);
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (typeof removeEventListener === 'function') removeEventListener('online', this.reconnectNow);
    const socket = this.socket;
    this.socket = undefined;
    socket?.close(1000, 'stopped');
  }

  /** Back online: try at once instead of waiting out the backoff (but not while another tab of this node holds the place). */
  private readonly reconnectNow = () => {
    if (this.stopped || this.socket || this.waitingAfterReplaced) return;
    clearTimeout(this.retryTimer);
    this.retryMs = this.firstRetryMs;
    this.connect();
  };

  switchRoom(room: string): void {
    this.room = room;
    void this.join();
  }

  /**
   * Asks the server for a fresh random sample of the room (at most 64 peers), delivered as one
   * `peerJoined` event per peer. Only while joined, and one request at a time (a new one is sent
   * once the last is answered, or after 5 s): returns whether it was sent.
   */
  requestPeers(): boolean {
    if (!this.socket || this.socket.readyState !== OPEN || this.joinedRoom === undefined || this.joinedRoom !== this.room) return false;
    const now = Date.now();
    if (this.sampleAskedAt !== undefined && now - this.sampleAskedAt < SAMPLE_PENDING_MS) return false;
    this.sampleAskedAt = now;
    this.send({ v: 2, type: 'sample' });
    return true;
  }

  /** Sends WebRTC set-up data to a peer in the room, as a JSON string (dropped if over 12 KiB). */
  signal(to: string, data: unknown): void {
    let text: string | undefined;
    try {
      text = JSON.stringify(data);
    } catch {
      text = undefined;
    }
    if (text === undefined || utf8Length(text) > MAX_SIGNAL_DATA_BYTES) return;
    this.send({ v: 2, type: 'signal', to, data: text });
  }

  private send(message: ClientMessage): void {
    if (this.socket?.readyState === OPEN) this.socket.send(JSON.stringify(message));
  }

  /** Proves and joins `this.room` on the current connection, once its challenge is known. */
  private async join(): Promise<void> {
    const socket = this.socket;
    const challenge = this.challenge;
    const room = this.room;
    if (!socket || !challenge) return; // joins when the challenge arrives
    let signature: Uint8Array;
    try {
      signature = await this.prove(challenge, room);
    } catch {
      if (this.socket === socket) {
        this.events.status('offline', 'could not prove this node to the signaling server; retrying');
        socket.close(1000, 'no proof');
      }
      return;
    }
    // A newer connection or a room switch while the node was signing: that one joins instead.
    if (this.socket !== socket || this.room !== room || this.challenge !== challenge) return;
    if (!(signature instanceof Uint8Array) || signature.length !== 64) return;
    this.send({ v: 2, type: 'join', room, peerId: this.peerId, signature: toHex(signature) });
  }

  private connect(): void {
    if (this.stopped) return;
    this.events.status('connecting');
    let socket: SignalingSocket;
    try {
      socket = this.createSocket(this.url);
    } catch {
      this.retryLater('could not open a connection to the signaling server');
      return;
    }
    this.socket = socket;
    this.challenge = undefined;
    this.joinedRoom = undefined;
    this.sampleAskedAt = undefined;
    let replaced = false;
    let refusal: string | undefined;
    socket.onmessage = (event) => {
      if (this.socket !== socket || typeof event.data !== 'string') return;
      const message = parseServerMessage(event.data);
      if (!message) return;
      // After a room switch, what the old room says until the new join is answered is stale.
      const current = this.joinedRoom === this.room;
      switch (message.type) {
        case 'challenge':
          this.challenge = fromHex(message.nonce);
          void this.join();
          break;
        case 'joined':
          if (message.room !== this.room) break;
          this.retryMs = this.firstRetryMs;
          this.joinedRoom = message.room;
          this.sampleAskedAt = undefined;
          this.events.status('online');
          this.events.joined(message.peers.filter((id) => id !== this.peerId));
          break;
        case 'peer-joined':
          if (current && message.peerId !== this.peerId) this.events.peerJoined(message.peerId);
          break;
        case 'peer-left':
          if (current && message.peerId !== this.peerId) this.events.peerLeft(message.peerId);
          break;
        case 'peers':
          if (!current) break;
          this.sampleAskedAt = undefined;
          for (const id of message.peers) if (id !== this.peerId) this.events.peerJoined(id);
          break;
        case 'signal': {
          if (!current) break;
          const parsed = parseJsonSafely(message.data, MAX_SIGNAL_DATA_BYTES);
          if ('error' in parsed) return;
          this.events.signal(message.from, parsed.value);
          break;
        }
        case 'error':
          if (message.code === 'replaced') replaced = true;
          else if (!current && REFUSED_JOIN.has(message.code)) {
            // The join was refused (address's share of the room, server's rooms, proof, version): try again later on a new connection.
            refusal = message.message;
            socket.close(1000, 'join refused');
          } else if (message.code !== 'no-such-peer') this.events.status(current ? 'online' : 'connecting', message.message);
          break;
      }
    };
    socket.onclose = (event) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.challenge = undefined;
      this.joinedRoom = undefined;
      this.sampleAskedAt = undefined;
      if (replaced || event.code === CLOSE_CODES.replaced) {
        this.waitingAfterReplaced = true;
        const seconds = Math.round(this.replacedBackoffMs / 1000);
        this.events.status('offline', `this node connected to the signaling server from another tab; trying again in ${seconds} s`);
        this.retryTimer = setTimeout(() => {
          this.waitingAfterReplaced = false;
          this.connect();
        }, this.replacedBackoffMs);
        return;
      }
      const reason = event.code === CLOSE_CODES.tryAgainLater && event.reason ? event.reason : refusal;
      this.retryLater(reason ? `signaling server: ${reason}` : 'signaling server unreachable; peers already linked stay linked');
    };
    socket.onerror = () => {};
  }

  private retryLater(detail: string): void {
    this.events.status('offline', detail);
    if (this.stopped) return;
    this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
    this.retryMs = Math.min(this.retryMs * 2, this.maxRetryMs);
  }
}
