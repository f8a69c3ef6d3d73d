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
import { normaliseAddress, SignalingServer, socketAddress, type SignalingLimits, type SignalingOptions } from './signalingServer';
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

  it('refuses to join a full room', async () => {
    const { url } = await start({ maxPeersPerRoom: 1 });
    await honest(url, 'tiny');
    const b = await Client.connect(url);
    b.join(generateKeyPair(), 'tiny');
    expect((await b.next('error')).code).toBe('room-full');
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

  it('IPv6 addresses count per /64; IPv4-mapped addresses count as IPv4', () => {
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

  it('retries with its backoff when its room is full, and joins once there is room', async () => {
    const { url } = await start({ maxPeersPerRoom: 1 });
    const first = await honest(url, 'tiny');
    const tab = browserClient(url, 'tiny', generateKeyPair(), { retryMs: 20 });
    await waitFor(() => tab.log.status.some((s) => s.state === 'offline' && /network tiny is full/.test(s.detail ?? '')), 3000, 'the refusal');
    expect(tab.log.joined).toEqual([]);
    first.client.socket.close();
    await waitFor(() => tab.log.joined.length === 1, 3000, 'the join once there is room');
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
