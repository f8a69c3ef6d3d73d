import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { checkSignalingJoin } from '../src/core/mesh/signalingJoin';
import { fromHex, toHex } from '../src/core/wire/hex';
import {
  CLOSE_CODES,
  MAX_SIGNAL_MESSAGE_BYTES,
  parseClientMessage,
  SIGNALING_PATH,
  SIGNALING_VERSION,
  type ClientMessage,
  type ServerMessage,
  type SignalingErrorCode,
} from './signalingProtocol';

export interface SignalingLimits {
  /** Message tokens a connection may spend in a burst. */
  burst: number;
  /** Tokens per second a connection earns back. */
  perSecond: number;
  /** Tokens a join costs (it verifies a signature, ~1 ms of CPU). */
  joinCost: number;
  /** Refused messages after which the connection is closed (1008). */
  strikes: number;
  /** Open connections on the whole server; more are closed at once with 1013. */
  maxConnections: number;
  /** Open connections from one address (see `addressOf`); more are closed at once with 1013. Each connection is in at most one room. */
  maxConnectionsPerAddress: number;
  /** Rooms (networks) on the whole server; a join that would open another is refused ('too-many-rooms'). */
  maxRooms: number;
  maxPeersPerRoom: number;
  /** A connection that has not joined a room this long after connecting is closed (1008). */
  joinWithinMs: number;
  heartbeatMs: number;
}

export const DEFAULT_SIGNALING_LIMITS: SignalingLimits = {
  burst: 60,
  perSecond: 20,
  joinCost: 10,
  strikes: 50,
  maxConnections: 4_000,
  maxConnectionsPerAddress: 16,
  maxRooms: 1_000,
  maxPeersPerRoom: 256,
  joinWithinMs: 30_000,
  heartbeatMs: 15_000,
};

export interface SignalingOptions {
  /**
   * The address a connection is counted against for `maxConnectionsPerAddress`. Defaults to
   * `socketAddress` (the TCP peer, IPv6 grouped by /64). Behind a reverse proxy use
   * `forwardedAddress`, and only then: a client can write any X-Forwarded-For it likes.
   */
  addressOf?: (request: IncomingMessage) => string;
  /** Where internal errors are reported (rate-limited); console.error by default. */
  log?: (line: string) => void;
}

/** The TCP peer's address; IPv4-mapped IPv6 as plain IPv4, IPv6 grouped by its /64 prefix (one subscriber's usual allocation). */
export function socketAddress(request: IncomingMessage): string {
  return normaliseAddress(request.socket.remoteAddress ?? 'unknown');
}

/** The address the nearest proxy saw: the last X-Forwarded-For entry, else the TCP peer. Use only behind a proxy that sets it. */
export function forwardedAddress(request: IncomingMessage): string {
  const header = request.headers['x-forwarded-for'];
  const last = (Array.isArray(header) ? header.join(',') : header ?? '').split(',').pop()?.trim();
  return last ? normaliseAddress(last) : socketAddress(request);
}

export function normaliseAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const bare = address.split('%')[0]!.toLowerCase();
  const halves = bare.split('::');
  if (halves.length > 2) return bare;
  const groupsOf = (part: string | undefined) => (part ? part.split(':') : []);
  const head = groupsOf(halves[0]);
  const tail = groupsOf(halves[1]);
  const tailGroups = tail.reduce((n, group) => n + (group.includes('.') ? 2 : 1), 0);
  const groups = halves.length === 2 ? [...head, ...new Array<string>(Math.max(0, 8 - head.length - tailGroups)).fill('0'), ...tail] : head;
  const prefix = groups.slice(0, 4);
  if (prefix.length < 4 || !prefix.every((group) => /^[0-9a-f]{1,4}$/.test(group))) return bare;
  return `${prefix.map((group) => parseInt(group, 16).toString(16)).join(':')}::/64`;
}

interface Connection {
  socket: WebSocket;
  address: string;
  /** This connection's fresh 32-byte challenge; every join on it signs over it. */
  challenge: Uint8Array;
  room?: string;
  peerId?: string;
  tokens: number;
  refilledAt: number;
  strikes: number;
  alive: boolean;
  joinTimer?: ReturnType<typeof setTimeout>;
}

const V = SIGNALING_VERSION;

/**
 * Rooms by network name. A connection receives a fresh challenge, proves that it holds the key
 * its peer id names, joins a room and learns who else is there; peers then exchange WebRTC
 * set-up strings through the server, which relays them only within a room and never parses
 * them. Nothing is stored: when a socket closes, its peer leaves its room.
 *
 * Every event handler (upgrade, message, close, error, heartbeat) runs inside try/catch: a
 * failure closes at most the one connection it concerns (1011), never the process.
 */
export class SignalingServer {
  private readonly wss: WebSocketServer;
  private readonly rooms = new Map<string, Map<string, Connection>>();
  private readonly heartbeat: ReturnType<typeof setInterval>;
  private readonly connections = new Set<Connection>();
  private readonly perAddress = new Map<string, number>();
  private readonly limits: SignalingLimits;
  private readonly addressOf: (request: IncomingMessage) => string;
  private readonly log: (line: string) => void;
  private loggedAt = 0;
  private unlogged = 0;
  /** Internal errors caught so far (tests and monitoring). */
  internalErrors = 0;

  constructor(
    private readonly server: HttpServer,
    limits: Partial<SignalingLimits> = {},
    options: SignalingOptions = {},
  ) {
    this.limits = { ...DEFAULT_SIGNALING_LIMITS, ...limits };
    this.addressOf = options.addressOf ?? socketAddress;
    this.log = options.log ?? ((line) => console.error(line));
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_SIGNAL_MESSAGE_BYTES });
    this.wss.on('error', (error) => this.internalError('websocket server', error));
    server.on('upgrade', this.upgrade);
    this.heartbeat = setInterval(() => this.beat(), this.limits.heartbeatMs);
    this.heartbeat.unref?.();
  }

  /** Peers in a room, for tests and the status page. */
  roomSize(room: string): number {
    return this.rooms.get(room)?.size ?? 0;
  }

  stats(): { connections: number; rooms: number; addresses: number } {
    return { connections: this.connections.size, rooms: this.rooms.size, addresses: this.perAddress.size };
  }

  close(): Promise<void> {
    this.server.off('upgrade', this.upgrade);
    clearInterval(this.heartbeat);
    for (const connection of this.connections) connection.socket.terminate();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }

  private readonly upgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    try {
      socket.on('error', () => socket.destroy());
      const path = new URL(request.url ?? '/', 'http://localhost').pathname;
      if (path !== SIGNALING_PATH) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const address = this.addressOf(request);
      this.wss.handleUpgrade(request, socket, head, (ws) => {
        try {
          this.admit(ws, address);
        } catch (error) {
          this.internalError('accepting a connection', error);
          ws.terminate();
        }
      });
    } catch (error) {
      this.internalError('upgrade', error);
      socket.destroy();
    }
  };

  private admit(socket: WebSocket, address: string): void {
    const refusal =
      this.connections.size >= this.limits.maxConnections
        ? 'server full: too many connections; try again later'
        : (this.perAddress.get(address) ?? 0) >= this.limits.maxConnectionsPerAddress
          ? 'too many connections from your address'
          : undefined;
    if (refusal) {
      // Said with a close frame the browser can read; a client that never answers is cut off after a second.
      socket.on('error', () => socket.terminate());
      const cutOff = setTimeout(() => socket.terminate(), 1000);
      cutOff.unref?.();
      socket.on('close', () => clearTimeout(cutOff));
      socket.close(CLOSE_CODES.tryAgainLater, refusal);
      return;
    }
    const connection: Connection = {
      socket,
      address,
      challenge: randomBytes(32),
      tokens: this.limits.burst,
      refilledAt: Date.now(),
      strikes: 0,
      alive: true,
    };
    this.connections.add(connection);
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    socket.on('pong', () => (connection.alive = true));
    socket.on('message', (data, isBinary) => this.guard(connection, 'a message', () => this.receive(connection, data, isBinary)));
    socket.on('close', () => this.guard(undefined, 'a close', () => this.closed(connection)));
    socket.on('error', () => this.guard(undefined, 'a socket error', () => socket.terminate()));
    connection.joinTimer = setTimeout(() => {
      if (!connection.peerId) this.guard(connection, 'the join deadline', () => socket.close(CLOSE_CODES.policy, 'no join in time'));
    }, this.limits.joinWithinMs);
    connection.joinTimer.unref?.();
    this.send(connection, { v: V, type: 'challenge', nonce: toHex(connection.challenge) });
  }

  private closed(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    clearTimeout(connection.joinTimer);
    const count = (this.perAddress.get(connection.address) ?? 1) - 1;
    if (count > 0) this.perAddress.set(connection.address, count);
    else this.perAddress.delete(connection.address);
    this.leave(connection);
  }

  private guard(connection: Connection | undefined, what: string, run: () => void): void {
    try {
      run();
    } catch (error) {
      this.internalError(what, error);
      if (!connection) return;
      try {
        connection.socket.close(CLOSE_CODES.internalError, 'internal error');
      } catch {
        connection.socket.terminate();
      }
    }
  }

  private internalError(what: string, error: unknown): void {
    this.internalErrors++;
    const now = Date.now();
    if (now - this.loggedAt < 10_000) {
      this.unlogged++;
      return;
    }
    const more = this.unlogged ? ` (${this.unlogged} more since the last report)` : '';
    this.loggedAt = now;
    this.unlogged = 0;
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    try {
      this.log(`signaling: internal error handling ${what}${more}: ${detail.slice(0, 2000)}`);
    } catch {
      // A broken logger must not take the server down either.
    }
  }

  private beat(): void {
    for (const connection of this.connections) {
      this.guard(connection, 'a heartbeat', () => {
        if (!connection.alive) {
          connection.socket.terminate();
          return;
        }
        connection.alive = false;
        connection.socket.ping();
      });
    }
  }

  /** Messages are built here from validated fields only; `data` is a checked string relayed as is. */
  private send(connection: Connection, message: ServerMessage): void {
    if (connection.socket.readyState === connection.socket.OPEN) connection.socket.send(JSON.stringify(message));
  }

  private refuse(connection: Connection, code: SignalingErrorCode, message: string): void {
    this.send(connection, { v: V, type: 'error', code, message });
    if (++connection.strikes >= this.limits.strikes) connection.socket.close(CLOSE_CODES.policy, 'too many refused messages');
  }

  private takeTokens(connection: Connection, count: number): boolean {
    const now = Date.now();
    connection.tokens = Math.min(this.limits.burst, connection.tokens + ((now - connection.refilledAt) / 1000) * this.limits.perSecond);
    connection.refilledAt = now;
    if (connection.tokens < count) return false;
    connection.tokens -= count;
    return true;
  }

  private receive(connection: Connection, data: RawData, isBinary: boolean): void {
    if (!this.takeTokens(connection, 1)) return this.refuse(connection, 'rate-limited', 'too many messages; slow down');
    if (isBinary) return this.refuse(connection, 'malformed', 'binary frames are not part of the signaling protocol');
    const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (bytes.length > MAX_SIGNAL_MESSAGE_BYTES) return this.refuse(connection, 'too-large', `message is over ${MAX_SIGNAL_MESSAGE_BYTES} bytes`);
    const message = parseClientMessage(bytes.toString('utf8'));
    if ('error' in message) return this.refuse(connection, message.code, message.error);
    switch (message.type) {
      case 'join':
        if (!this.takeTokens(connection, this.limits.joinCost - 1)) return this.refuse(connection, 'rate-limited', 'too many joins; slow down');
        return this.join(connection, message);
      case 'signal': {
        if (!connection.room || !connection.peerId) return this.refuse(connection, 'not-joined', 'join a network before signaling');
        const target = this.rooms.get(connection.room)?.get(message.to);
        if (!target) return this.refuse(connection, 'no-such-peer', `peer ${message.to.slice(0, 8)} is not in this network`);
        this.send(target, { v: V, type: 'signal', from: connection.peerId, data: message.data });
        return;
      }
      case 'leave':
        this.leave(connection);
        return;
    }
  }

  private join(connection: Connection, message: Extract<ClientMessage, { type: 'join' }>): void {
    const { room: roomName, peerId } = message;
    if (!checkSignalingJoin(fromHex(peerId), connection.challenge, roomName, fromHex(message.signature))) {
      return this.refuse(connection, 'bad-proof', "the signature does not prove this peer id for this connection's challenge and this network");
    }
    const existing = this.rooms.get(roomName);
    if (connection.room === roomName && connection.peerId === peerId && existing?.get(peerId) === connection) {
      this.send(connection, { v: V, type: 'joined', room: roomName, peers: [...existing.keys()].filter((id) => id !== peerId) });
      return;
    }
    const previous = existing?.get(peerId);
    if (!existing) {
      const current = connection.room ? this.rooms.get(connection.room) : undefined;
      const freesARoom = current?.size === 1 && current.get(connection.peerId ?? '') === connection;
      if (this.rooms.size - (freesARoom ? 1 : 0) >= this.limits.maxRooms) {
        return this.refuse(connection, 'too-many-rooms', 'this server holds as many networks as it can; join an existing one or try later');
      }
    } else if (!previous && existing.size >= this.limits.maxPeersPerRoom) {
      return this.refuse(connection, 'room-full', `network ${roomName} is full`);
    }
    // Every check passed: only now leave the current room.
    this.leave(connection);
    const room = this.rooms.get(roomName) ?? new Map<string, Connection>();
    const replaced = room.get(peerId);
    if (replaced && replaced !== connection) {
      // The same node, proven again (a new leader tab): the newer connection wins.
      room.delete(peerId);
      replaced.room = undefined;
      this.send(replaced, { v: V, type: 'error', code: 'replaced', message: 'this node joined again from another connection' });
      replaced.socket.close(CLOSE_CODES.replaced, 'replaced');
    }
    const peers = [...room.keys()];
    room.set(peerId, connection);
    this.rooms.set(roomName, room);
    connection.room = roomName;
    connection.peerId = peerId;
    clearTimeout(connection.joinTimer);
    this.send(connection, { v: V, type: 'joined', room: roomName, peers });
    if (!replaced) for (const id of peers) this.send(room.get(id)!, { v: V, type: 'peer-joined', peerId });
  }

  private leave(connection: Connection): void {
    const { room: roomName, peerId } = connection;
    connection.room = undefined;
    if (!roomName || !peerId) return;
    const room = this.rooms.get(roomName);
    if (!room || room.get(peerId) !== connection) return;
    room.delete(peerId);
    if (room.size === 0) this.rooms.delete(roomName);
    for (const other of room.values()) this.send(other, { v: V, type: 'peer-left', peerId });
  }
}
