import { SIGNALING_PATH, type ClientMessage, type ServerMessage } from '../../../signaling/signalingProtocol';

export interface SignalingEvents {
  joined(peers: string[]): void;
  peerJoined(peerId: string): void;
  peerLeft(peerId: string): void;
  signal(from: string, data: unknown): void;
  status(state: 'connecting' | 'online' | 'offline', detail?: string): void;
}

/**
 * The leader tab's WebSocket to the signaling server. It rejoins its room after every
 * reconnect, backing off up to 30 s while the server is unreachable.
 */
export class SignalingClient {
  private socket: WebSocket | undefined;
  private retryMs = 500;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(
    private readonly url: string,
    private room: string,
    private readonly peerId: string,
    private readonly events: SignalingEvents,
  ) {}

  static defaultUrl(): string {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    return `${scheme}//${location.host}${SIGNALING_PATH}`;
  }

  start(): void {
    this.stopped = false;
    addEventListener('online', this.reconnectNow);
    this.connect();
  }

  /** Back online: try at once instead of waiting out the backoff. */
  private readonly reconnectNow = () => {
    if (this.stopped || this.socket) return;
    clearTimeout(this.retryTimer);
    this.retryMs = 500;
    this.connect();
  };

  switchRoom(room: string): void {
    this.room = room;
    this.send({ v: 1, type: 'join', room, peerId: this.peerId });
  }

  signal(to: string, data: unknown): void {
    this.send({ v: 1, type: 'signal', to, data });
  }

  private send(message: ClientMessage): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  private connect(): void {
    if (this.stopped) return;
    this.events.status('connecting');
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.onopen = () => {
      this.retryMs = 500;
      this.send({ v: 1, type: 'join', room: this.room, peerId: this.peerId });
    };
    socket.onmessage = (event) => {
      let message: ServerMessage;
      try {
        message = JSON.parse(String(event.data)) as ServerMessage;
      } catch {
        return;
      }
      switch (message.type) {
        case 'joined':
          this.events.status('online');
          this.events.joined(message.peers);
          break;
        case 'peer-joined':
          this.events.peerJoined(message.peerId);
          break;
        case 'peer-left':
          this.events.peerLeft(message.peerId);
          break;
        case 'signal':
          this.events.signal(message.from, message.data);
          break;
        case 'error':
          if (message.code === 'replaced') this.stopped = true;
          else if (message.code !== 'no-such-peer') this.events.status('online', message.message);
          break;
      }
    };
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.events.status('offline', 'signaling server unreachable; peers already linked stay linked');
      if (this.stopped) return;
      this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 30_000);
    };
  }
}
