import { Buffer } from 'node:buffer';
import { expect, type Page } from '@playwright/test';
import WebSocket from 'ws';
import type { ClientMessage, ServerMessage } from '../signaling/signalingProtocol';
import { LinkClosedError, type Link, type LinkHandlers } from '../src/core/link/link';
import { SoukNode } from '../src/core/node/soukNode';
import type { ChunkStore } from '../src/core/packages/chunkStore';
import { MemoryStorage } from '../src/core/storage/memoryStorage';
import { MessageType } from '../src/core/sync/syncMessages';
import type { SyncSession } from '../src/core/sync/syncSession';
import { FRAME_HEADER_BYTES } from '../src/core/wire/frame';
import { fromHex, toHex } from '../src/core/wire/hex';

/**
 * A hostile peer for browser tests. It runs no Souk UI: its node is a real SoukNode in the test's
 * Node process (so its hello and handshake are whatever the protocol currently is), its signaling
 * is a WebSocket from Node, and its WebRTC is a bare RTCPeerConnection in a blank page of another
 * browser context, bridged to the node byte for byte (each frame the node sends can be altered on
 * the way out: `outgoing`). Used by e2e/zombieLinks.spec.ts (data channels closed alone, garbage
 * bytes) and e2e/files.spec.ts (a peer serving corrupt chunks).
 */

export interface HostileOptions {
  /** The hostile shop's name (default "Hostile Husk"). */
  shopName?: string;
  /** Where the hostile node keeps package chunks (default: in memory). */
  chunkStore?: ChunkStore;
  /** Alters every frame the node sends before it goes on the data channel. */
  outgoing?: (frame: Uint8Array) => Uint8Array;
}

/**
 * Flips one byte inside the payload of every `chunk` frame (frame header: 8 bytes, byte 3 the
 * message type, 16 = chunk), as src/core/packages/packageSwarm.test.ts's CorruptingLink does:
 * each fragment of a chunk message is damaged, every other frame passes untouched.
 */
export function corruptChunkFrames(frame: Uint8Array, count?: { corrupted: number }): Uint8Array {
  if (frame.length <= FRAME_HEADER_BYTES + 200 || frame[3] !== MessageType.chunk) return frame;
  const copy = frame.slice();
  copy[FRAME_HEADER_BYTES + 100]! ^= 0xff;
  if (count) count.corrupted++;
  return copy;
}

/** A Link whose far end is a data channel in the hostile page. */
export class BridgeLink implements Link {
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

export interface HostileLink {
  link: BridgeLink;
  session: SyncSession;
  openedAt: number;
}

export class Hostile {
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
    private readonly outgoing: ((frame: Uint8Array) => Uint8Array) | undefined,
  ) {
    this.peerId = node.view().nodeId;
  }

  static async start(page: Page, options: HostileOptions = {}): Promise<Hostile> {
    const node = await SoukNode.open({ storage: new MemoryStorage(), ...(options.chunkStore ? { chunkStore: options.chunkStore } : {}) });
    await node.createShop({ name: options.shopName ?? 'Hostile Husk', area: 'Nowhere' });
    const hostile = new Hostile(node, page, options.outgoing);
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
      const base64 = Buffer.from(this.outgoing ? this.outgoing(bytes) : bytes).toString('base64');
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
