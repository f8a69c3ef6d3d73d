import { createServer, type Server } from 'node:http';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { DEFAULT_SIGNALING_LIMITS, SignalingServer, type SignalingLimits } from './signalingServer';
import { staticFiles } from './staticFiles';
import type { ServerMessage } from './signalingProtocol';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function start(limits: Partial<SignalingLimits> = {}, handler?: Parameters<typeof createServer>[1]) {
  const server: Server = createServer(handler ?? ((_, res) => res.end('ok')));
  const signaling = new SignalingServer(server, { ...DEFAULT_SIGNALING_LIMITS, ...limits });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())), () => signaling.close());
  return { signaling, port, url: `ws://127.0.0.1:${port}/signal`, http: `http://127.0.0.1:${port}` };
}

class Client {
  readonly messages: ServerMessage[] = [];
  closed: { code: number; reason: string } | undefined;
  constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => this.messages.push(JSON.parse(String(data)) as ServerMessage));
    socket.on('close', (code, reason) => (this.closed = { code, reason: String(reason) }));
  }
  static async connect(url: string, options: WebSocket.ClientOptions = {}): Promise<Client> {
    const socket = new WebSocket(url, options);
    const client = new Client(socket);
    cleanups.push(() => socket.terminate());
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    return client;
  }
  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }
  async next<T extends ServerMessage['type']>(type: T, timeoutMs = 3000): Promise<Extract<ServerMessage, { type: T }>> {
    const start = Date.now();
    for (;;) {
      const found = this.messages.findIndex((m) => m.type === type);
      if (found >= 0) return this.messages.splice(found, 1)[0] as Extract<ServerMessage, { type: T }>;
      if (Date.now() - start > timeoutMs) throw new Error(`no ${type} message; got ${JSON.stringify(this.messages)}`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  async waitClosed(timeoutMs = 3000): Promise<{ code: number; reason: string }> {
    const start = Date.now();
    while (!this.closed) {
      if (Date.now() - start > timeoutMs) throw new Error('socket did not close');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return this.closed;
  }
}

const id = (n: number) => n.toString(16).padStart(32, '0');

describe('signaling server', () => {
  it('introduces peers in a room and relays set-up messages between them only', async () => {
    const { url, signaling } = await start();
    const a = await Client.connect(url);
    const b = await Client.connect(url);
    const other = await Client.connect(url);
    a.send({ v: 1, type: 'join', room: 'market', peerId: id(1) });
    expect((await a.next('joined')).peers).toEqual([]);
    b.send({ v: 1, type: 'join', room: 'market', peerId: id(2) });
    expect((await b.next('joined')).peers).toEqual([id(1)]);
    expect((await a.next('peer-joined')).peerId).toBe(id(2));
    other.send({ v: 1, type: 'join', room: 'elsewhere', peerId: id(3) });
    await other.next('joined');
    expect(signaling.roomSize('market')).toBe(2);

    b.send({ v: 1, type: 'signal', to: id(1), data: { sdp: 'offer' } });
    expect(await a.next('signal')).toEqual({ v: 1, type: 'signal', from: id(2), data: { sdp: 'offer' } });
    other.send({ v: 1, type: 'signal', to: id(1), data: 'x' });
    expect((await other.next('error')).code).toBe('no-such-peer');

    b.socket.close();
    expect((await a.next('peer-left')).peerId).toBe(id(2));
    expect(signaling.roomSize('market')).toBe(1);
  });

  it('refuses malformed, wrong-version and unjoined messages with a reason', async () => {
    const { url } = await start();
    const c = await Client.connect(url);
    c.send('{not json');
    expect((await c.next('error')).message).toMatch(/not JSON/);
    c.send({ v: 2, type: 'join', room: 'x', peerId: id(1) });
    expect((await c.next('error')).message).toMatch(/unsupported version 2/);
    c.send({ v: 1, type: 'join', room: 'has spaces', peerId: id(1) });
    expect((await c.next('error')).message).toMatch(/room must be/);
    c.send({ v: 1, type: 'signal', to: id(9), data: {} });
    expect((await c.next('error')).code).toBe('not-joined');
  });

  it('closes a connection that sends a message over the size limit', async () => {
    const { url } = await start();
    const c = await Client.connect(url);
    c.send({ v: 1, type: 'signal', to: id(1), data: 'x'.repeat(20_000) });
    expect((await c.waitClosed()).code).toBe(1009);
  });

  it('rate-limits a flooding connection and finally closes it', async () => {
    const { url } = await start({ burst: 5, perSecond: 1, strikes: 10 });
    const c = await Client.connect(url);
    c.send({ v: 1, type: 'join', room: 'flood', peerId: id(1) });
    await c.next('joined');
    for (let i = 0; i < 20; i++) c.send({ v: 1, type: 'leave' });
    expect((await c.next('error')).code).toBe('rate-limited');
    expect((await c.waitClosed()).code).toBe(1008);
  });

  it('drops a peer that stops answering heartbeats, and tells the room', async () => {
    const { url, signaling } = await start({ heartbeatMs: 100 });
    const alive = await Client.connect(url);
    const silent = await Client.connect(url, { autoPong: false });
    alive.send({ v: 1, type: 'join', room: 'hb', peerId: id(1) });
    silent.send({ v: 1, type: 'join', room: 'hb', peerId: id(2) });
    await alive.next('peer-joined');
    expect((await alive.next('peer-left', 3000)).peerId).toBe(id(2));
    expect(signaling.roomSize('hb')).toBe(1);
    expect(alive.closed).toBeUndefined();
  });

  it('lets the same node rejoin from a new tab, replacing the old connection', async () => {
    const { url, signaling } = await start();
    const watcher = await Client.connect(url);
    const oldTab = await Client.connect(url);
    const newTab = await Client.connect(url);
    watcher.send({ v: 1, type: 'join', room: 'r', peerId: id(1) });
    oldTab.send({ v: 1, type: 'join', room: 'r', peerId: id(2) });
    await watcher.next('peer-joined');
    newTab.send({ v: 1, type: 'join', room: 'r', peerId: id(2) });
    expect((await newTab.next('joined')).peers).toEqual([id(1)]);
    expect((await oldTab.waitClosed()).code).toBe(4000);
    expect(signaling.roomSize('r')).toBe(2);
    watcher.send({ v: 1, type: 'signal', to: id(2), data: 'hi' });
    expect((await newTab.next('signal')).data).toBe('hi');
  });

  it('refuses to join a full room', async () => {
    const { url } = await start({ maxPeersPerRoom: 1 });
    const a = await Client.connect(url);
    const b = await Client.connect(url);
    a.send({ v: 1, type: 'join', room: 'tiny', peerId: id(1) });
    await a.next('joined');
    b.send({ v: 1, type: 'join', room: 'tiny', peerId: id(2) });
    expect((await b.next('error')).code).toBe('room-full');
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
