// Test tools for attacks on packages: nodes, hostile shops listing files, and a hand-driven peer that answers package messages as told.
import { createMemoryLinkPair, type MemoryLinkOptions } from '../link/memoryLink';
import { SoukNode } from '../node/soukNode';
import { MemoryStorage } from '../storage/memoryStorage';
import { eventually, RawPeer } from './rawPeer';
import { HostileOwner, validOffer } from './hostileOwner';
import { MemoryChunkStore } from '../packages/memoryChunkStore';
import type { ChunkStore } from '../packages/chunkStore';
import { loadBlake3, type Blake3 } from '../packages/blake3';
import { chunkPackage, type PackageManifest } from '../packages/packageManifest';
import { encodeAttachment, type AttachmentRecord } from '../packages/attachmentRecord';
import type { AttachmentInput } from '../packages/packageView';
import { fromHex, toHex } from '../wire/hex';
import type { SyncMessage } from '../sync/syncMessages';

export { eventually, RawPeer, MemoryChunkStore, MemoryStorage, fromHex, toHex };

const opened: SoukNode[] = [];
export function closeAll(): void {
  for (const n of opened.splice(0)) n.close();
}

export async function node(name: string | null, chunkStore: ChunkStore = new MemoryChunkStore(), storage = new MemoryStorage()): Promise<SoukNode> {
  const n = await SoukNode.open({ storage, chunkStore });
  opened.push(n);
  if (name && !n.hasShop) await n.createShop({ name, area: 'Old Town', currency: 'EUR' });
  await n.packages.loaded;
  return n;
}

export function link(a: SoukNode, b: SoukNode, options: MemoryLinkOptions = {}): () => void {
  const [x, y] = createMemoryLinkPair('a', 'b', undefined, options);
  a.addLink(x);
  b.addLink(y);
  return () => x.close('cut');
}

export function fileBytes(size: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = (seed * 2654435761) >>> 0;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

export function input(name: string, bytes: Uint8Array, mediaType = 'application/pdf'): AttachmentInput {
  return { name, mediaType, size: bytes.length, read: async (o, l) => bytes.slice(o, o + l) };
}

let blake: Blake3 | undefined;
export async function b3(): Promise<Blake3> {
  return (blake ??= await loadBlake3());
}

/** A package the attacker can serve: its manifest (name/type as the attacker likes), hash list and chunks. */
export interface Pkg {
  manifest: PackageManifest;
  hashList: Uint8Array;
  hashes: string[];
  chunks: Uint8Array[];
  root: string;
}

export async function makePackage(bytes: Uint8Array, name = 'file.bin', mediaType = 'application/octet-stream', chunkSize = 256 * 1024): Promise<Pkg> {
  const chunks: Uint8Array[] = [];
  const r = await chunkPackage(await b3(), input(name, bytes, mediaType), async (_h, c) => void chunks.push(c.slice()), undefined, chunkSize);
  return { manifest: r.manifest, hashList: r.hashList, hashes: r.hashes, chunks, root: toHex(r.manifest.root) };
}

export function record(productId: string, manifest: PackageManifest, opts: Partial<AttachmentRecord> = {}): AttachmentRecord {
  return { productId, kind: 'file', shared: true, addedAt: 1_700_000_000_000, manifest, thumbnail: null, ...opts };
}

/** A hostile shop whose shared vault lists these records (keyed by their manifests' roots) and an offer for each product. */
export function hostileShop(name: string, records: AttachmentRecord[], keyOverride?: (r: AttachmentRecord) => string, extraProducts: string[] = []): HostileOwner {
  const offers: Record<string, Record<string, unknown>> = {};
  for (const id of extraProducts) offers[id] = validOffer(id, `Item ${id}`);
  for (const r of records) offers[r.productId] = validOffer(r.productId, `Item ${r.productId}`);
  const owner = new HostileOwner(name, offers);
  owner.change((d) => {
    const files: Record<string, Uint8Array> = {};
    for (const r of records) files[keyOverride ? keyOverride(r) : toHex(r.manifest.root)] = encodeAttachment(r);
    d.files = files;
  });
  return owner;
}

export type Behaviour = {
  /** What to answer a packageAsk with; undefined: stay silent. */
  have?: (root: string, wantsHashList: boolean) => Extract<SyncMessage, { type: 'packageHave' }> | undefined;
  /** What to answer a chunkAsk with; undefined: stay silent. */
  chunk?: (root: string, index: number) => SyncMessage | undefined;
};

/**
 * A hand-driven hostile peer: proves a key, hands out the hostile owners' vaults when asked
 * (whole snapshot), and answers package messages per `behaviour`. Records everything.
 */
export class HostilePeer {
  readonly peer: RawPeer;
  private stopped = false;
  asks = 0;
  chunkAsks = 0;
  constructor(
    readonly victim: SoukNode,
    readonly owners: HostileOwner[] = [],
    public behaviour: Behaviour = {},
    name = 'hostile',
  ) {
    this.peer = new RawPeer(victim, name);
  }
  async start(): Promise<this> {
    await this.peer.hello();
    let seen = 0;
    void (async () => {
      while (!this.stopped && this.peer.closedReason === undefined) {
        const messages = this.peer.received.slice(seen);
        seen = this.peer.received.length;
        for (const m of messages) {
          try {
            if (m.type === 'want') {
              const owner = this.owners.find((o) => o.id === toHex(m.vaultId));
              if (owner) await this.peer.send({ type: 'changes', statements: [owner.statement()], snapshot: true, changes: [owner.snapshot()] });
            } else if (m.type === 'packageAsk') {
              this.asks++;
              const answer = this.behaviour.have?.(toHex(m.root), m.hashList);
              if (answer) await this.peer.send(answer);
            } else if (m.type === 'chunkAsk') {
              this.chunkAsks++;
              const answer = this.behaviour.chunk?.(toHex(m.root), m.index);
              if (answer) await this.peer.send(answer);
            }
          } catch {
            // closed
          }
        }
        await new Promise((r) => setTimeout(r, 3));
      }
    })();
    if (this.owners.length) {
      await this.peer.send({ type: 'heads', statements: this.owners.map((o) => o.statement()) });
      await eventually(() => this.owners.every((o) => this.victim.statementsOf(o.id)?.[0] !== undefined), 10_000, 'the hostile vaults to land');
    }
    return this;
  }
  stop(): void {
    this.stopped = true;
  }
  get id(): string {
    return this.peer.id;
  }
}

/** A behaviour that serves packages honestly. */
export function honestServing(pkgs: Pkg[]): Behaviour {
  const byRoot = new Map(pkgs.map((p) => [p.root, p]));
  return {
    have: (root, wantsHashList) => {
      const p = byRoot.get(root);
      if (!p) return { type: 'packageHave', root: fromHex(root), size: null, chunkSize: 0, bitfield: new Uint8Array(0) };
      const count = p.chunks.length;
      const bitfield = new Uint8Array(Math.ceil(count / 8));
      for (let i = 0; i < count; i++) bitfield[i >> 3]! |= 0x80 >> (i & 7);
      return { type: 'packageHave', root: fromHex(root), size: p.manifest.size, chunkSize: p.manifest.chunkSize, bitfield, ...(wantsHashList ? { hashList: p.hashList } : {}) };
    },
    chunk: (root, index) => {
      const p = byRoot.get(root);
      if (!p || !p.chunks[index]) return { type: 'chunkRefusal', root: fromHex(root), index, code: 2 };
      return { type: 'chunk', root: fromHex(root), index, bytes: p.chunks[index]! };
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
