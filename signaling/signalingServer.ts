import { randomBytes, randomInt } from 'node:crypto';
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
  /**
   * Members of one room from one address group: `addressOf` with IPv6 /64 groups widened to their
   * /56 (`roomAddressGroup`). More are refused ('too-many-from-address'). A room has no other size
   * limit than `maxConnections`, so squatters cannot lock anyone out; this keeps one address from
   * filling the samples everyone else is given.
   */
  maxPerAddressInRoom: number;
  /** Peers listed in a `joined` or `peers` message: a uniformly random sample of the others in the room. */
  sampleSize: number;
  /** Members told `peer-joined` about a newcomer: a uniformly random sample of the room. */
  announceTo: number;
  /**
   * Peers a connection is remembered to have been told about (it gets `peer-left` for them); the
   * oldest is forgotten beyond this. Bounds the server's memory at maxConnections × this.
   */
  maxKnownPerConnection: number;
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
  maxPerAddressInRoom: 4,
  sampleSize: 64,
  announceTo: 32,
  maxKnownPerConnection: 256,
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

/**
 * The group a connection counts in for `maxPerAddressInRoom`: an IPv6 /64 group (as
 * `normaliseAddress` writes it) widened to its /56, since a subscriber often gets a whole /56
 * (256 /64s); anything else (IPv4, a proxy's value) as it is.
 */
export function roomAddressGroup(address: string): string {
  const v6 = /^([0-9a-f]{1,4}):([0-9a-f]{1,4}):([0-9a-f]{1,4}):([0-9a-f]{1,4})::\/64$/.exec(address);
  if (!v6) return address;
  return `${v6[1]}:${v6[2]}:${v6[3]}:${(parseInt(v6[4]!, 16) & 0xff00).toString(16)}::/56`;
}

interface Room {
  name: string;
  /** Members in no particular order, for sampling; each knows its place (`Connection.index`). */
  members: Connection[];
  byId: Map<string, Connection>;
  /** Members per `roomAddressGroup`. */
  perGroup: Map<string, number>;
}

interface Connection {
  socket: WebSocket;
  address: string;
  /** `roomAddressGroup(address)`. */
  group: string;
  /** This connection's fresh 32-byte challenge; every join on it signs over it. */
  challenge: Uint8Array;
  room?: string;
  peerId?: string;
  /** Place in its room's `members`, or -1. */
  index: number;
  /** Peer ids in its room this connection has been told about (oldest first, at most maxKnownPerConnection). */
  told: Set<string>;
  /** Members that have been told about this one: they get `peer-left` when it leaves. */
  knownBy: Set<Connection>;
  tokens: number;
  refilledAt: number;
  strikes: number;
  alive: boolean;
  joinTimer?: ReturnType<typeof setTimeout>;
}

const V = SIGNALING_VERSION;

/**
 * Rooms by network name. A connection receives a fresh challenge, proves that it holds the key
 * its peer id names, joins a room and is given a random sample of who else is there (more on
 * asking); peers then exchange WebRTC set-up strings through the server, which relays them only
 * within a room and never parses them. Nothing is stored: when a socket closes, its peer leaves
 * its room.
 *
 * Every message a join, a sample or a leave causes is bounded: `joined`/`peers` list at most
 * `sampleSize` peers, a join is announced to at most `announceTo` members, and `peer-left` goes
 * only to members that were told about the peer (one per earlier introduction). Before a signal
 * is relayed to a member not yet told about its sender, the server sends it `peer-joined` for the
 * sender, so a peer always knows who is signaling it.
 *
 * Every event handler (upgrade, message, close, error, heartbeat) runs inside try/catch: a
 * failure closes at most the one connection it concerns (1011), never the process.
 */
export class SignalingServer {
  private readonly wss: WebSocketServer;
  private readonly rooms = new Map<string, Room>();
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
    return this.rooms.get(room)?.members.length ?? 0;
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
      group: roomAddressGroup(address),
      challenge: randomBytes(32),
      index: -1,
      told: new Set(),
      knownBy: new Set(),
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
        const target = this.rooms.get(connection.room)?.byId.get(message.to);
        if (!target) return this.refuse(connection, 'no-such-peer', `peer ${message.to.slice(0, 8)} is not in this network`);
        if (target !== connection && !target.told.has(connection.peerId)) {
          // Introduce the sender first: the target may never have been sent it in a sample.
          this.tell(target, connection);
          this.send(target, { v: V, type: 'peer-joined', peerId: connection.peerId });
        }
        this.send(target, { v: V, type: 'signal', from: connection.peerId, data: message.data });
        return;
      }
      case 'sample': {
        const room = connection.room ? this.rooms.get(connection.room) : undefined;
        if (!room || !connection.peerId) return this.refuse(connection, 'not-joined', 'join a network before asking for peers');
        this.send(connection, { v: V, type: 'peers', peers: this.sampleFor(room, connection) });
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
    if (connection.room === roomName && connection.peerId === peerId && existing?.byId.get(peerId) === connection) {
      this.send(connection, { v: V, type: 'joined', room: roomName, peers: this.sampleFor(existing, connection) });
      return;
    }
    const previous = existing?.byId.get(peerId);
    if (!existing) {
      const current = connection.room ? this.rooms.get(connection.room) : undefined;
      const freesARoom = current?.members.length === 1 && current.members[0] === connection;
      if (this.rooms.size - (freesARoom ? 1 : 0) >= this.limits.maxRooms) {
        return this.refuse(connection, 'too-many-rooms', 'this server holds as many networks as it can; join an existing one or try later');
      }
    } else {
      // Members from this connection's address group once it is in, not counting a place it frees.
      const inRoom = existing.perGroup.get(connection.group) ?? 0;
      const freed = (connection.room === roomName ? 1 : 0) + (previous && previous.group === connection.group ? 1 : 0);
      if (inRoom - freed >= this.limits.maxPerAddressInRoom) {
        return this.refuse(connection, 'too-many-from-address', `too many connections from your address in network ${roomName}`);
      }
    }
    // Every check passed: only now leave the current room.
    this.leave(connection);
    let room = this.rooms.get(roomName);
    if (!room) {
      room = { name: roomName, members: [], byId: new Map(), perGroup: new Map() };
      this.rooms.set(roomName, room);
    }
    const replaced = room.byId.get(peerId);
    connection.room = roomName;
    connection.peerId = peerId;
    if (replaced && replaced !== connection) {
      // The same node, proven again (a new leader tab): the newer connection wins. It takes the
      // old one's place, and whoever was told about this peer id now knows the new connection.
      this.forget(replaced, room);
      connection.index = replaced.index;
      room.members[connection.index] = connection;
      replaced.index = -1;
      this.countGroup(room, replaced.group, -1);
      connection.knownBy = replaced.knownBy;
      replaced.knownBy = new Set();
      replaced.room = undefined;
      this.send(replaced, { v: V, type: 'error', code: 'replaced', message: 'this node joined again from another connection' });
      replaced.socket.close(CLOSE_CODES.replaced, 'replaced');
    } else {
      connection.index = room.members.length;
      room.members.push(connection);
    }
    room.byId.set(peerId, connection);
    this.countGroup(room, connection.group, 1);
    clearTimeout(connection.joinTimer);
    this.send(connection, { v: V, type: 'joined', room: roomName, peers: this.sampleFor(room, connection) });
    if (replaced) return;
    for (const member of this.sample(room, connection, this.limits.announceTo)) {
      this.tell(member, connection);
      this.send(member, { v: V, type: 'peer-joined', peerId });
    }
  }

  private leave(connection: Connection): void {
    const { room: roomName, peerId } = connection;
    connection.room = undefined;
    if (!roomName || !peerId) return;
    const room = this.rooms.get(roomName);
    if (!room || room.byId.get(peerId) !== connection) return;
    room.byId.delete(peerId);
    const last = room.members.pop()!;
    if (last !== connection) {
      room.members[connection.index] = last;
      last.index = connection.index;
    }
    connection.index = -1;
    this.countGroup(room, connection.group, -1);
    if (room.members.length === 0) this.rooms.delete(roomName);
    this.forget(connection, room);
    // Only those told about this peer hear that it left: one peer-left per earlier introduction.
    for (const member of connection.knownBy) {
      member.told.delete(peerId);
      this.send(member, { v: V, type: 'peer-left', peerId });
    }
    connection.knownBy.clear();
  }

  private countGroup(room: Room, group: string, change: 1 | -1): void {
    const count = (room.perGroup.get(group) ?? 0) + change;
    if (count > 0) room.perGroup.set(group, count);
    else room.perGroup.delete(group);
  }

  /** Records that `member` has been told about `peer` (same room); beyond maxKnownPerConnection the oldest is forgotten. */
  private tell(member: Connection, peer: Connection): void {
    const id = peer.peerId!;
    if (member.told.has(id)) return;
    member.told.add(id);
    peer.knownBy.add(member);
    if (member.told.size <= this.limits.maxKnownPerConnection) return;
    const oldest = member.told.values().next().value!;
    member.told.delete(oldest);
    const room = member.room ? this.rooms.get(member.room) : undefined;
    room?.byId.get(oldest)?.knownBy.delete(member);
  }

  /** Drops what `connection` was told (it leaves its room or is replaced): nobody owes it a peer-left. */
  private forget(connection: Connection, room: Room): void {
    for (const id of connection.told) room.byId.get(id)?.knownBy.delete(connection);
    connection.told.clear();
  }

  /** A fresh sample of the others in `room` for `connection`, recorded as told; their ids. */
  private sampleFor(room: Room, connection: Connection): string[] {
    return this.sample(room, connection, this.limits.sampleSize).map((peer) => {
      this.tell(connection, peer);
      return peer.peerId!;
    });
  }

  /** Up to `count` distinct members of `room` other than `exclude`, uniformly at random (crypto randomness). */
  private sample(room: Room, exclude: Connection, count: number): Connection[] {
    const members = room.members;
    const excluded = exclude.index >= 0 && members[exclude.index] === exclude;
    const available = members.length - (excluded ? 1 : 0);
    const want = Math.max(0, Math.min(count, available));
    if (want * 2 >= available) {
      // Most of the room: shuffle a copy (at most 2 × count long) and take the front.
      const pool = members.filter((member) => member !== exclude);
      for (let i = 0; i < want; i++) {
        const j = i + randomInt(pool.length - i);
        [pool[i], pool[j]] = [pool[j]!, pool[i]!];
      }
      return pool.slice(0, want);
    }
    // A few of many: draw indices until `want` distinct others (expected < 2 draws each).
    const picked = new Set<number>();
    if (excluded) picked.add(exclude.index);
    const sample: Connection[] = [];
    while (sample.length < want) {
      const i = randomInt(members.length);
      if (picked.has(i)) continue;
      picked.add(i);
      sample.push(members[i]!);
    }
    return sample;
  }
}
