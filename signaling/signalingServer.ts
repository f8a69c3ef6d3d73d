import type { Server as HttpServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  MAX_SIGNAL_MESSAGE_BYTES,
  parseClientMessage,
  SIGNALING_PATH,
  type ServerMessage,
  type SignalingErrorCode,
} from './signalingProtocol';

export interface SignalingLimits {
  /** Messages a connection may send in a burst. */
  burst: number;
  /** Messages per second a connection earns back. */
  perSecond: number;
  /** Refused messages after which the connection is closed. */
  strikes: number;
  maxPeersPerRoom: number;
  heartbeatMs: number;
}

export const DEFAULT_SIGNALING_LIMITS: SignalingLimits = {
  burst: 60,
  perSecond: 20,
  strikes: 50,
  maxPeersPerRoom: 256,
  heartbeatMs: 15_000,
};

interface Connection {
  socket: WebSocket;
  room?: string;
  peerId?: string;
  tokens: number;
  refilledAt: number;
  strikes: number;
  alive: boolean;
}

/**
 * Rooms by network name. A peer joins a room and learns who else is there; peers then exchange
 * WebRTC set-up messages through the server, which relays them only within a room. Nothing is
 * stored: when a socket closes, its peer leaves its room.
 */
export class SignalingServer {
  private readonly wss: WebSocketServer;
  private readonly rooms = new Map<string, Map<string, Connection>>();
  private readonly heartbeat: ReturnType<typeof setInterval>;
  private readonly connections = new Set<Connection>();

  constructor(
    server: HttpServer,
    private readonly limits: SignalingLimits = DEFAULT_SIGNALING_LIMITS,
  ) {
    this.wss = new WebSocketServer({ server, path: SIGNALING_PATH, maxPayload: MAX_SIGNAL_MESSAGE_BYTES });
    this.wss.on('connection', (socket) => this.accept(socket));
    this.heartbeat = setInterval(() => this.beat(), limits.heartbeatMs);
    this.heartbeat.unref?.();
  }

  /** Peers in a room, for tests and the status page. */
  roomSize(room: string): number {
    return this.rooms.get(room)?.size ?? 0;
  }

  close(): Promise<void> {
    clearInterval(this.heartbeat);
    for (const connection of this.connections) connection.socket.terminate();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }

  private accept(socket: WebSocket): void {
    const connection: Connection = { socket, tokens: this.limits.burst, refilledAt: Date.now(), strikes: 0, alive: true };
    this.connections.add(connection);
    socket.on('pong', () => (connection.alive = true));
    socket.on('message', (data, isBinary) => this.receive(connection, data as Buffer, isBinary));
    socket.on('close', () => {
      this.connections.delete(connection);
      this.leave(connection);
    });
    socket.on('error', () => socket.terminate());
  }

  private beat(): void {
    for (const connection of this.connections) {
      if (!connection.alive) {
        connection.socket.terminate();
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
    }
  }

  private send(connection: Connection, message: ServerMessage): void {
    if (connection.socket.readyState === connection.socket.OPEN) connection.socket.send(JSON.stringify(message));
  }

  private refuse(connection: Connection, code: SignalingErrorCode, message: string): void {
    this.send(connection, { v: 1, type: 'error', code, message });
    if (++connection.strikes >= this.limits.strikes) connection.socket.close(1008, 'too many refused messages');
  }

  private takeToken(connection: Connection): boolean {
    const now = Date.now();
    connection.tokens = Math.min(this.limits.burst, connection.tokens + ((now - connection.refilledAt) / 1000) * this.limits.perSecond);
    connection.refilledAt = now;
    if (connection.tokens < 1) return false;
    connection.tokens -= 1;
    return true;
  }

  private receive(connection: Connection, data: Buffer, isBinary: boolean): void {
    if (!this.takeToken(connection)) return this.refuse(connection, 'rate-limited', 'too many messages; slow down');
    if (isBinary) return this.refuse(connection, 'malformed', 'binary frames are not part of the signaling protocol');
    if (data.length > MAX_SIGNAL_MESSAGE_BYTES) return this.refuse(connection, 'too-large', `message is over ${MAX_SIGNAL_MESSAGE_BYTES} bytes`);
    const message = parseClientMessage(data.toString('utf8'));
    if ('error' in message) return this.refuse(connection, 'malformed', message.error);
    switch (message.type) {
      case 'join': {
        this.leave(connection);
        const room = this.rooms.get(message.room) ?? new Map<string, Connection>();
        const previous = room.get(message.peerId);
        if (!previous && room.size >= this.limits.maxPeersPerRoom) return this.refuse(connection, 'room-full', `network ${message.room} is full`);
        if (previous) {
          // The same node again (a new leader tab): the newer connection wins.
          previous.room = undefined;
          this.send(previous, { v: 1, type: 'error', code: 'replaced', message: 'this node connected again elsewhere' });
          previous.socket.close(4000, 'replaced');
        }
        const peers = [...room.keys()].filter((id) => id !== message.peerId);
        room.set(message.peerId, connection);
        this.rooms.set(message.room, room);
        connection.room = message.room;
        connection.peerId = message.peerId;
        this.send(connection, { v: 1, type: 'joined', room: message.room, peers });
        if (!previous) for (const id of peers) this.send(room.get(id)!, { v: 1, type: 'peer-joined', peerId: message.peerId });
        return;
      }
      case 'signal': {
        if (!connection.room || !connection.peerId) return this.refuse(connection, 'not-joined', 'join a network before signaling');
        const target = this.rooms.get(connection.room)?.get(message.to);
        if (!target) return this.refuse(connection, 'no-such-peer', `peer ${message.to.slice(0, 8)} is not in this network`);
        this.send(target, { v: 1, type: 'signal', from: connection.peerId, data: message.data });
        return;
      }
      case 'leave':
        this.leave(connection);
        return;
    }
  }

  private leave(connection: Connection): void {
    const { room: roomName, peerId } = connection;
    connection.room = undefined;
    if (!roomName || !peerId) return;
    const room = this.rooms.get(roomName);
    if (!room || room.get(peerId) !== connection) return;
    room.delete(peerId);
    if (room.size === 0) this.rooms.delete(roomName);
    for (const other of room.values()) this.send(other, { v: 1, type: 'peer-left', peerId });
  }
}
