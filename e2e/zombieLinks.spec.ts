import { Buffer } from 'node:buffer';
import { expect, test, type Browser, type Page } from '@playwright/test';
import WebSocket from 'ws';
import type { ClientMessage, ServerMessage } from '../signaling/signalingProtocol';
import { LinkClosedError, type Link, type LinkHandlers } from '../src/core/link/link';
import { fromHex, toHex } from '../src/core/wire/hex';
import { SoukNode } from '../src/core/node/soukNode';
import { MemoryStorage } from '../src/core/storage/memoryStorage';
import type { SyncSession } from '../src/core/sync/syncSession';
import { createShop, openSouk, view } from './shop';

/**
 * Attack 13 of the review: a peer that politely closes only its data channel (its
 * RTCPeerConnection stays up) must not keep a slot, must not be counted as a peer, and must not
 * be dialed again at once.
 *
 * The hostile peer runs no Souk UI. Its node is a real SoukNode in this Node process (so its
 * hello and handshake are whatever the protocol currently is), its signaling is a WebSocket from
 * Node, and its WebRTC is a bare RTCPeerConnection in a blank page of another browser context,
 * bridged to the node byte for byte.
 */

const ROUNDS = 5;
/** The victim's first redial wait is 5 s; a little slack for timers and the close travelling. */
const NO_REDIAL_WITHIN_MS = 4_500;

async function setMaxConnections(page: Page, max: number): Promise<void> {
  await view(page, 'Network');
  await page.getByLabel('Maximum connections').fill(String(max));
  await page.getByRole('button', { name: 'Save network settings' }).click();
  await expect(page.getByRole('form', { name: 'Network settings' }).getByRole('status')).toHaveText('Saved.');
}

function peersLine(page: Page) {
  return page.getByRole('status', { name: 'Sync status' });
}

/** A Link whose far end is a data channel in the hostile page. */
class BridgeLink implements Link {
  private handlers: LinkHandlers | undefined;
  private early: Uint8Array[] = [];
  closedReason: string | undefined;

  constructor(
    readonly label: string,
    private readonly out: (bytes: Uint8Array) => Promise<void>,
  ) {}

  start(handlers: LinkHandlers): void {
    this.handlers = handlers;
    for (const chunk of this.early) handlers.receive(chunk);
    this.early = [];
    if (this.closedReason !== undefined) handlers.closed(this.closedReason);
  }

  async send(bytes: Uint8Array): Promise<void> {
    if (this.closedReason !== undefined) throw new LinkClosedError(this.label, this.closedReason);
    await this.out(bytes);
  }

  close(reason: string): void {
    this.ended(reason);
  }

  deliver(bytes: Uint8Array): void {
    if (this.closedReason !== undefined) return;
    if (this.handlers) this.handlers.receive(bytes);
    else this.early.push(bytes);
  }

  ended(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.handlers?.closed(reason);
  }
}

/** Runs in the hostile page: bare RTCPeerConnections, no Souk code. */
function hostilePageScript(): void {
  const pcs = new Map<number, RTCPeerConnection>();
  const channels = new Map<number, RTCDataChannel>();
  const w = window as unknown as Record<string, (...args: unknown[]) => unknown>;
  const toBase64 = (data: ArrayBuffer) => {
    let text = '';
    for (const byte of new Uint8Array(data)) text += String.fromCharCode(byte);
    return btoa(text);
  };
  const setup = (id: number, channel: RTCDataChannel) => {
    channel.binaryType = 'arraybuffer';
    channels.set(id, channel);
    channel.onopen = () => void w.hostileOpen!(id);
    channel.onmessage = (event) => void w.hostileData!(id, toBase64(event.data as ArrayBuffer));
    channel.onclose = () => void w.hostileClosed!(id);
  };
  const gathered = (pc: RTCPeerConnection) =>
    new Promise<void>((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
      setTimeout(resolve, 3_000);
    });
  (window as unknown as { hostile: unknown }).hostile = {
    async dial(id: number) {
      const pc = new RTCPeerConnection({ iceServers: [] });
      pcs.set(id, pc);
      setup(id, pc.createDataChannel('hostile'));
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      return pc.localDescription!.sdp;
    },
    async accept(id: number, sdp: string) {
      await pcs.get(id)!.setRemoteDescription({ type: 'answer', sdp });
    },
    async answer(id: number, sdp: string) {
      const pc = new RTCPeerConnection({ iceServers: [] });
      pcs.set(id, pc);
      pc.ondatachannel = (event) => setup(id, event.channel);
      await pc.setRemoteDescription({ type: 'offer', sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      await gathered(pc);
      return pc.localDescription!.sdp;
    },
    send(id: number, base64: string) {
      const channel = channels.get(id);
      if (channel?.readyState !== 'open') return;
      channel.send(Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)));
    },
    sendRaw(id: number, text: string) {
      channels.get(id)?.send(new TextEncoder().encode(text));
    },
    /** The attack: close the data channel only. The RTCPeerConnection stays open. */
    closeChannel(id: number) {
      channels.get(id)?.close();
      return pcs.get(id)?.connectionState;
    },
    connectionState(id: number) {
      return pcs.get(id)?.connectionState;
    },
  };
}

interface HostileLink {
  link: BridgeLink;
  session: SyncSession;
  openedAt: number;
}

class Hostile {
  readonly peerId: string;
  /** When the victim sent us an offer (it dialed us), ms since the epoch. */
  readonly victimDials: number[] = [];
  /** When we closed a data channel. */
  readonly closes: number[] = [];
  readonly links = new Map<number, HostileLink>();
  /** The one node this peer attacks. */
  victim = '';
  private socket: WebSocket | undefined;
  private seq = 0;
  private readonly answers = new Map<string, (sdp: string) => void>();
  private sendChain: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly node: SoukNode,
    readonly page: Page,
  ) {
    this.peerId = node.view().nodeId;
  }

  static async start(page: Page): Promise<Hostile> {
    const node = await SoukNode.open({ storage: new MemoryStorage() });
    await node.createShop({ name: 'Hostile Husk', area: 'Nowhere' });
    const hostile = new Hostile(node, page);
    await page.exposeFunction('hostileOpen', (id: number) => hostile.opened(id));
    await page.exposeFunction('hostileData', (id: number, base64: string) => hostile.links.get(id)?.link.deliver(new Uint8Array(Buffer.from(base64, 'base64'))));
    await page.exposeFunction('hostileClosed', (id: number) => hostile.links.get(id)?.link.ended('data channel closed'));
    await page.setContent('<title>not Souk</title><p>hostile peer</p>');
    await page.evaluate(hostilePageScript);
    return hostile;
  }

  /** Joins the room over the signaling server's protocol, as any node would: a signed join. */
  join(url: string, room: string): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url);
      this.socket = socket;
      socket.on('error', reject);
      socket.on('message', (data) => {
        const message = JSON.parse(String(data)) as ServerMessage;
        if (message.type === 'challenge') {
          const signature = toHex(this.node.proveSignalingJoin(fromHex(message.nonce), room));
          this.send({ v: 2, type: 'join', room, peerId: this.peerId, signature });
        } else if (message.type === 'joined') resolve(message.peers);
        else if (message.type === 'error' && message.code !== 'no-such-peer') reject(new Error(`signaling: ${message.message}`));
        else if (message.type === 'signal') void this.signalled(message.from, JSON.parse(message.data) as { type?: string; sdp?: string });
      });
    });
  }

  /** WebRTC set-up data travels as a JSON string. */
  private signal(to: string, data: { type: string; sdp?: string }): void {
    this.send({ v: 2, type: 'signal', to, data: JSON.stringify(data) });
  }

  leave(): void {
    this.socket?.close();
  }

  private send(message: ClientMessage): void {
    this.socket!.send(JSON.stringify(message));
  }

  private async signalled(from: string, data: { type?: string; sdp?: string }): Promise<void> {
    if (data.type === 'answer' && data.sdp) this.answers.get(from)?.(data.sdp);
    if (data.type !== 'offer' || !data.sdp) return;
    if (from !== this.victim) {
      // Only the victim is attacked; anyone else is told we are full.
      this.signal(from, { type: 'souk-busy' });
      return;
    }
    // The victim dialed us: take the call, the attack runs on it like on our own dials.
    this.victimDials.push(Date.now());
    const id = ++this.seq;
    const sdp = await this.page.evaluate(([id, sdp]) => (window as never as { hostile: { answer(i: number, s: string): Promise<string> } }).hostile.answer(id, sdp), [id, data.sdp] as const);
    this.signal(from, { type: 'answer', sdp });
  }

  /** Dials the victim the way simple-peer does (non-trickle offer, then answer). */
  async dial(victim: string): Promise<void> {
    const id = ++this.seq;
    const offer = await this.page.evaluate((id) => (window as never as { hostile: { dial(i: number): Promise<string> } }).hostile.dial(id), id);
    const answer = new Promise<string>((resolve) => this.answers.set(victim, resolve));
    this.signal(victim, { type: 'offer', sdp: offer });
    const sdp = await answer;
    this.answers.delete(victim);
    await this.page.evaluate(([id, sdp]) => (window as never as { hostile: { accept(i: number, s: string): Promise<void> } }).hostile.accept(id, sdp), [id, sdp] as const);
  }

  private opened(id: number): void {
    const link = new BridgeLink(`hostile:${id}`, (bytes) => {
      const base64 = Buffer.from(bytes).toString('base64');
      const sent = this.sendChain.then(() =>
        this.page.evaluate(([id, base64]) => (window as never as { hostile: { send(i: number, b: string): void } }).hostile.send(id, base64), [id, base64] as const),
      );
      this.sendChain = sent.catch(() => {});
      return sent.then(
        () => {},
        () => {},
      );
    });
    this.links.set(id, { link, session: this.node.addLink(link), openedAt: Date.now() });
  }

  /** The newest link whose handshake with the victim completed. */
  async waitForHandshake(after: number): Promise<number> {
    let found: number | undefined;
    await expect
      .poll(
        () => {
          for (const [id, entry] of this.links) if (id > after && entry.session.remote && entry.link.closedReason === undefined) found = id;
          return found;
        },
        { timeout: 20_000, message: 'the victim completed a handshake with the hostile peer' },
      )
      .toBeDefined();
    return found!;
  }

  async closeChannel(id: number): Promise<string | undefined> {
    const state = await this.page.evaluate((id) => (window as never as { hostile: { closeChannel(i: number): string } }).hostile.closeChannel(id), id);
    this.closes.push(Date.now());
    return state;
  }

  /** Bytes that are no Souk frame at all: the victim's node ends its session over them. */
  async sendGarbage(id: number): Promise<void> {
    await this.page.evaluate((id) => (window as never as { hostile: { sendRaw(i: number, t: string): void } }).hostile.sendRaw(id, 'not a frame, not at all'), id);
  }

  close(): void {
    this.leave();
    this.node.close();
  }
}

/** A victim shop with room for one link, and a hostile peer in the same network. */
async function victimAndHostile(browser: Browser, baseURL: string) {
  const victim = await openSouk(browser);
  await createShop(victim.page, 'Vera Victim');
  await setMaxConnections(victim.page, 1);
  await expect(peersLine(victim.page)).toContainText('network souk-local: online');
  await expect(peersLine(victim.page)).toContainText('0 peers');
  const hostileContext = await browser.newContext();
  const hostile = await Hostile.start(await hostileContext.newPage());
  // The victim is the only node in the room so far.
  const peers = await hostile.join(`${baseURL.replace(/^http/, 'ws')}/signal`, 'souk-local');
  expect(peers).toHaveLength(1);
  hostile.victim = peers[0]!;
  const close = async () => {
    hostile.close();
    await hostileContext.close();
    await victim.context.close();
  };
  return { victim, hostile, close };
}

/** A genuine new shop links with the victim (maxConnections 1: any slot still held blocks it); both count one peer. */
async function genuineShopLinks(browser: Browser, victim: Page): Promise<void> {
  const genuine = await openSouk(browser);
  await createShop(genuine.page, 'Gus Genuine');
  await expect(peersLine(genuine.page)).toContainText('1 peer', { timeout: 30_000 });
  await expect(peersLine(victim)).toContainText('1 peer');
  await view(victim, 'Network');
  const connected = victim.getByRole('list', { name: 'Connected peers' });
  await expect(connected.getByRole('listitem')).toHaveCount(1);
  await expect(connected).toContainText('Gus Genuine');
  await genuine.context.close();
}

test('a peer that closes only its data channel frees its slot, is not counted, and is not redialed at once', async ({ browser, baseURL }) => {
  test.setTimeout(150_000);
  const { victim, hostile, close } = await victimAndHostile(browser, baseURL!);
  try {
    let last = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      // Round 1: the victim, having room, dials the newcomer. Later rounds: the hostile dials.
      if (round > 1) await hostile.dial(hostile.victim);
      const id = await hostile.waitForHandshake(last);
      last = id;
      // The victim counts the hostile as its one peer...
      await expect(peersLine(victim.page)).toContainText('1 peer', { timeout: 10_000 });
      // ...until it politely closes only the data channel: the count must drop well before the
      // 35 s heartbeat would notice, and the slot must be free for the next round.
      const pcState = await hostile.closeChannel(id);
      expect(pcState).toBe('connected');
      await expect(peersLine(victim.page)).toContainText('0 peers', { timeout: 8_000 });
    }
    const lastClose = hostile.closes.at(-1)!;

    // The hostile peer is not dialed again at once: never within the first wait after any of its
    // drops, and not at all in the 12 s after the fifth (its wait is then over a minute).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, lastClose + 12_000 - Date.now())));
    const timeline = () =>
      [...hostile.closes.map((at) => ({ at, what: 'hostile closed its channel' })), ...hostile.victimDials.map((at) => ({ at, what: 'victim dialed the hostile' }))]
        .sort((a, b) => a.at - b.at)
        .map(({ at, what }) => `+${at - hostile.closes[0]!} ms ${what}`)
        .join('\n');
    for (const dialAt of hostile.victimDials.slice(1)) {
      const closeBefore = hostile.closes.filter((at) => at <= dialAt).at(-1)!;
      expect(dialAt - closeBefore, `the victim redialed the hostile peer ${dialAt - closeBefore} ms after a drop:\n${timeline()}`).toBeGreaterThanOrEqual(NO_REDIAL_WITHIN_MS);
    }
    expect(hostile.victimDials.filter((at) => at > lastClose), `the victim redialed after the fifth drop:\n${timeline()}`).toEqual([]);

    await genuineShopLinks(browser, victim.page);
  } finally {
    await close();
  }
});

test("a link the victim's node drops (its session ended) is closed by the leader and frees its slot", async ({ browser, baseURL }) => {
  test.setTimeout(120_000);
  const { victim, hostile, close } = await victimAndHostile(browser, baseURL!);
  try {
    // The victim dials the newcomer; the handshake completes.
    const id = await hostile.waitForHandshake(0);
    await expect(peersLine(victim.page)).toContainText('1 peer', { timeout: 10_000 });
    // The hostile peer keeps its channel open but sends bytes that are no frame: the victim's node
    // ends the session. Its leader tab must then close the WebRTC link itself and free the slot.
    await hostile.sendGarbage(id);
    await expect(peersLine(victim.page)).toContainText('0 peers', { timeout: 8_000 });
    await expect.poll(() => hostile.links.get(id)!.link.closedReason, { timeout: 5_000, message: 'the victim closed the data channel' }).toBe('data channel closed');
    await genuineShopLinks(browser, victim.page);
  } finally {
    await close();
  }
});
