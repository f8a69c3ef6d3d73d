import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { generateKeyPair, type KeyPair } from '../src/core/crypto/ed25519';
import { proveSignalingJoin } from '../src/core/mesh/signalingJoin';
import { fromHex, toHex } from '../src/core/wire/hex';
import { SignalingClient, type SignalingEvents, type SignalingSocket } from '../src/browser/links/signalingClient';
import { normaliseAddress, roomAddressGroup, SignalingServer, socketAddress, type SignalingLimits, type SignalingOptions } from './signalingServer';
import { staticFiles } from './staticFiles';
import { jsonDepthWithin, type ServerMessage } from './signalingProtocol';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Tests simulate remote addresses with a header; the real server counts the TCP peer. */
const testAddressOf = (request: IncomingMessage) => {
  if (request.headers['x-test-throw']) throw new Error('address lookup failed');
  const simulated = request.headers['x-test-address'];
  return typeof simulated === 'string' ? simulated : socketAddress(request);
};

async function start(limits: Partial<SignalingLimits> = {}, handler?: Parameters<typeof createServer>[1], options: SignalingOptions = {}) {
  const server: Server = createServer(handler ?? ((_, res) => res.end('ok')));
  const logged: string[] = [];
  const signaling = new SignalingServer(server, limits, { addressOf: testAddressOf, log: (line) => logged.push(line), ...options });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())), () => signaling.close());
  return { signaling, logged, port, url: `ws://127.0.0.1:${port}/signal`, http: `http://127.0.0.1:${port}` };
}

async function waitFor(condition: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A raw protocol client: real `ws` socket, messages recorded. */
class Client {
  readonly messages: ServerMessage[] = [];
  readonly raw: string[] = [];
  closed: { code: number; reason: string } | undefined;
  nonce = '';
  constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.raw.push(String(data));
      this.messages.push(JSON.parse(String(data)) as ServerMessage);
    });
    socket.on('close', (code, reason) => (this.closed = { code, reason: String(reason) }));
  }
  /** Opens a socket (resolves once open, challenge or not). */
  static async open(url: string, address?: string, options: WebSocket.ClientOptions = {}): Promise<Client> {
    const headers = { ...(options.headers ?? {}), ...(address ? { 'x-test-address': address } : {}) };
    const socket = new WebSocket(url, { handshakeTimeout: 3000, ...options, headers });
    const client = new Client(socket);
    cleanups.push(() => socket.terminate());
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    return client;
  }
  /** Opens a socket and waits for the server's challenge. */
  static async connect(url: string, address?: string, options: WebSocket.ClientOptions = {}): Promise<Client> {
    const client = await Client.open(url, address, options);
    client.nonce = (await client.next('challenge')).nonce;
    return client;
  }
  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }
  join(key: KeyPair, room: string): void {
    this.send(joinMessage(key, this.nonce, room));
  }
  async next<T extends ServerMessage['type']>(type: T, timeoutMs = 3000): Promise<Extract<ServerMessage, { type: T }>> {
    const start = Date.now();
    for (;;) {
      const found = this.messages.findIndex((m) => m.type === type);
      if (found >= 0) return this.messages.splice(found, 1)[0] as Extract<ServerMessage, { type: T }>;
      if (Date.now() - start > timeoutMs) throw new Error(`no ${type} message; got ${JSON.stringify(this.messages).slice(0, 500)}`);
      await sleep(5);
    }
  }
  async waitClosed(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    await waitFor(() => this.closed !== undefined, timeoutMs, 'the socket to close');
    return this.closed!;
  }
}

const hexId = (key: KeyPair) => toHex(key.publicKey);

function joinMessage(key: KeyPair, nonce: string, room: string, peerId = hexId(key)) {
  return { v: 2, type: 'join', room, peerId, signature: toHex(proveSignalingJoin(key, fromHex(nonce), room)) };
}

/** An honest node: connects, proves its key, joins. */
async function honest(url: string, room: string, key = generateKeyPair(), address?: string) {
  const client = await Client.connect(url, address);
  client.join(key, room);
  const joined = await client.next('joined');
  return { client, key, id: hexId(key), peers: joined.peers };
}

/** Two honest peers in a fresh room relay a message both ways: the server is alive and well. */
async function honestPairWorks(url: string, room = `check-${Math.random().toString(36).slice(2, 8)}`) {
  const a = await honest(url, room);
  const b = await honest(url, room);
  expect(b.peers).toEqual([a.id]);
  expect((await a.client.next('peer-joined')).peerId).toBe(b.id);
  b.client.send({ v: 2, type: 'signal', to: a.id, data: '{"type":"offer","sdp":"v=0"}' });
  expect(await a.client.next('signal')).toEqual({ v: 2, type: 'signal', from: b.id, data: '{"type":"offer","sdp":"v=0"}' });
  a.client.send({ v: 2, type: 'signal', to: b.id, data: 'answer' });
  expect((await b.client.next('signal')).data).toBe('answer');
  a.client.socket.close();
  b.client.socket.close();
}

/** The real browser client, driven over a `ws` socket. */
function browserClient(
  url: string,
  room: string,
  key: KeyPair,
  options: { replacedBackoffMs?: number; retryMs?: number; prove?: (challenge: Uint8Array, room: string) => Promise<Uint8Array> } = {},
) {
  const log = {
    joined: [] as string[][],
    joinedAt: [] as number[],
    signals: [] as { from: string; data: unknown }[],
    peerJoined: [] as string[],
    peerLeft: [] as string[],
    status: [] as { state: string; detail?: string; at: number }[],
  };
  const events: SignalingEvents = {
    joined: (peers) => {
      log.joined.push(peers);
      log.joinedAt.push(Date.now());
    },
    peerJoined: (peer) => log.peerJoined.push(peer),
    peerLeft: (peer) => log.peerLeft.push(peer),
    signal: (from, data) => log.signals.push({ from, data }),
    status: (state, detail) => log.status.push({ state, detail, at: Date.now() }),
  };
  const prove = options.prove ?? (async (challenge: Uint8Array, joinRoom: string) => proveSignalingJoin(key, challenge, joinRoom));
  const client = new SignalingClient(url, room, hexId(key), prove, events, {
    replacedBackoffMs: options.replacedBackoffMs,
    retryMs: options.retryMs,
    createSocket: (address) => new WebSocket(address) as unknown as SignalingSocket,
  });
  cleanups.push(() => client.stop());
  client.start();
  return { client, log, id: hexId(key) };
}

const nested = (depth: number, inner = '') => '['.repeat(depth) + inner + ']'.repeat(depth);

/** The server's private bookkeeping, for consistency checks. */
interface InternalConnection {
  room?: string;
  peerId?: string;
  index: number;
  group: string;
  told: Set<string>;
  knownBy: Set<InternalConnection>;
}
interface Internals {
  connections: Set<InternalConnection>;
  rooms: Map<string, { members: InternalConnection[]; byId: Map<string, InternalConnection>; perGroup: Map<string, number> }>;
  limits: SignalingLimits;
}

/**
 * Every room's members, index, id map and address counts agree; every "told" edge has its
 * reverse ("known by") and the other way round, within one room; nobody remembers more than
 * maxKnownPerConnection peers.
 */
function expectConsistent(signaling: SignalingServer): void {
  const { connections, rooms, limits } = signaling as unknown as Internals;
  let members = 0;
  for (const [name, room] of rooms) {
    expect(room.members.length).toBeGreaterThan(0);
    expect(room.byId.size).toBe(room.members.length);
    members += room.members.length;
    const groups = new Map<string, number>();
    room.members.forEach((connection, index) => {
      expect(connection.index).toBe(index);
      expect(connection.room).toBe(name);
      expect(room.byId.get(connection.peerId!)).toBe(connection);
      expect(connections.has(connection)).toBe(true);
      groups.set(connection.group, (groups.get(connection.group) ?? 0) + 1);
      expect(connection.told.size).toBeLessThanOrEqual(limits.maxKnownPerConnection);
      expect(connection.told.has(connection.peerId!)).toBe(false);
      for (const id of connection.told) expect(room.byId.get(id)!.knownBy.has(connection)).toBe(true);
      for (const viewer of connection.knownBy) {
        expect(viewer.room).toBe(name);
        expect(viewer.told.has(connection.peerId!)).toBe(true);
      }
    });
    expect(room.perGroup).toEqual(groups);
  }
  for (const connection of connections) {
    if (connection.index >= 0) continue;
    expect(connection.told.size).toBe(0);
    expect(connection.knownBy.size).toBe(0);
  }
  expect([...connections].filter((c) => c.index >= 0)).toHaveLength(members);
}

/** Connects and joins `count` throwaway keys from one address, all at once; the answers (joined or error) per client. */
async function throwaways(url: string, room: string, address: string, count: number) {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const key = generateKeyPair();
      const client = await Client.connect(url, address);
      client.join(key, room);
      await waitFor(() => client.messages.some((m) => m.type === 'joined' || m.type === 'error'), 10_000, 'a join answer');
      const answer = client.messages.find((m) => m.type === 'joined' || m.type === 'error')!;
      return { client, id: hexId(key), answer };
    }),
  );
}

/** Asks for samples until `wanted` is in one (the `joined` sample counts); bounded tries. Returns the tries taken. */
async function askUntilSeen(member: { client: Client; peers: string[] }, wanted: string, tries: number): Promise<number> {
  if (member.peers.includes(wanted)) return 0;
  for (let i = 1; i <= tries; i++) {
    member.client.send({ v: 2, type: 'sample' });
    const { peers } = await member.client.next('peers');
    expect(peers.length).toBeLessThanOrEqual(64);
    if (peers.includes(wanted)) return i;
    await sleep(25); // stays within the rate limit: 20 tokens a second, 1 a sample
  }
  throw new Error(`${wanted.slice(0, 8)} not seen in ${tries} samples`);
}

describe('signaling server', () => {
  it('introduces proven peers in a room and relays set-up strings between them only', async () => {
    const { url, signaling } = await start();
    const a = await honest(url, 'market');
    expect(a.peers).toEqual([]);
    const b = await honest(url, 'market');
    expect(b.peers).toEqual([a.id]);
    expect((await a.client.next('peer-joined')).peerId).toBe(b.id);
    const other = await honest(url, 'elsewhere');
    expect(signaling.roomSize('market')).toBe(2);

    b.client.send({ v: 2, type: 'signal', to: a.id, data: '{"sdp":"offer"}' });
    expect(await a.client.next('signal')).toEqual({ v: 2, type: 'signal', from: b.id, data: '{"sdp":"offer"}' });
    other.client.send({ v: 2, type: 'signal', to: a.id, data: 'x' });
    expect((await other.client.next('error')).code).toBe('no-such-peer');

    b.client.socket.close();
    expect((await a.client.next('peer-left')).peerId).toBe(b.id);
    expect(signaling.roomSize('market')).toBe(1);
  });

  it('sends a fresh 32-byte challenge on every connection', async () => {
    const { url } = await start();
    const nonces = new Set<string>();
    for (let i = 0; i < 5; i++) nonces.add((await Client.connect(url)).nonce);
    expect(nonces.size).toBe(5);
    for (const nonce of nonces) expect(nonce).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses malformed, version 1 and unjoined messages with a reason that never echoes the input', async () => {
    const { url } = await start();
    const c = await Client.connect(url);
    const key = generateKeyPair();
    c.send('{not json');
    expect((await c.next('error')).message).toMatch(/not JSON/);
    c.send({ v: 1, type: 'join', room: 'x', peerId: hexId(key).slice(0, 32) });
    const version = await c.next('error');
    expect(version.code).toBe('unsupported-version');
    expect(version.message).toMatch(/unsupported version 1.*version 2/);
    c.send({ v: 2, type: 'join', room: 'has spaces', peerId: hexId(key), signature: '0'.repeat(128) });
    expect((await c.next('error')).message).toMatch(/room must be/);
    c.send({ v: 2, type: 'join', room: 'x', peerId: hexId(key).toUpperCase(), signature: '0'.repeat(128) });
    expect((await c.next('error')).message).toMatch(/peerId must be 64 lowercase hex/);
    c.send({ v: 2, type: 'join', room: 'x', peerId: hexId(key) });
    expect((await c.next('error')).message).toMatch(/signature must be/);
    c.send({ v: 2, type: 'signal', to: hexId(key), data: { sdp: 'an object' } });
    expect((await c.next('error')).message).toMatch(/data must be a string/);
    c.send({ v: 2, type: 'signal', to: hexId(key), data: 'x' });
    expect((await c.next('error')).code).toBe('not-joined');
    c.send({ v: 2, type: 'surprise-<script>' });
    const unknown = await c.next('error');
    expect(unknown.message).toBe('unknown message type');
    c.send({ v: { toString: 'x' }, type: 'join' });
    expect((await c.next('error')).message).not.toMatch(/object|toString/);
    c.send('[1,2]');
    expect((await c.next('error')).message).toMatch(/not a JSON object/);
    expect(c.closed).toBeUndefined();
  });

  it('closes a connection that sends a frame over 16 KiB, and refuses signal data over 12 KiB', async () => {
    const { url } = await start();
    const a = await honest(url, 'big');
    const b = await honest(url, 'big');
    b.client.send({ v: 2, type: 'signal', to: a.id, data: 'x'.repeat(12 * 1024 + 1) });
    expect((await b.client.next('error')).code).toBe('too-large');
    b.client.send({ v: 2, type: 'signal', to: a.id, data: 'x'.repeat(12 * 1024) });
    expect((await a.client.next('signal')).data).toHaveLength(12 * 1024);
    b.client.send({ v: 2, type: 'signal', to: a.id, data: 'x'.repeat(20_000) });
    expect((await b.client.waitClosed()).code).toBe(1009);
  });

  it('rate-limits a flooding connection, charges joins more, and finally closes it', async () => {
    const { url } = await start({ burst: 25, perSecond: 1, joinCost: 10, strikes: 10 });
    const key = generateKeyPair();
    const c = await Client.connect(url);
    c.join(key, 'flood');
    await c.next('joined');
    c.join(key, 'flood-2');
    await c.next('joined');
    c.join(key, 'flood-3'); // 5 tokens left, 10 asked
    expect((await c.next('error')).message).toMatch(/too many joins/);
    for (let i = 0; i < 20; i++) c.send({ v: 2, type: 'leave' });
    expect((await c.next('error')).code).toBe('rate-limited');
    expect((await c.waitClosed()).code).toBe(1008);
  });

  it('drops a peer that stops answering heartbeats, and tells the room', async () => {
    const { url, signaling } = await start({ heartbeatMs: 100 });
    const alive = await honest(url, 'hb');
    const silent = await Client.connect(url, undefined, { autoPong: false });
    const silentKey = generateKeyPair();
    silent.join(silentKey, 'hb');
    await alive.client.next('peer-joined');
    expect((await alive.client.next('peer-left', 3000)).peerId).toBe(hexId(silentKey));
    expect(signaling.roomSize('hb')).toBe(1);
    expect(alive.client.closed).toBeUndefined();
  });

  it('closes a connection that never joins', async () => {
    const { url } = await start({ joinWithinMs: 200 });
    const idle = await Client.connect(url);
    const member = await honest(url, 'r');
    expect(await idle.waitClosed()).toEqual({ code: 1008, reason: 'no join in time' });
    await sleep(250);
    expect(member.client.closed).toBeUndefined();
  });

  it('holds at most 4 members per address in a room (IPv6 per /56); other addresses, other rooms and a freed place still work', async () => {
    const { url, signaling } = await start();
    const four = [];
    for (let i = 0; i < 4; i++) four.push(await honest(url, 'r', generateKeyPair(), '203.0.113.9'));
    const fifth = await Client.connect(url, '203.0.113.9');
    const fifthKey = generateKeyPair();
    fifth.join(fifthKey, 'r');
    const refused = await fifth.next('error');
    expect(refused).toEqual({ v: 2, type: 'error', code: 'too-many-from-address', message: 'too many connections from your address in network r' });
    expect(signaling.roomSize('r')).toBe(4);
    // Another room takes it; another address joins the first room.
    fifth.join(fifthKey, 'elsewhere');
    await fifth.next('joined');
    await honest(url, 'r', generateKeyPair(), '203.0.113.10');
    // Four /64s of one /56 are one address here; a /64 of the next /56 is another.
    for (const group of ['100', '1a0', '1ff', '180']) await honest(url, 'r', generateKeyPair(), `2001:db8:1:${group}::/64`);
    const sameSlash56 = await Client.connect(url, '2001:db8:1:1fe::/64');
    sameSlash56.join(generateKeyPair(), 'r');
    expect((await sameSlash56.next('error')).code).toBe('too-many-from-address');
    await honest(url, 'r', generateKeyPair(), '2001:db8:1:200::/64');
    // The same node on a new connection from the same address replaces its old one: no new place needed.
    const again = await Client.connect(url, '203.0.113.9');
    again.join(four[0]!.key, 'r');
    await again.next('joined');
    expect((await four[0]!.client.waitClosed()).code).toBe(4000);
    // A member that leaves frees its place.
    four[1]!.client.socket.close();
    await waitFor(() => signaling.roomSize('r') === 9, 3000, 'the leave');
    fifth.join(fifthKey, 'r');
    await fifth.next('joined');
    expect(signaling.roomSize('r')).toBe(10);
    expectConsistent(signaling);
  });

  it('moves a connection to another room with a new signature over the same challenge', async () => {
    const { url, signaling } = await start();
    const inA = await honest(url, 'room-a');
    const inB = await honest(url, 'room-b');
    const mover = await honest(url, 'room-a');
    await inA.client.next('peer-joined');
    // The signature for room A does not move it to room B …
    mover.client.send({ ...joinMessage(mover.key, mover.client.nonce, 'room-a'), room: 'room-b' });
    expect((await mover.client.next('error')).code).toBe('bad-proof');
    expect(signaling.roomSize('room-a')).toBe(2);
    // … a new one over the same connection's challenge does.
    mover.client.join(mover.key, 'room-b');
    expect((await mover.client.next('joined')).peers).toEqual([inB.id]);
    expect((await inA.client.next('peer-left')).peerId).toBe(mover.id);
    expect((await inB.client.next('peer-joined')).peerId).toBe(mover.id);
    inA.client.send({ v: 2, type: 'signal', to: mover.id, data: 'x' });
    expect((await inA.client.next('error')).code).toBe('no-such-peer');
  });
});

describe('attacks on the signaling server fail, and honest peers are unaffected', () => {
  it('a 16 KB nested-array bomb (anywhere in a message) is refused before parsing; the server keeps serving', async () => {
    const { url, signaling } = await start();
    const victim = await honest(url, 'bomb');
    const attacker = await honest(url, 'bomb');
    await victim.client.next('peer-joined');
    const bombs = [
      `{"v":2,"type":"signal","to":"${victim.id}","data":${nested(8000)}}`,
      nested(8100),
      `{"v":2,"type":"join","room":${nested(8000)},"peerId":"${victim.id}","signature":"${'0'.repeat(128)}"}`,
      `{"v":2,"type":"signal","to":"${victim.id}","data":{"a":${'{"a":'.repeat(2600)}1${'}'.repeat(2600)}}}`,
    ];
    for (const bomb of bombs) {
      expect(bomb.length).toBeLessThanOrEqual(16 * 1024);
      attacker.client.send(bomb);
      const error = await attacker.client.next('error');
      expect(error.code).toBe('malformed');
      expect(error.message).toMatch(/nested deeper than 8/);
    }
    // The limit is exact: 8 levels are parsed (and then refused because data must be a string); 9 are not parsed.
    attacker.client.send(`{"v":2,"type":"signal","to":"${victim.id}","data":${nested(7, '1')}}`);
    expect((await attacker.client.next('error')).message).toMatch(/data must be a string/);
    attacker.client.send(`{"v":2,"type":"signal","to":"${victim.id}","data":${nested(8, '1')}}`);
    expect((await attacker.client.next('error')).message).toMatch(/nested deeper than 8/);
    // Brackets inside strings are text, not nesting.
    attacker.client.send({ v: 2, type: 'signal', to: victim.id, data: nested(5000) });
    expect((await victim.client.next('signal')).data).toBe(nested(5000));

    expect(signaling.internalErrors).toBe(0);
    expect(victim.client.closed).toBeUndefined();
    await honestPairWorks(url);
    const late = await honest(url, 'bomb');
    expect(late.peers.sort()).toEqual([victim.id, attacker.id].sort());
  });

  it('nested JSON inside a data string is relayed unparsed, and the browser client drops it safely', async () => {
    const { url, signaling } = await start();
    const receiver = browserClient(url, 'inner', generateKeyPair());
    await waitFor(() => receiver.log.joined.length === 1, 3000, 'the browser client to join');
    const sender = await honest(url, 'inner');
    const bomb = nested(6000); // 12,000 bytes: within the data limit, far beyond the depth limit
    sender.client.send({ v: 2, type: 'signal', to: receiver.id, data: bomb });
    sender.client.send({ v: 2, type: 'signal', to: receiver.id, data: `{"type":"offer","sdp":${nested(9, '1')}}` });
    sender.client.send({ v: 2, type: 'signal', to: receiver.id, data: 'not json {' });
    sender.client.send({ v: 2, type: 'signal', to: receiver.id, data: JSON.stringify({ type: 'offer', sdp: 'v=0\r\n' }) });
    await waitFor(() => receiver.log.signals.length > 0, 3000, 'the honest signal');
    await sleep(50);
    expect(receiver.log.signals).toEqual([{ from: sender.id, data: { type: 'offer', sdp: 'v=0\r\n' } }]);
    expect(signaling.internalErrors).toBe(0);
    // And the browser client sends its objects as strings.
    receiver.client.signal(sender.id, { type: 'answer', sdp: 'v=0' });
    expect(await sender.client.next('signal')).toEqual({ v: 2, type: 'signal', from: receiver.id, data: '{"type":"answer","sdp":"v=0"}' });
  });

  it('too many connections from one address are refused with 1013, while other addresses still work', async () => {
    const { url, signaling } = await start({ maxConnectionsPerAddress: 16 });
    const mine: Client[] = [];
    for (let i = 0; i < 16; i++) mine.push(await Client.connect(url, '203.0.113.7'));
    const refused = await Client.open(url, '203.0.113.7');
    expect(await refused.waitClosed()).toEqual({ code: 1013, reason: 'too many connections from your address' });
    expect(refused.messages).toEqual([]); // not even a challenge
    expect(signaling.stats().connections).toBe(16);
    // Another address is unaffected.
    const a = await honest(url, 'shared', generateKeyPair(), '198.51.100.1');
    const b = await honest(url, 'shared', generateKeyPair(), '198.51.100.2');
    b.client.send({ v: 2, type: 'signal', to: a.id, data: 'hello' });
    expect((await a.client.next('signal')).data).toBe('hello');
    // A closed connection frees its place.
    mine[0]!.socket.close();
    await mine[0]!.waitClosed();
    await waitFor(() => signaling.stats().connections === 17, 3000, 'the server to notice the close');
    await honest(url, 'again', generateKeyPair(), '203.0.113.7');
  });

  it('the whole server holds at most maxConnections; the next one is refused with 1013 until one leaves', async () => {
    const { url, signaling } = await start({ maxConnections: 3 });
    const held = [await Client.connect(url, '10.0.0.1'), await Client.connect(url, '10.0.0.2'), await Client.connect(url, '10.0.0.3')];
    const refused = await Client.open(url, '10.0.0.4');
    expect(await refused.waitClosed()).toEqual({ code: 1013, reason: 'server full: too many connections; try again later' });
    held[0]!.socket.close();
    await waitFor(() => signaling.stats().connections === 2, 3000, 'the server to notice the close');
    await honest(url, 'r', generateKeyPair(), '10.0.0.4');
  });

  it('the server holds at most maxRooms networks; joining existing ones still works', async () => {
    const { url, signaling } = await start({ maxRooms: 2 });
    const one = await honest(url, 'one');
    const two = await honest(url, 'two');
    const third = await Client.connect(url);
    const key = generateKeyPair();
    third.join(key, 'three');
    expect((await third.next('error')).code).toBe('too-many-rooms');
    expect(signaling.stats().rooms).toBe(2);
    third.join(key, 'one');
    expect((await third.next('joined')).peers).toEqual([one.id]);
    // A peer alone in its room may move to a new one: its old room closes.
    two.client.join(two.key, 'three');
    expect((await two.client.next('joined')).peers).toEqual([]);
    expect(signaling.stats().rooms).toBe(2);
  });

  it('IPv6 addresses count per /64 (per /56 within a room); IPv4-mapped addresses count as IPv4', () => {
    expect(roomAddressGroup('2001:db8:1:2::/64')).toBe('2001:db8:1:0::/56');
    expect(roomAddressGroup('2001:db8:1:2ff::/64')).toBe('2001:db8:1:200::/56');
    expect(roomAddressGroup('2001:db8:1:ff00::/64')).toBe('2001:db8:1:ff00::/56');
    expect(roomAddressGroup('192.0.2.1')).toBe('192.0.2.1');
    expect(roomAddressGroup('something a proxy said')).toBe('something a proxy said');
    expect(normaliseAddress('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(normaliseAddress('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(normaliseAddress('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(normaliseAddress('::1')).toBe('0:0:0:0::/64');
    expect(normaliseAddress('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(normaliseAddress('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(normaliseAddress('192.0.2.1')).toBe('192.0.2.1');
  });

  it('a failing upgrade or message handler closes at most that one connection; the process keeps serving', async () => {
    const { url, http, signaling, logged } = await start();
    // The address lookup throws during the HTTP upgrade.
    await expect(Client.open(url, undefined, { headers: { 'x-test-throw': '1' } })).rejects.toThrow();
    // A wrong path is turned away.
    await expect(Client.open(url.replace('/signal', '/other'))).rejects.toThrow(/404/);
    // A handler throws while handling a join.
    const server = signaling as unknown as { join: (...args: unknown[]) => void };
    const join = vi.spyOn(server, 'join').mockImplementationOnce(() => {
      throw new Error('boom');
    });
    const unlucky = await Client.connect(url);
    unlucky.join(generateKeyPair(), 'r');
    expect(await unlucky.waitClosed()).toEqual({ code: 1011, reason: 'internal error' });
    join.mockRestore();
    expect(signaling.internalErrors).toBe(2);
    expect(logged.join('\n')).toMatch(/internal error handling upgrade.*address lookup failed/);
    expect(await (await fetch(`${http}/`)).text()).toBe('ok');
    await honestPairWorks(url);
  });

  it('an impostor using an honest peer id without its key is refused; the honest peer stays and keeps receiving', async () => {
    const { url, signaling } = await start();
    const victim = await honest(url, 'market');
    const friend = await honest(url, 'market');
    await victim.client.next('peer-joined');
    const impostorKey = generateKeyPair();
    const impostor = await Client.connect(url);
    // A valid signature by the impostor's own key, a signature by nobody, and the victim's own earlier signature.
    impostor.send(joinMessage(impostorKey, impostor.nonce, 'market', victim.id));
    impostor.send({ v: 2, type: 'join', room: 'market', peerId: victim.id, signature: '0'.repeat(128) });
    impostor.send(joinMessage(victim.key, victim.client.nonce, 'market'));
    for (let i = 0; i < 3; i++) expect((await impostor.next('error')).code).toBe('bad-proof');
    await sleep(50);
    expect(impostor.messages.find((m) => m.type === 'joined')).toBeUndefined();
    expect(victim.client.closed).toBeUndefined();
    expect(victim.client.messages.find((m) => m.type === 'error')).toBeUndefined();
    expect(friend.client.messages.find((m) => m.type === 'peer-left' || m.type === 'peer-joined')).toBeUndefined();
    expect(signaling.roomSize('market')).toBe(2);
    friend.client.send({ v: 2, type: 'signal', to: victim.id, data: 'still here?' });
    expect((await victim.client.next('signal')).data).toBe('still here?');
    // Each refused proof is a strike.
    const striking = await start({ strikes: 3 });
    const repeat = await Client.connect(striking.url);
    for (let i = 0; i < 3; i++) repeat.send({ v: 2, type: 'join', room: 'market', peerId: victim.id, signature: '0'.repeat(128) });
    expect((await repeat.waitClosed()).code).toBe(1008);
  });

  it('a signature made for room A does not join room B', async () => {
    const { url, signaling } = await start();
    const key = generateKeyPair();
    const c = await Client.connect(url);
    c.send({ ...joinMessage(key, c.nonce, 'room-a'), room: 'room-b' });
    expect((await c.next('error')).code).toBe('bad-proof');
    expect(signaling.roomSize('room-b')).toBe(0);
    c.join(key, 'room-b');
    await c.next('joined');
  });

  it('an old signature replayed on a new connection is refused (each connection has its own challenge)', async () => {
    const { url, signaling } = await start();
    const victim = await honest(url, 'market');
    const watcher = await honest(url, 'market');
    const captured = joinMessage(victim.key, victim.client.nonce, 'market');
    const replayer = await Client.connect(url);
    replayer.send(captured);
    expect((await replayer.next('error')).code).toBe('bad-proof');
    // Even after the victim has gone, its old proof opens nothing.
    victim.client.socket.close();
    expect((await watcher.client.next('peer-left')).peerId).toBe(victim.id);
    const later = await Client.connect(url);
    later.send(captured);
    expect((await later.next('error')).code).toBe('bad-proof');
    expect(signaling.roomSize('market')).toBe(1);
  });

  it('only a proven holder of the same key replaces a connection (a new leader tab of the same node)', async () => {
    const { url, signaling } = await start();
    const watcher = await honest(url, 'r');
    const oldTab = await honest(url, 'r');
    await watcher.client.next('peer-joined');
    const newTab = await Client.connect(url);
    newTab.join(oldTab.key, 'r');
    expect((await newTab.next('joined')).peers).toEqual([watcher.id]);
    expect((await oldTab.client.next('error')).code).toBe('replaced');
    expect((await oldTab.client.waitClosed()).code).toBe(4000);
    expect(signaling.roomSize('r')).toBe(2);
    await sleep(50);
    expect(watcher.client.messages.find((m) => m.type === 'peer-left')).toBeUndefined();
    watcher.client.send({ v: 2, type: 'signal', to: oldTab.id, data: 'hi' });
    expect((await newTab.next('signal')).data).toBe('hi');
  });

  it('a browser client that was replaced backs off, then comes back once the other connection is gone', async () => {
    const { url, signaling } = await start();
    const watcher = await honest(url, 'r');
    const key = generateKeyPair();
    const tab = browserClient(url, 'r', key, { replacedBackoffMs: 600, retryMs: 20 });
    await waitFor(() => tab.log.joined.length === 1, 3000, 'the tab to join');
    expect((await watcher.client.next('peer-joined')).peerId).toBe(tab.id);

    const other = await Client.connect(url);
    other.join(key, 'r');
    await other.next('joined');
    const replacedAt = Date.now();
    await waitFor(() => tab.log.status.some((s) => s.state === 'offline' && /another tab/.test(s.detail ?? '')), 3000, 'the tab to hear it was replaced');
    // It does not fight back at once (its normal retry would be 20 ms) …
    await sleep(200);
    expect(signaling.stats().connections).toBe(2);
    expect(tab.log.joined).toHaveLength(1);
    // … and when the other connection goes, it returns after its backoff.
    other.socket.close();
    expect((await watcher.client.next('peer-left')).peerId).toBe(tab.id);
    await waitFor(() => tab.log.joined.length === 2, 3000, 'the tab to come back');
    expect(tab.log.joinedAt[1]! - replacedAt).toBeGreaterThanOrEqual(550);
    expect(tab.log.joined[1]).toEqual([watcher.id]);
    expect((await watcher.client.next('peer-joined')).peerId).toBe(tab.id);
    watcher.client.send({ v: 2, type: 'signal', to: tab.id, data: '{"type":"offer"}' });
    await waitFor(() => tab.log.signals.length === 1, 3000, 'a relay to the returned tab');
    expect(tab.log.signals[0]).toEqual({ from: watcher.id, data: { type: 'offer' } });
  });

  it('the browser client proves itself again for each room it switches to', async () => {
    const { url } = await start();
    const inB = await honest(url, 'room-b');
    const tab = browserClient(url, 'room-a', generateKeyPair());
    await waitFor(() => tab.log.joined.length === 1, 3000, 'the first join');
    expect(tab.log.joined[0]).toEqual([]);
    tab.client.switchRoom('room-b');
    await waitFor(() => tab.log.joined.length === 2, 3000, 'the second join');
    expect(tab.log.joined[1]).toEqual([inB.id]);
    expect((await inB.client.next('peer-joined')).peerId).toBe(tab.id);
    expect(tab.log.status.filter((s) => s.detail !== undefined && s.state === 'online')).toEqual([]); // no refusals
  });
});

describe('rooms cannot be squatted, and what a member is told is bounded', () => {
  it('256 throwaway keys squat the default room (16 IPv4 addresses × 16, then 48 IPv6 /56s × 6); two honest merchants still join, find each other and signal', async () => {
    const { url, signaling } = await start(); // default limits
    const room = 'souk-local';
    // The red-team attack: 16 addresses × 16 fresh keys. Only 4 per address get in.
    const v4 = (await Promise.all(Array.from({ length: 16 }, (_, a) => throwaways(url, room, `198.18.0.${a + 1}`, 16)))).flat();
    expect(v4.filter((s) => s.answer.type === 'joined')).toHaveLength(64);
    for (const refused of v4.filter((s) => s.answer.type !== 'joined')) expect(refused.answer).toMatchObject({ type: 'error', code: 'too-many-from-address' });
    // An attacker with IPv6 has /56s to spare: 48 of them × 6 /64s each, 4 per /56 get in.
    const v6 = (
      await Promise.all(Array.from({ length: 48 }, (_, a) => Promise.all(Array.from({ length: 6 }, (_, b) => throwaways(url, room, `2001:db8:${(a + 1).toString(16)}:${b}::/64`, 1)))))
    ).flat(2);
    expect(v6.filter((s) => s.answer.type === 'joined')).toHaveLength(192);
    const squatters = [...v4, ...v6].filter((s) => s.answer.type === 'joined');
    // The old room cap (256) is reached; every joined sample was bounded.
    expect(signaling.roomSize(room)).toBe(256);
    for (const s of squatters) expect((s.answer as Extract<ServerMessage, { type: 'joined' }>).peers.length).toBeLessThanOrEqual(64);

    // Honest merchants are let in and given a bounded sample of the room …
    const a = await honest(url, room, generateKeyPair(), '192.0.2.10');
    const b = await honest(url, room, generateKeyPair(), '192.0.2.20');
    expect(a.peers).toHaveLength(64);
    expect(b.peers).toHaveLength(64);
    expect(signaling.roomSize(room)).toBe(258);
    // … each join announced to exactly 32 members, not the whole room.
    await sleep(100);
    const announced = (id: string) => squatters.filter((s) => s.client.messages.some((m) => m.type === 'peer-joined' && m.peerId === id));
    expect(announced(a.id)).toHaveLength(32);
    expect(announced(b.id).length).toBeGreaterThanOrEqual(31); // 32 of the 257 others, one of them maybe A
    // Each finds the other by asking for fresh samples (a quarter of the room each time; 80 tries fail with p ≈ 1e-10).
    await askUntilSeen(a, b.id, 80);
    await askUntilSeen(b, a.id, 80);
    a.client.send({ v: 2, type: 'signal', to: b.id, data: '{"type":"offer","sdp":"v=0"}' });
    expect(await b.client.next('signal')).toEqual({ v: 2, type: 'signal', from: a.id, data: '{"type":"offer","sdp":"v=0"}' });
    b.client.send({ v: 2, type: 'signal', to: a.id, data: '{"type":"answer","sdp":"v=0"}' });
    expect((await a.client.next('signal')).from).toBe(b.id);
    // When A leaves, only those told about it hear so: the 32 it was announced to, and B.
    const told = announced(a.id);
    a.client.socket.close();
    expect((await b.client.next('peer-left')).peerId).toBe(a.id);
    await waitFor(() => told.every((s) => s.client.messages.some((m) => m.type === 'peer-left' && m.peerId === a.id)), 3000, 'peer-left to the 32');
    await sleep(50);
    expect(squatters.filter((s) => s.client.messages.some((m) => m.type === 'peer-left' && m.peerId === a.id))).toHaveLength(32);
    expect(signaling.internalErrors).toBe(0);
    expectConsistent(signaling);
  }, 30_000);

  it('a join is announced to announceTo random members, joined and peers list at most sampleSize others, peer-left reaches exactly those told', async () => {
    const { url, signaling } = await start({ sampleSize: 4, announceTo: 3 });
    const members: Awaited<ReturnType<typeof honest>>[] = [];
    for (let i = 0; i < 12; i++) {
      const member = await honest(url, 'm', generateKeyPair(), `10.1.0.${i + 1}`);
      expect(member.peers).toHaveLength(Math.min(4, i));
      expect(new Set(member.peers).size).toBe(member.peers.length);
      for (const id of member.peers) expect(members.map((m) => m.id)).toContain(id);
      const hearers = () => members.filter((m) => m.client.messages.some((x) => x.type === 'peer-joined' && x.peerId === member.id));
      await waitFor(() => hearers().length === Math.min(3, i), 3000, 'the announcements');
      members.push(member);
    }
    await sleep(50);
    // Announcements went to random members: over 11 joins of 3, more than 3 members heard one.
    expect(members.filter((m) => m.client.messages.some((x) => x.type === 'peer-joined')).length).toBeGreaterThan(3);
    // A sample: at most 4 distinct others, fresh each time.
    const asker = members[0]!;
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) {
      asker.client.send({ v: 2, type: 'sample' });
      const { peers } = await asker.client.next('peers');
      expect(peers).toHaveLength(4);
      expect(new Set(peers).size).toBe(4);
      expect(peers).not.toContain(asker.id);
      for (const id of peers) seen.add(id);
    }
    expect(seen.size).toBeGreaterThan(4);
    // A newcomer signals a member that was never told about it: the server introduces it first.
    const newcomer = await honest(url, 'm', generateKeyPair(), '10.1.1.1');
    await sleep(50);
    const knows = (m: (typeof members)[number], id: string) =>
      m.client.messages.some((x) => (x.type === 'peer-joined' && x.peerId === id) || (x.type === 'peers' && x.peers.includes(id)));
    const stranger = members.find((m) => !knows(m, newcomer.id))!;
    const before = stranger.client.messages.length;
    newcomer.client.send({ v: 2, type: 'signal', to: stranger.id, data: 'offer' });
    await waitFor(() => stranger.client.messages.length >= before + 2, 3000, 'the introduction and the signal');
    expect(stranger.client.messages.slice(before)).toEqual([
      { v: 2, type: 'peer-joined', peerId: newcomer.id },
      { v: 2, type: 'signal', from: newcomer.id, data: 'offer' },
    ]);
    newcomer.client.send({ v: 2, type: 'signal', to: stranger.id, data: 'again' });
    await waitFor(() => stranger.client.messages.length === before + 3, 3000, 'the second signal');
    expect(stranger.client.messages[before + 2]).toEqual({ v: 2, type: 'signal', from: newcomer.id, data: 'again' });
    expect(stranger.client.messages.filter((x) => x.type === 'peer-joined' && x.peerId === newcomer.id)).toHaveLength(1); // introduced once
    // Another member finds the newcomer through samples.
    const finder = members.find((m) => m !== stranger && !knows(m, newcomer.id))!;
    await askUntilSeen({ client: finder.client, peers: [] }, newcomer.id, 60);
    const toldAboutNewcomer = members.filter((m) => m === finder || knows(m, newcomer.id)); // (askUntilSeen took the finder's samples)
    expect(toldAboutNewcomer.length).toBeLessThan(members.length);
    expectConsistent(signaling);
    newcomer.client.socket.close();
    await waitFor(() => toldAboutNewcomer.every((m) => m.client.messages.some((x) => x.type === 'peer-left')), 3000, 'peer-left to those told');
    await sleep(50);
    for (const m of members) {
      const left = m.client.messages.filter((x) => x.type === 'peer-left');
      expect(left).toEqual(toldAboutNewcomer.includes(m) ? [{ v: 2, type: 'peer-left', peerId: newcomer.id }] : []);
    }
    expectConsistent(signaling);
  });

  it('sample is refused before joining and rate-limited like any message', async () => {
    const { url } = await start({ burst: 15, perSecond: 1 });
    const c = await Client.connect(url);
    c.send({ v: 2, type: 'sample' });
    expect((await c.next('error')).code).toBe('not-joined');
    c.join(generateKeyPair(), 'r'); // 14 tokens left, the join costs 10: 4 left
    await c.next('joined');
    for (let i = 0; i < 5; i++) c.send({ v: 2, type: 'sample' });
    await waitFor(() => c.messages.filter((m) => m.type === 'peers').length === 4 && c.messages.some((m) => m.type === 'error'), 3000, 'answers');
    expect((await c.next('error')).code).toBe('rate-limited');
  });

  it('a member remembers at most maxKnownPerConnection peers; the bookkeeping stays consistent through joins, samples, signals, replacements, moves and leaves', async () => {
    const { url, signaling } = await start({ sampleSize: 5, announceTo: 3, maxKnownPerConnection: 6 });
    const live: Awaited<ReturnType<typeof honest>>[] = [];
    let address = 0;
    const join = async (room: string, key = generateKeyPair()) => {
      const member = await honest(url, room, key, `10.2.0.${++address}`);
      live.push(member);
      return member;
    };
    for (let i = 0; i < 10; i++) await join(i % 3 === 0 ? 'x' : 'y');
    for (let round = 0; round < 40; round++) {
      const pick = live[Math.floor(Math.random() * live.length)]!;
      const action = round % 5;
      if (action === 0) {
        pick.client.send({ v: 2, type: 'sample' });
        await pick.client.next('peers');
      } else if (action === 1) {
        const other = live[Math.floor(Math.random() * live.length)]!;
        pick.client.send({ v: 2, type: 'signal', to: other.id, data: 'x' });
      } else if (action === 2) {
        await join(Math.random() < 0.5 ? 'x' : 'y');
      } else if (action === 3) {
        // The same node again on a new connection: replaces the old one.
        live.splice(live.indexOf(pick), 1);
        const inRoom = [...(signaling as unknown as Internals).rooms].find(([, r]) => r.byId.has(pick.id))?.[0];
        if (inRoom) await join(inRoom, pick.key);
      } else if (Math.random() < 0.5) {
        live.splice(live.indexOf(pick), 1);
        pick.client.socket.close();
        await pick.client.waitClosed();
      } else {
        pick.client.join(pick.key, pick.client.messages.length % 2 ? 'x' : 'z');
        await sleep(10);
      }
      await sleep(10);
      expectConsistent(signaling);
    }
    expect(signaling.internalErrors).toBe(0);
  });
});

describe('the browser client', () => {
  it('after switchRoom, ignores what its old room says until the new room has answered', async () => {
    const { url } = await start();
    const key = generateKeyPair();
    let delayMs = 0;
    const tab = browserClient(url, 'room-a', key, {
      prove: async (challenge, room) => {
        await sleep(delayMs);
        return proveSignalingJoin(key, challenge, room);
      },
    });
    await waitFor(() => tab.log.joined.length === 1, 3000, 'the first join');
    const oldPeer = await honest(url, 'room-a');
    await waitFor(() => tab.log.peerJoined.length === 1, 3000, 'the old peer');
    delayMs = 300; // the node takes its time signing for the new room
    tab.client.switchRoom('room-b');
    oldPeer.client.send({ v: 2, type: 'signal', to: tab.id, data: '{"type":"offer"}' });
    await honest(url, 'room-a');
    await sleep(100);
    expect(tab.log.signals).toEqual([]);
    expect(tab.log.peerJoined).toEqual([oldPeer.id]);
    await waitFor(() => tab.log.joined.length === 2, 3000, 'the join to room-b');
    expect(tab.log.joined[1]).toEqual([]);
  });

  it('retries with its backoff when its address has as many in the room as it may, and joins once there is a place', async () => {
    const { url } = await start({ maxPerAddressInRoom: 1 });
    const first = await honest(url, 'tiny');
    const tab = browserClient(url, 'tiny', generateKeyPair(), { retryMs: 20 });
    await waitFor(() => tab.log.status.some((s) => s.state === 'offline' && /too many connections from your address in network tiny/.test(s.detail ?? '')), 3000, 'the refusal');
    expect(tab.log.joined).toEqual([]);
    first.client.socket.close();
    await waitFor(() => tab.log.joined.length === 1, 3000, 'the join once there is room');
  });

  it('requestPeers asks for a fresh sample, one at a time, delivered as peerJoined; an introduced sender arrives as peerJoined before its signal', async () => {
    const { url } = await start({ sampleSize: 2, announceTo: 1 });
    const others = [];
    for (let i = 0; i < 6; i++) others.push(await honest(url, 'r', generateKeyPair(), `10.3.0.${i + 1}`));
    const tab = browserClient(url, 'r', generateKeyPair());
    expect(tab.client.requestPeers()).toBe(false); // not joined yet
    await waitFor(() => tab.log.joined.length === 1, 3000, 'the join');
    expect(tab.log.joined[0]).toHaveLength(2);
    const known = () => new Set([...tab.log.joined[0]!, ...tab.log.peerJoined]);
    for (let tries = 0; known().size < 6; tries++) {
      expect(tries).toBeLessThan(100);
      const heard = tab.log.peerJoined.length;
      expect(tab.client.requestPeers()).toBe(true);
      expect(tab.client.requestPeers()).toBe(false); // the first is not answered yet
      await waitFor(() => tab.log.peerJoined.length === heard + 2, 3000, 'a sample');
      await sleep(10);
    }
    expect([...known()].sort()).toEqual(others.map((o) => o.id).sort());
    expect(tab.log.peerJoined).not.toContain(tab.id);
    // A newcomer the tab was never told about signals it: the leader sees peerJoined first, then the signal.
    const newcomer = await honest(url, 'r', generateKeyPair(), '10.3.1.1');
    await sleep(50);
    const heardBefore = tab.log.peerJoined.includes(newcomer.id);
    newcomer.client.send({ v: 2, type: 'signal', to: tab.id, data: '{"type":"offer"}' });
    await waitFor(() => tab.log.signals.length === 1, 3000, 'the signal');
    expect(tab.log.peerJoined.filter((id) => id === newcomer.id)).toHaveLength(1);
    if (!heardBefore) expect(tab.log.peerJoined.at(-1)).toBe(newcomer.id);
  });

  it('retries with its backoff when the node cannot prove the join', async () => {
    const { url } = await start();
    const key = generateKeyPair();
    let failures = 1;
    const tab = browserClient(url, 'r', key, {
      retryMs: 20,
      prove: async (challenge, room) => {
        if (failures-- > 0) throw new Error('node unavailable');
        return proveSignalingJoin(key, challenge, room);
      },
    });
    await waitFor(() => tab.log.joined.length === 1, 3000, 'the join after a failed proof');
    expect(tab.log.status.some((s) => s.state === 'offline' && /could not prove/.test(s.detail ?? ''))).toBe(true);
  });
});

describe('depth scan', () => {
  it('counts brackets outside strings only, minding escapes', () => {
    expect(jsonDepthWithin('[[1]]', 2)).toBe(true);
    expect(jsonDepthWithin('[[[1]]]', 2)).toBe(false);
    expect(jsonDepthWithin('{"a":{"b":[1]}}', 3)).toBe(true);
    expect(jsonDepthWithin('{"a":{"b":[1]}}', 2)).toBe(false);
    expect(jsonDepthWithin(`["${'['.repeat(100)}"]`, 1)).toBe(true);
    expect(jsonDepthWithin(`["\\"${'['.repeat(100)}"]`, 1)).toBe(true);
    expect(jsonDepthWithin(`["\\\\"${'['.repeat(100)}]`, 1)).toBe(false);
    expect(jsonDepthWithin(`]]]]${'['.repeat(6)}`, 3)).toBe(false);
  });
});

describe('static files beside signaling', () => {
  it('serves the app, falls back to index.html for routes, and never leaves its folder', async () => {
    const root = mkdtempSync(join(tmpdir(), 'souk-static-'));
    mkdirSync(join(root, 'assets'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>Souk</title>');
    writeFileSync(join(root, 'assets', 'app-123.js'), 'console.log(1)');
    writeFileSync(join(root, '..', 'secret-souk-test.txt'), 'secret');
    const serve = staticFiles(root);
    const { http } = await start({}, (req, res) => void serve(req, res));
    const index = await fetch(`${http}/`);
    expect(await index.text()).toContain('<title>Souk</title>');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const asset = await fetch(`${http}/assets/app-123.js`);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
    expect(asset.headers.get('cache-control')).toMatch(/immutable/);
    expect(await (await fetch(`${http}/market/offers`)).text()).toContain('Souk');
    expect((await fetch(`${http}/missing.png`)).status).toBe(404);
    for (const path of ['/%2e%2e/secret-souk-test.txt', '/assets/%2e%2e/%2e%2e/secret-souk-test.txt', '/..%2fsecret-souk-test.txt']) {
      const escape = await fetch(`${http}${path}`);
      expect([403, 404]).toContain(escape.status);
      expect(await escape.text()).not.toBe('secret');
    }
    expect((await fetch(`${http}/`, { method: 'POST' })).status).toBe(405);
  });
});
