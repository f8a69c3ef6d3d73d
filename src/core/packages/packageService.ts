import type { Clock } from '../clock';
import { InputError } from '../inputError';
import type { StorageAdapter, StorageWrite } from '../storage/storage';
import { ChunkRefusalCode } from '../sync/syncMessages';
import type { PackageMessage, SyncSession } from '../sync/syncSession';
import { fromHex, toHex } from '../wire/hex';
import type { AttachmentRecord } from './attachmentRecord';
import { MAX_FILES_PER_PRODUCT, MAX_THUMBNAIL_BYTES } from './attachmentRecord';
import type { Blake3 } from './blake3';
import { ChunkStoreError, type ChunkStore } from './chunkStore';
import { checkHashList, chunkCount, fileNameFrom, chunkPackage, chunkSpan, decodeManifest, encodeManifest, type PackageManifest, type PackageSource } from './packageManifest';
import {
  DEFAULT_PACKAGE_SETTINGS,
  type AttachmentInput,
  type AttachmentKind,
  type AttachmentView,
  type PackageApi,
  type PackageProgress,
  type PackageSettings,
  type StorageUse,
} from './packageView';

/** Requests in flight to one peer: 8 × 256 KiB keeps a loopback data channel busy. */
export const PIPELINE_PER_PEER = 8;
/** Chunks this node serves one peer at once; past it the peer is told "busy". */
export const MAX_SERVING_PER_PEER = 8;
/** Bulk bytes queued on a link past which a chunk request is answered "busy". */
export const MAX_QUEUED_BULK_BYTES = 4 * 1024 * 1024;
/** A request unanswered this long goes to another peer; the slow peer rests. */
export const CHUNK_TIMEOUT_MS = 10_000;
/** How often peers are asked again which chunks they hold, during a download. */
export const ASK_AGAIN_MS = 3_000;
/** Downloads running at once; more wait their turn. */
export const MAX_ACTIVE_DOWNLOADS = 4;
/** A download no linked peer holds any of for this long gives its slot up (parked) until a holder appears. */
export const PARK_AFTER_MS = 3_000;
/** A parked download asks the linked peers again this often. */
export const PARKED_ASK_MS = 30_000;
/** A peer that has not answered a packageAsk this long makes room for another in a full download. */
const SILENT_PEER_MS = 4_000;
/** Roots whose hash list one link has been sent (each at most once per link). */
const MAX_HASH_LISTS_PER_LINK = 256;
/** Package records this node keeps (own and cached). */
export const MAX_PACKAGES = 10_000;
/** Peers one download asks at once. */
export const MAX_PEERS_PER_DOWNLOAD = 16;
/** A peer may ask this many packageAsk per second; more are ignored. */
export const MAX_ASKS_PER_SECOND = 20;
const SPEED_WINDOW_MS = 5_000;
/** Verified chunks one download holds in memory waiting to be written; past it no more are asked for until writes catch up. */
export const MAX_CHUNKS_AWAITING_STORE = 16;
/** Chunks one download has asked for or holds unwritten, over all its peers (≤ 48 MiB at the largest chunk size). */
export const MAX_OUTSTANDING_CHUNKS = 48;
/** Chunk writes one download keeps going at once (OPFS writes are slow one by one, quick side by side). */
const STORES_AT_ONCE = 4;
/** Sync-lane bytes queued to a peer past which its packageAsk is not answered (a hash list is up to 128 KiB). */
const MAX_QUEUED_SYNC_BYTES_FOR_ASKS = 4 * 1024 * 1024;
const TICK_MS = 1_000;

const recordKey = (root: string) => ['packages', root];
const settingsKey = ['node', 'packageSettings'];

/** What the package service needs from the node it belongs to. */
export interface PackageHost {
  readonly clock: Clock;
  readonly storage: StorageAdapter;
  readonly chunkStore: ChunkStore;
  readonly blake3: Blake3;
  /** Proven sessions. */
  sessions(): Iterable<SyncSession>;
  isOwnDevice(session: SyncSession): boolean;
  offence(session: SyncSession, reason: string): void;
  changed(): void;
  /** Writes in one atomic batch, as every node write (full-disk errors say so). */
  write(writes: StorageWrite[]): Promise<void>;
  /** The vaults whose attachments this node knows: its own shop's first, then every carried vault. */
  vaultIds(): Iterable<string>;
  /** One vault's attachments, indexed (the own shop's from its private document, shared or not; others' shared ones). */
  attachmentsIn(vaultId: string): VaultAttachments | undefined;
  /** Writes an own attachment into the shop's vault (shared document too when shared), or removes it. */
  recordAttachment(record: AttachmentRecord, remove: boolean): Promise<void>;
  /** This shop's products (to refuse attaching to one that does not exist). */
  hasProduct(productId: string): boolean;
  /** Bytes the vault documents and records take. */
  vaultBytes(): number;
}

/** One vault's attachments by product and by package root (a photo's thumbnail root too). */
export interface VaultAttachments {
  own: boolean;
  byProduct: ReadonlyMap<string, readonly AttachmentRecord[]>;
  byRoot: ReadonlyMap<string, { record: AttachmentRecord; manifest: PackageManifest }>;
}

export function indexAttachments(records: Iterable<AttachmentRecord>, own: boolean): VaultAttachments {
  const byProduct = new Map<string, AttachmentRecord[]>();
  const byRoot = new Map<string, { record: AttachmentRecord; manifest: PackageManifest }>();
  for (const record of records) {
    let list = byProduct.get(record.productId);
    if (!list) byProduct.set(record.productId, (list = []));
    list.push(record);
    byRoot.set(toHex(record.manifest.root), { record, manifest: record.manifest });
    if (record.thumbnail && !byRoot.has(toHex(record.thumbnail.root))) byRoot.set(toHex(record.thumbnail.root), { record, manifest: record.thumbnail });
  }
  for (const list of byProduct.values()) list.sort((a, b) => a.addedAt - b.addedAt);
  return { own, byProduct, byRoot };
}

/** A package this node holds some or all of. */
interface Held {
  root: string;
  manifest: PackageManifest;
  own: boolean;
  private: boolean;
  /** The chunks' hashes once a hash list was verified (own packages: from the start). */
  hashes: string[] | null;
  have: Uint8Array;
  haveCount: number;
  haveBytes: number;
  lastUsedAt: number;
  /** The merchant stopped it: not resumed on start. */
  stopped: boolean;
}

interface PeerState {
  bitfield: Uint8Array | null;
  inflight: Map<number, number>;
  restUntil: number;
  lastAskedAt: number;
  deliveredAt: number;
  timeouts: number;
}

interface Download {
  held: Held;
  peers: Map<SyncSession, PeerState>;
  requesters: Map<number, Set<SyncSession>>;
  storing: Set<number>;
  /** Verified chunks waiting for a store slot (at most STORES_AT_ONCE are written at once). */
  toStore: { index: number; hash: string; bytes: Uint8Array }[];
  writing: number;
  arrivals: { at: number; bytes: number }[];
  problem: string | null;
  failed: boolean;
  /** When it started, and when a linked peer last said it holds some of it. */
  startedAt: number;
  lastHolderAt: number;
}

function bit(field: Uint8Array, index: number): boolean {
  return (field[index >> 3]! & (0x80 >> (index & 7))) !== 0;
}

function setBit(field: Uint8Array, index: number): void {
  field[index >> 3]! |= 0x80 >> (index & 7);
}

function clearBit(field: Uint8Array, index: number): void {
  field[index >> 3]! &= ~(0x80 >> (index & 7));
}

function encodeHeld(held: Held): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      m: toHex(encodeManifest(held.manifest)),
      o: held.own ? 1 : 0,
      p: held.private ? 1 : 0,
      h: held.hashes ? held.hashes.join('') : null,
      u: held.lastUsedAt,
      s: held.stopped ? 1 : 0,
    }),
  );
}

function decodeHeld(root: string, bytes: Uint8Array): Held | null {
  try {
    const raw = JSON.parse(new TextDecoder().decode(bytes)) as { m: string; o: number; p: number; h: string | null; u: number; s?: number };
    const manifest = decodeManifest(fromHex(raw.m));
    if (toHex(manifest.root) !== root) return null;
    const count = chunkCount(manifest.size, manifest.chunkSize);
    const hashes = count === 0 ? [] : raw.h === null ? null : (raw.h.match(/.{64}/g) ?? []);
    if (hashes && hashes.length !== count) return null;
    return { root, manifest, own: raw.o === 1, private: raw.p === 1, hashes, have: new Uint8Array(Math.ceil(count / 8)), haveCount: 0, haveBytes: 0, lastUsedAt: raw.u, stopped: raw.s === 1 };
  } catch {
    return null;
  }
}

function sourceOf(input: AttachmentInput): PackageSource {
  return { name: fileNameFrom(input.name), mediaType: input.mediaType, size: input.size, read: (offset, length) => input.read(offset, length) };
}

/**
 * Packages on one node: attaching files (chunked, hashed, stored), serving chunks to peers within
 * the merchant's settings and an upload cap, and swarm downloads — every peer asked which chunks
 * it holds, requests pipelined per peer, rarest chunk first, an endgame that asks a second peer
 * for the last chunks, every chunk verified against the verified hash list before it is stored,
 * a peer that serves a bad chunk charged and dropped. Held chunks are named by their hash in the
 * chunk store; what is held is read back from there on start, so a download resumes from what
 * was verified.
 */
export class PackageService implements PackageApi {
  private readonly held = new Map<string, Held>();
  private readonly downloadsByRoot = new Map<string, Download>();
  /** How many held packages name each chunk: a chunk goes only when none does. */
  private readonly chunkRefs = new Map<string, number>();
  private readonly serving = new Map<SyncSession, number>();
  private readonly asks = new Map<SyncSession, { second: number; count: number }>();
  private readonly hashListsSent = new Map<SyncSession, Set<string>>();
  /** Attaches under way: own packages not yet named by the vault are theirs, not stale. */
  private attaching = 0;
  private current: PackageSettings = { ...DEFAULT_PACKAGE_SETTINGS };
  private uploadTokens = 0;
  private uploadRefilledAt = 0;
  private readonly uploadWaiters: { bytes: number; resolve: () => void }[] = [];
  private uploadTimer: (() => void) | undefined;
  private tickTimer: (() => void) | undefined;
  private closed = false;
  /** Bytes served to peers, for the counters. */
  bytesServed = 0;
  chunksServed = 0;
  readonly loaded: Promise<void>;

  constructor(private readonly host: PackageHost) {
    this.loaded = this.load();
  }

  private async load(): Promise<void> {
    const stored = await this.host.storage.load(settingsKey);
    if (stored) {
      try {
        const raw = JSON.parse(new TextDecoder().decode(stored)) as Partial<PackageSettings>;
        this.current = checkSettings({ ...DEFAULT_PACKAGE_SETTINGS, ...raw });
      } catch {
        // Unreadable settings: the defaults.
      }
    }
    for (const { key, data } of await this.host.storage.loadRange(['packages'])) {
      const root = key[1]!;
      const held = decodeHeld(root, data);
      if (!held) continue;
      // A stored hash list is checked against the root like a peer's: storage is not trusted.
      if (held.hashes?.length && 'problem' in checkHashList(this.host.blake3, held.manifest, fromHex(held.hashes.join('')))) held.hashes = null;
      this.held.set(root, held);
      this.addRefs(held);
    }
    // Chunks no package names (a write that landed after its package was freed, a crash between
    // the two) are removed, before anything can be attached meanwhile.
    for (const hash of await this.host.chunkStore.list().catch(() => [] as string[])) {
      if (!this.chunkRefs.has(hash)) await this.host.chunkStore.delete(hash).catch(() => {});
    }
    for (const held of this.held.values()) await this.readHave(held);
    for (const held of this.held.values()) if (!held.stopped && held.haveCount < this.countOf(held)) this.startDownload(held);
    this.host.changed();
  }

  close(): void {
    this.closed = true;
    this.tickTimer?.();
    this.uploadTimer?.();
    for (const waiter of this.uploadWaiters.splice(0)) waiter.resolve();
  }

  private countOf(held: Held): number {
    return chunkCount(held.manifest.size, held.manifest.chunkSize);
  }

  private addRefs(held: Held): void {
    for (const hash of new Set(held.hashes ?? [])) this.chunkRefs.set(hash, (this.chunkRefs.get(hash) ?? 0) + 1);
  }

  /** Which chunks of a package the chunk store holds (each was verified before it was stored). */
  private async readHave(held: Held): Promise<void> {
    held.have = new Uint8Array(Math.ceil(this.countOf(held) / 8));
    held.haveCount = 0;
    held.haveBytes = 0;
    if (!held.hashes) return;
    const hashes = held.hashes;
    for (let i = 0; i < hashes.length; i += 64) {
      // Held, and of this chunk's length: the same bytes may be named by a package cut otherwise.
      const sizes = await Promise.all(hashes.slice(i, i + 64).map((hash) => this.host.chunkStore.blob(hash).then((b) => b?.size, () => undefined)));
      sizes.forEach((size, j) => size === chunkSpan(held.manifest, i + j).length && this.markHave(held, i + j));
    }
  }

  private markHave(held: Held, index: number): void {
    if (bit(held.have, index)) return;
    setBit(held.have, index);
    held.haveCount++;
    held.haveBytes += chunkSpan(held.manifest, index).length;
  }

  private complete(held: Held): boolean {
    return held.hashes !== null && held.haveCount === this.countOf(held);
  }

  // ------------------------------------------------------------------ attaching

  async attach(productId: string, file: AttachmentInput, options: { kind: AttachmentKind; shared: boolean; thumbnail?: AttachmentInput }, onProgress?: (done: number, total: number) => void): Promise<AttachmentView> {
    await this.loaded;
    if (!this.host.hasProduct(productId)) throw new InputError('file', 'That product no longer exists');
    const attached = this.ownAttachments()?.byProduct.get(productId) ?? [];
    if (attached.length >= MAX_FILES_PER_PRODUCT) throw new InputError('file', `A product holds at most ${MAX_FILES_PER_PRODUCT} files; remove one first`);
    if (options.kind === 'photo' && !options.thumbnail) throw new InputError('file', 'A photo needs its thumbnail');
    if (options.thumbnail && options.thumbnail.size > MAX_THUMBNAIL_BYTES) throw new InputError('file', `The thumbnail is ${options.thumbnail.size} bytes, limit ${MAX_THUMBNAIL_BYTES}`);
    const total = file.size + (options.thumbnail?.size ?? 0);
    this.attaching++;
    try {
      return await this.attachNow(productId, file, options, total, onProgress);
    } finally {
      this.attaching--;
    }
  }

  private async attachNow(productId: string, file: AttachmentInput, options: { kind: AttachmentKind; shared: boolean; thumbnail?: AttachmentInput }, total: number, onProgress?: (done: number, total: number) => void): Promise<AttachmentView> {
    const thumbnail = options.kind === 'photo' ? await this.storeOwn(sourceOf(options.thumbnail!), !options.shared, (done) => onProgress?.(done, total)) : null;
    let main: Held;
    try {
      main = await this.storeOwn(sourceOf(file), !options.shared, (done) => onProgress?.((thumbnail?.manifest.size ?? 0) + done, total));
    } catch (error) {
      if (thumbnail) await this.dropIfUnused(thumbnail.root);
      throw error;
    }
    const already = this.ownAttachments()?.byRoot.get(main.root);
    if (already) {
      if (thumbnail) await this.dropIfUnused(thumbnail.root);
      throw new InputError('file', already.record.productId === productId ? 'This file is attached to this product already' : 'This file is attached to another product already; remove it there first');
    }
    const record: AttachmentRecord = { productId, kind: options.kind, shared: options.shared, addedAt: this.host.clock.now(), manifest: main.manifest, thumbnail: thumbnail?.manifest ?? null };
    try {
      await this.host.recordAttachment(record, false);
    } catch (error) {
      await this.dropIfUnused(main.root);
      if (thumbnail) await this.dropIfUnused(thumbnail.root);
      throw error;
    }
    this.host.changed();
    return this.viewOf(record, this.ownVaultId());
  }

  /** Chunks, hashes and stores an own file; its record lands once every chunk is stored. */
  private async storeOwn(source: PackageSource, isPrivate: boolean, progress: (done: number) => void): Promise<Held> {
    const stored: string[] = [];
    let result: Awaited<ReturnType<typeof chunkPackage>>;
    try {
      result = await chunkPackage(
        this.host.blake3,
        source,
        async (hash, bytes) => {
          // A chunk held already is not written again (put is content-addressed).
          await this.host.chunkStore.put(hash, bytes);
          stored.push(hash);
        },
        (done) => progress(done),
      );
    } catch (error) {
      // Chunks no held package names go again (those of other packages stay).
      for (const hash of stored) if (!this.chunkRefs.has(hash)) await this.host.chunkStore.delete(hash).catch(() => {});
      if (error instanceof ChunkStoreError && error.code === 'full') throw new InputError('file', 'Storage is full: the file was not attached. Free cached files of other shops on the Storage page, or allow this site more storage.');
      if (error instanceof RangeError) throw new InputError('file', `This file cannot be attached: ${error.message}`);
      throw error;
    }
    const root = toHex(result.manifest.root);
    const existing = this.held.get(root);
    const held: Held = existing ?? {
      root,
      manifest: result.manifest,
      own: true,
      private: isPrivate,
      hashes: result.hashes,
      have: new Uint8Array(Math.ceil(result.hashes.length / 8)),
      haveCount: 0,
      haveBytes: 0,
      lastUsedAt: this.host.clock.now(),
      stopped: false,
    };
    if (existing) {
      // The same bytes were held as a cached copy or a download: now they are own. (Already own:
      // its record decides whether it is private.)
      if (!existing.own) {
        existing.own = true;
        existing.private = isPrivate;
      }
      if (!existing.hashes) {
        existing.hashes = result.hashes;
        this.addRefs(existing);
      }
      this.downloadsByRoot.delete(root);
    } else {
      this.held.set(root, held);
      this.addRefs(held);
    }
    for (let i = 0; i < result.hashes.length; i++) this.markHave(held, i);
    await this.host.write([{ op: 'put', key: recordKey(root), data: encodeHeld(held) }]);
    return held;
  }

  async detach(productId: string, root: string): Promise<void> {
    const found = this.ownAttachments()?.byProduct.get(productId)?.find((record) => toHex(record.manifest.root) === root);
    if (!found) throw new InputError('file', 'That file is not attached to this product');
    await this.host.recordAttachment(found, true);
    await this.dropIfUnused(root);
    if (found.thumbnail) await this.dropIfUnused(toHex(found.thumbnail.root));
    this.host.changed();
  }

  /**
   * The shop's files changed on another device (its private document merged): own packages no
   * attachment names any more are removed (a file removed on one device is not kept or served by
   * the others), and each own file's private flag follows its record.
   */
  async ownFilesChanged(): Promise<void> {
    if (this.attaching > 0) return; // Checked again on the next change; an attach is naming its package.
    const own = this.ownAttachments();
    for (const held of [...this.held.values()]) {
      if (!held.own) continue;
      const named = own?.byRoot.get(held.root);
      if (!named) await this.evict(held.root);
      else held.private = !named.record.shared;
    }
    this.host.changed();
  }

  /** After a product was removed: its files (and thumbnails) go once no attachment of the shop names them. */
  async forgetUnused(roots: readonly string[]): Promise<void> {
    for (const root of roots) await this.dropIfUnused(root);
    this.host.changed();
  }

  /** Removes an own package no attachment of the shop names any more. */
  private async dropIfUnused(root: string): Promise<void> {
    if (this.ownAttachments()?.byRoot.has(root)) return;
    await this.evict(root);
  }

  /** Forgets a package and deletes the chunks no other held package names. */
  private async evict(root: string): Promise<number> {
    const held = this.held.get(root);
    if (!held) return 0;
    this.stopDownload(root);
    await this.host.write([{ op: 'delete', key: recordKey(root) }]);
    this.held.delete(root);
    for (const hash of new Set(held.hashes ?? [])) {
      const refs = (this.chunkRefs.get(hash) ?? 1) - 1;
      if (refs > 0) {
        this.chunkRefs.set(hash, refs);
        continue;
      }
      this.chunkRefs.delete(hash);
      await this.host.chunkStore.delete(hash).catch(() => {});
    }
    return held.haveBytes;
  }

  // ------------------------------------------------------------------ views

  private viewOf(record: AttachmentRecord, vaultId: string): AttachmentView {
    return {
      root: toHex(record.manifest.root),
      vaultId,
      productId: record.productId,
      kind: record.kind,
      name: record.manifest.name,
      mediaType: record.manifest.mediaType,
      size: record.manifest.size,
      shared: record.shared,
      thumbnail: record.thumbnail ? toHex(record.thumbnail.root) : null,
      addedAt: record.addedAt,
    };
  }

  /** The shop's own vault id: the first the host lists when it is the node's own; '' without a shop. */
  private ownVaultId(): string {
    for (const vaultId of this.host.vaultIds()) return this.host.attachmentsIn(vaultId)?.own ? vaultId : '';
    return '';
  }

  private ownAttachments(): VaultAttachments | undefined {
    const vaultId = this.ownVaultId();
    return vaultId ? this.host.attachmentsIn(vaultId) : undefined;
  }

  attachmentsOf(productId: string): AttachmentView[] {
    const vaultId = this.ownVaultId();
    return (this.ownAttachments()?.byProduct.get(productId) ?? []).map((record) => this.viewOf(record, vaultId));
  }

  offerAttachments(vaultId: string, productId: string): AttachmentView[] {
    const index = this.host.attachmentsIn(vaultId);
    return (index?.byProduct.get(productId) ?? []).filter((record) => record.shared).map((record) => this.viewOf(record, vaultId));
  }

  /** The manifest of a package some known attachment names (as the file or as its thumbnail). */
  private known(root: string): { manifest: PackageManifest; own: boolean; private: boolean } | undefined {
    // The own shop is asked first: a file this shop attached is its own (never evicted), whoever else lists it.
    for (const vaultId of this.host.vaultIds()) {
      const index = this.host.attachmentsIn(vaultId);
      const found = index?.byRoot.get(root);
      if (found) return { manifest: found.manifest, own: index!.own, private: index!.own && !found.record.shared };
    }
    return undefined;
  }

  progress(root: string): PackageProgress {
    const held = this.held.get(root);
    const known = held ?? this.known(root);
    const manifest = known?.manifest;
    const download = this.downloadsByRoot.get(root);
    const now = this.host.clock.now();
    let bytesPerSecond = 0;
    let peersServing = 0;
    if (download) {
      const recent = download.arrivals.filter((a) => now - a.at <= SPEED_WINDOW_MS);
      const span = Math.max(1000, recent.length ? now - recent[0]!.at : SPEED_WINDOW_MS);
      bytesPerSecond = Math.round((recent.reduce((sum, a) => sum + a.bytes, 0) * 1000) / span);
      for (const peer of download.peers.values()) if (now - peer.deliveredAt <= SPEED_WINDOW_MS) peersServing++;
    }
    const size = manifest?.size ?? 0;
    const done = held?.haveBytes ?? 0;
    const state = !manifest ? 'missing' : held && this.complete(held) ? 'complete' : download?.failed ? 'failed' : download ? 'downloading' : 'missing';
    return {
      root,
      name: manifest?.name ?? '',
      mediaType: manifest?.mediaType ?? 'application/octet-stream',
      size,
      state,
      bytesDone: done,
      bytesPerSecond,
      secondsLeft: bytesPerSecond > 0 ? Math.ceil((size - done) / bytesPerSecond) : null,
      peersServing,
      problem: download?.problem ?? (!manifest ? 'No shop this node carries lists that file' : download && !this.holderLinked(download) ? 'Waiting for a peer that has this file' : null),
      own: known?.own ?? false,
    };
  }

  downloads(): PackageProgress[] {
    return [...this.downloadsByRoot.keys()].map((root) => this.progress(root));
  }

  chunksOf(root: string): string[] | undefined {
    const held = this.held.get(root);
    if (!held || !this.complete(held)) return undefined;
    held.lastUsedAt = this.host.clock.now();
    return held.hashes!;
  }

  storageUse(): StorageUse {
    let ownFilesBytes = 0;
    let cachedFilesBytes = 0;
    let own = 0;
    let cached = 0;
    for (const held of this.held.values()) {
      if (held.own) {
        ownFilesBytes += held.haveBytes;
        own++;
      } else {
        cachedFilesBytes += held.haveBytes;
        cached++;
      }
    }
    return { ownFilesBytes, cachedFilesBytes, vaultBytes: this.host.vaultBytes(), cacheBudgetBytes: this.current.cacheBudgetBytes, packages: { own, cached } };
  }

  /** Bytes of others' files held (what the cache budget bounds). */
  private cachedBytes(): number {
    let bytes = 0;
    for (const held of this.held.values()) if (!held.own) bytes += held.haveBytes;
    return bytes;
  }

  async freeCachedFiles(): Promise<number> {
    let freed = 0;
    for (const held of [...this.held.values()]) if (!held.own) freed += await this.evict(held.root);
    this.host.changed();
    return freed;
  }

  settings(): PackageSettings {
    return { ...this.current };
  }

  async updateSettings(settings: Partial<PackageSettings>): Promise<PackageSettings> {
    const next = checkSettings({ ...this.current, ...settings });
    await this.host.write([{ op: 'put', key: settingsKey, data: new TextEncoder().encode(JSON.stringify(next)) }]);
    this.current = next;
    await this.evictPastBudget(null);
    this.host.changed();
    return this.settings();
  }

  /** Others' cached packages that may be evicted (not `keep`, not being fetched), least recently used first. */
  private evictionOrder(keep: string | null, fetching: (root: string) => boolean = (root) => this.downloadsByRoot.has(root)): Held[] {
    return [...this.held.values()].filter((h) => !h.own && h.root !== keep && !fetching(h.root)).sort((a, b) => a.lastUsedAt - b.lastUsedAt);
  }

  /** Evicts cached packages of others, least recently used first, until they fit the budget (`extra` bytes more to come). */
  private async evictPastBudget(keep: string | null, extra = 0): Promise<void> {
    let cached = this.cachedBytes();
    if (cached + extra <= this.current.cacheBudgetBytes) return;
    for (const held of this.evictionOrder(keep)) {
      if (cached + extra <= this.current.cacheBudgetBytes) break;
      cached -= held.haveBytes;
      await this.evict(held.root);
    }
  }

  // ------------------------------------------------------------------ downloading

  fetch(root: string): PackageProgress {
    if (!/^[0-9a-f]{64}$/.test(root)) throw new InputError('file', 'Not a file name');
    const existing = this.held.get(root);
    if (existing) {
      existing.lastUsedAt = this.host.clock.now();
      if (this.complete(existing)) return this.progress(root);
      existing.stopped = false;
      // A failed download (a full disk) starts again when asked again.
      if (this.downloadsByRoot.get(root)?.failed) this.downloadsByRoot.delete(root);
      if (!this.downloadsByRoot.has(root)) this.startDownload(existing);
      return this.progress(root);
    }
    const known = this.known(root);
    if (!known) throw new InputError('file', 'No shop this node carries lists that file');
    if (this.held.size >= MAX_PACKAGES) {
      // Full: the least recently used file of another shop makes room (own files never).
      // Parked downloads (nobody serves them) may go too.
      const running = new Set(this.active().map((d) => d.held.root));
      const oldest = this.evictionOrder(null, (root) => running.has(root))[0];
      if (!oldest) throw new InputError('file', `This device keeps at most ${MAX_PACKAGES} files; free cached files on the Storage page`);
      void this.evict(oldest.root);
      this.held.delete(oldest.root);
    }
    const count = chunkCount(known.manifest.size, known.manifest.chunkSize);
    const held: Held = { root, manifest: known.manifest, own: known.own, private: known.private, hashes: null, have: new Uint8Array(Math.ceil(count / 8)), haveCount: 0, haveBytes: 0, lastUsedAt: this.host.clock.now(), stopped: false };
    this.held.set(root, held);
    void this.host.write([{ op: 'put', key: recordKey(root), data: encodeHeld(held) }]).catch((error) => this.fail(root, `could not record the download: ${describe(error)}`));
    if (count === 0) {
      held.hashes = [];
      return this.progress(root);
    }
    this.startDownload(held);
    return this.progress(root);
  }

  cancel(root: string): void {
    const held = this.held.get(root);
    if (!held) return;
    held.stopped = true;
    this.stopDownload(root);
    void this.host.write([{ op: 'put', key: recordKey(root), data: encodeHeld(held) }]).catch(() => {});
    this.host.changed();
  }

  /** Answers still on their way are then dropped unread (no download asks for them). */
  private stopDownload(root: string): void {
    this.downloadsByRoot.delete(root);
  }

  private startDownload(held: Held): void {
    if (this.closed || this.downloadsByRoot.has(held.root)) return;
    const download: Download = { held, peers: new Map(), requesters: new Map(), storing: new Set(), toStore: [], writing: 0, arrivals: [], problem: null, failed: false, startedAt: this.host.clock.now(), lastHolderAt: 0 };
    this.downloadsByRoot.set(held.root, download);
    if (this.active().includes(download)) this.askPeers(download);
    this.tick();
  }

  /**
   * The downloads that may use links now: the first few started that are not parked. A download
   * no linked peer has held any of for PARK_AFTER_MS is parked, so files nobody serves (a hostile
   * listing) never hold the slots of files someone does.
   */
  private active(): Download[] {
    return [...this.downloadsByRoot.values()].filter((d) => !d.failed && !this.parked(d)).slice(0, MAX_ACTIVE_DOWNLOADS);
  }

  private parked(download: Download): boolean {
    const now = this.host.clock.now();
    if (this.holderLinked(download)) {
      download.lastHolderAt = now;
      return false;
    }
    return now - Math.max(download.startedAt, download.lastHolderAt) > PARK_AFTER_MS;
  }

  /** Some linked peer has said it holds a chunk of the package. */
  private holderLinked(download: Download): boolean {
    for (const [session, peer] of download.peers) if (session.closedReason === undefined && peer.bitfield?.some((b) => b !== 0)) return true;
    return false;
  }

  private fail(root: string, problem: string): void {
    const download = this.downloadsByRoot.get(root);
    if (download) {
      download.failed = true;
      download.problem = problem;
    }
    this.host.changed();
  }

  private tick(): void {
    if (this.tickTimer || this.closed) return;
    this.tickTimer = this.host.clock.setTimer(() => {
      this.tickTimer = undefined;
      if (this.closed) return;
      const now = this.host.clock.now();
      for (const download of this.active()) {
        for (const [session, peer] of download.peers) {
          for (const [index, sentAt] of peer.inflight) {
            if (now - sentAt < CHUNK_TIMEOUT_MS) continue;
            // Too slow: the chunk goes elsewhere, the peer rests a while.
            this.release(download, session, index);
            peer.timeouts++;
            peer.restUntil = now + CHUNK_TIMEOUT_MS * Math.min(peer.timeouts, 6);
          }
        }
        this.askPeers(download);
        this.schedule(download);
      }
      for (const download of this.downloadsByRoot.values()) if (!download.failed && this.parked(download)) this.askPeers(download, PARKED_ASK_MS);
      if (this.downloadsByRoot.size) this.tick();
      this.host.changed();
    }, TICK_MS);
  }

  /** Asks the linked peers (those not asked lately) which chunks they hold; the hash list too while it is unknown. */
  private askPeers(download: Download, every = ASK_AGAIN_MS): void {
    const now = this.host.clock.now();
    const root = fromHex(download.held.root);
    for (const session of this.host.sessions()) {
      if (session.closedReason !== undefined || !session.remote) continue;
      if (download.held.private && !this.host.isOwnDevice(session)) continue;
      let peer = download.peers.get(session);
      if (!peer) {
        if (download.peers.size >= MAX_PEERS_PER_DOWNLOAD && !this.makeRoom(download, now)) continue;
        peer = { bitfield: null, inflight: new Map(), restUntil: 0, lastAskedAt: 0, deliveredAt: 0, timeouts: 0 };
        download.peers.set(session, peer);
      }
      const full = peer.bitfield && peer.bitfield.every((b, i) => b === (i === peer.bitfield!.length - 1 ? lastByteMask(this.countOf(download.held)) : 0xff));
      if (full || now - peer.lastAskedAt < every) continue;
      peer.lastAskedAt = now;
      session.send({ type: 'packageAsk', root, hashList: download.held.hashes === null });
    }
  }

  /** Drops a peer that holds none of the package, or never answered, to make room for another. */
  private makeRoom(download: Download, now: number): boolean {
    for (const [session, peer] of download.peers) {
      const holdsNone = peer.bitfield !== null && peer.bitfield.every((b) => b === 0);
      const silent = peer.bitfield === null && peer.lastAskedAt > 0 && now - peer.lastAskedAt > SILENT_PEER_MS;
      if ((holdsNone || silent) && peer.inflight.size === 0) {
        download.peers.delete(session);
        return true;
      }
    }
    return false;
  }

  /** A new proven peer: running downloads ask it, and parked ones too (it may be the holder they wait for). */
  sessionReady(session: SyncSession): void {
    for (const download of this.downloadsByRoot.values()) if (!download.failed) this.askPeers(download);
  }

  sessionClosed(session: SyncSession): void {
    this.serving.delete(session);
    this.asks.delete(session);
    this.hashListsSent.delete(session);
    for (const download of this.downloadsByRoot.values()) {
      const peer = download.peers.get(session);
      if (!peer) continue;
      for (const index of [...peer.inflight.keys()]) this.release(download, session, index);
      download.peers.delete(session);
      this.schedule(download);
    }
  }

  private release(download: Download, session: SyncSession, index: number): void {
    download.peers.get(session)?.inflight.delete(index);
    const requesters = download.requesters.get(index);
    requesters?.delete(session);
    if (requesters && requesters.size === 0) download.requesters.delete(index);
  }

  /** Sends requests to every peer with room: rarest missing chunk first; at the end, a second peer for chunks still in flight. */
  private schedule(download: Download): void {
    if (download.failed || !download.held.hashes || !this.active().includes(download)) return;
    // The disk is slower than the links: ask for more only once the waiting chunks are written.
    if (download.storing.size >= MAX_CHUNKS_AWAITING_STORE) return;
    const held = download.held;
    const count = this.countOf(held);
    const now = this.host.clock.now();
    const peers = [...download.peers.entries()].filter(([session, p]) => p.bitfield && p.inflight.size < PIPELINE_PER_PEER && p.restUntil <= now && session.closedReason === undefined);
    if (!peers.length) return;
    const availability = new Uint16Array(count);
    for (const p of download.peers.values()) if (p.bitfield) for (let i = 0; i < count; i++) if (bit(p.bitfield, i)) availability[i]!++;
    const missing: number[] = [];
    for (let i = 0; i < count; i++) if (!bit(held.have, i) && !download.storing.has(i) && !download.requesters.has(i) && availability[i]! > 0) missing.push(i);
    missing.sort((a, b) => availability[a]! - availability[b]! || a - b);
    const root = fromHex(held.root);
    // Chunks asked for and not yet written, over all peers: what one download may hold in memory.
    let outstanding = download.storing.size;
    for (const p of download.peers.values()) outstanding += p.inflight.size;
    const ask = (session: SyncSession, peer: PeerState, index: number) => {
      outstanding++;
      peer.inflight.set(index, now);
      let requesters = download.requesters.get(index);
      if (!requesters) download.requesters.set(index, (requesters = new Set()));
      requesters.add(session);
      session.send({ type: 'chunkAsk', root, index });
    };
    // Round robin, one request per peer per turn, so every peer gets a share.
    let progress = true;
    let cursor = 0;
    while (progress) {
      progress = false;
      for (const [session, peer] of peers) {
        if (peer.inflight.size >= PIPELINE_PER_PEER || outstanding >= MAX_OUTSTANDING_CHUNKS) continue;
        let picked = -1;
        for (let k = cursor; k < missing.length; k++) {
          const index = missing[k]!;
          if (index >= 0 && bit(peer.bitfield!, index)) {
            picked = k;
            break;
          }
        }
        if (picked < 0) continue;
        const index = missing[picked]!;
        missing[picked] = -1;
        while (cursor < missing.length && missing[cursor]! < 0) cursor++;
        ask(session, peer, index);
        progress = true;
      }
    }
    // Endgame: nothing left unrequested, so idle peers also ask for chunks in flight elsewhere (at most two askers each).
    if (missing.some((i) => i >= 0)) return;
    for (const [session, peer] of peers) {
      for (const [index, requesters] of [...download.requesters.entries()].sort((a, b) => a[1].size - b[1].size)) {
        if (peer.inflight.size >= PIPELINE_PER_PEER || outstanding >= MAX_OUTSTANDING_CHUNKS) break;
        if (requesters.size >= 2 || requesters.has(session) || download.storing.has(index) || !bit(peer.bitfield!, index)) continue;
        ask(session, peer, index);
      }
    }
  }

  // ------------------------------------------------------------------ messages

  receive(session: SyncSession, message: PackageMessage): void {
    if (this.closed) return;
    switch (message.type) {
      case 'packageAsk':
        return this.answerAsk(session, toHex(message.root), message.hashList);
      case 'chunkAsk':
        return void this.serveChunk(session, toHex(message.root), message.index);
      case 'packageHave':
        return this.heardHave(session, message);
      case 'chunk':
        return this.heardChunk(session, toHex(message.root), message.index, message.bytes);
      case 'chunkRefusal':
        return this.heardRefusal(session, toHex(message.root), message.index, message.code);
    }
  }

  /** Whether this node serves a package to a peer: held, and private ones only to the shop's own devices; others' only if the merchant allows. */
  private servable(held: Held | undefined, session: SyncSession): held is Held {
    if (!held || !held.hashes) return false;
    if (held.private) return this.host.isOwnDevice(session);
    return held.own || this.current.serveOthersFiles;
  }

  private answerAsk(session: SyncSession, root: string, withHashList: boolean): void {
    const second = Math.floor(this.host.clock.now() / 1000);
    const asks = this.asks.get(session);
    if (asks && asks.second === second && asks.count >= MAX_ASKS_PER_SECOND) return;
    this.asks.set(session, asks && asks.second === second ? { second, count: asks.count + 1 } : { second, count: 1 });
    if (session.queuedBytes('sync') > MAX_QUEUED_SYNC_BYTES_FOR_ASKS) return;
    const held = this.held.get(root);
    if (!this.servable(held, session)) {
      session.send({ type: 'packageHave', root: fromHex(root), size: null, chunkSize: 0, bitfield: new Uint8Array(0) });
      return;
    }
    // A hash list (up to 128 KiB) goes to one link once: asking again buys only the bitfield.
    let sent = this.hashListsSent.get(session);
    if (!sent) this.hashListsSent.set(session, (sent = new Set()));
    const giveList = withHashList && !sent.has(root) && sent.size < MAX_HASH_LISTS_PER_LINK;
    if (giveList) sent.add(root);
    const hashList = giveList ? fromHex(held.hashes!.join('')) : undefined;
    session.send({ type: 'packageHave', root: fromHex(root), size: held.manifest.size, chunkSize: held.manifest.chunkSize, bitfield: held.have.slice(), ...(hashList ? { hashList } : {}) });
  }

  private async serveChunk(session: SyncSession, root: string, index: number): Promise<void> {
    const held = this.held.get(root);
    const refuse = (code: (typeof ChunkRefusalCode)[keyof typeof ChunkRefusalCode]) => void session.send({ type: 'chunkRefusal', root: fromHex(root), index, code });
    if (!this.servable(held, session) || index >= this.countOf(held) || !bit(held.have, index)) return refuse(ChunkRefusalCode.notHere);
    const pending = this.serving.get(session) ?? 0;
    if (pending >= MAX_SERVING_PER_PEER || session.queuedBytes('bulk') > MAX_QUEUED_BULK_BYTES) return refuse(ChunkRefusalCode.busy);
    this.serving.set(session, pending + 1);
    try {
      const hash = held.hashes![index]!;
      const { length } = chunkSpan(held.manifest, index);
      // The cap first, then the read: a request waiting for its turn holds no bytes.
      await this.uploadAllowance(length);
      if (session.closedReason !== undefined || this.closed) return;
      const bytes = await this.host.chunkStore.get(hash);
      // Checked again before it leaves: a chunk damaged on disk is dropped, never served; one of
      // another length (the same bytes named in a package cut otherwise) is not this chunk.
      if (!bytes || bytes.length !== length || toHex(this.host.blake3.hash(bytes)) !== hash) {
        if (bytes && bytes.length === length) await this.host.chunkStore.delete(hash).catch(() => {});
        void this.readHave(held);
        return refuse(ChunkRefusalCode.notHere);
      }
      if (session.closedReason !== undefined || this.closed) return;
      if (session.send({ type: 'chunk', root: fromHex(root), index, bytes })) {
        this.bytesServed += bytes.length;
        this.chunksServed++;
      }
    } finally {
      const left = (this.serving.get(session) ?? 1) - 1;
      if (left > 0) this.serving.set(session, left);
      else this.serving.delete(session);
    }
  }

  /**
   * Waits until the upload cap allows `bytes` more: a token bucket holding at most one second's
   * worth (or one chunk), served first come first served by one timer.
   */
  private uploadAllowance(bytes: number): Promise<void> {
    if (this.current.uploadCapBytesPerSecond <= 0 || this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.uploadWaiters.push({ bytes, resolve });
      this.grantUploads();
    });
  }

  private grantUploads(): void {
    if (this.uploadTimer) return;
    for (;;) {
      const next = this.uploadWaiters[0];
      if (!next) return;
      const cap = this.current.uploadCapBytesPerSecond;
      if (cap <= 0 || this.closed) {
        for (const waiter of this.uploadWaiters.splice(0)) waiter.resolve();
        return;
      }
      const now = this.host.clock.now();
      this.uploadTokens = Math.min(Math.max(cap, next.bytes), this.uploadTokens + ((now - this.uploadRefilledAt) * cap) / 1000);
      this.uploadRefilledAt = now;
      if (this.uploadTokens < next.bytes) {
        const wait = Math.max(1, Math.ceil(((next.bytes - this.uploadTokens) * 1000) / cap));
        this.uploadTimer = this.host.clock.setTimer(() => {
          this.uploadTimer = undefined;
          this.grantUploads();
        }, wait);
        return;
      }
      this.uploadTokens -= next.bytes;
      this.uploadWaiters.shift();
      next.resolve();
    }
  }

  private heardHave(session: SyncSession, message: Extract<PackageMessage, { type: 'packageHave' }>): void {
    const root = toHex(message.root);
    const download = this.downloadsByRoot.get(root);
    const peer = download?.peers.get(session);
    if (!download || !peer) return; // Not asked (or no longer wanted): nothing to keep.
    const manifest = download.held.manifest;
    const count = this.countOf(download.held);
    if (message.size === null) {
      peer.bitfield = new Uint8Array(Math.ceil(count / 8));
      return;
    }
    const sameShape = message.size === manifest.size && message.chunkSize === manifest.chunkSize;
    if (!sameShape) {
      // The root commits to the size and chunk size. Once the hash list is verified, a peer that
      // says otherwise lies. Before, the listing may be the one that is false: the peer's word is
      // checked against the root with its own figures, and whoever is false is found out.
      if (download.held.hashes) {
        this.host.offence(session, `said a package is ${message.size} bytes in chunks of ${message.chunkSize}; its verified hash list says otherwise`);
        download.peers.delete(session);
        return;
      }
      if (!message.hashList) {
        peer.bitfield = new Uint8Array(Math.ceil(count / 8));
        return;
      }
      const theirs = checkHashList(this.host.blake3, { ...manifest, size: message.size, chunkSize: message.chunkSize }, message.hashList);
      if ('problem' in theirs) {
        this.host.offence(session, `sent a false hash list: ${theirs.problem}`);
        download.peers.delete(session);
        return;
      }
      // The peer is right: the shop that listed this file gave a false size. Nobody is charged.
      this.fail(download.held.root, `The listing of ${manifest.name} does not match the file (its size is not ${manifest.size} bytes); it cannot be fetched`);
      return;
    }
    if (message.hashList && !download.held.hashes) {
      const checked = checkHashList(this.host.blake3, manifest, message.hashList);
      if ('problem' in checked) {
        this.host.offence(session, `sent a false hash list: ${checked.problem}`);
        download.peers.delete(session);
        return;
      }
      download.held.hashes = checked.hashes;
      this.addRefs(download.held);
      void this.host.write([{ op: 'put', key: recordKey(root), data: encodeHeld(download.held) }]).catch((error) => this.fail(root, `could not record the download: ${describe(error)}`));
      // Chunks of other packages with the same bytes are held already.
      void this.readHave(download.held).then(() => this.afterProgress(download));
    }
    peer.bitfield = message.bitfield;
    if (message.bitfield.some((b) => b !== 0)) download.lastHolderAt = this.host.clock.now();
    this.schedule(download);
  }

  private heardChunk(session: SyncSession, root: string, index: number, bytes: Uint8Array): void {
    const download = this.downloadsByRoot.get(root);
    const peer = download?.peers.get(session);
    // Only an answer to a request in flight is read: a late answer (after a timeout, an endgame
    // won elsewhere, a download stopped and started again) or one never asked for is dropped
    // unread, so resent chunks cost no hashing.
    if (!download || !peer || !peer.inflight.has(index)) return;
    this.release(download, session, index);
    const held = download.held;
    const hash = held.hashes?.[index];
    const { length } = chunkSpan(held.manifest, index);
    if (!hash || bytes.length !== length || toHex(this.host.blake3.hash(bytes)) !== hash) {
      // A bad chunk: the peer is charged and dropped; the chunk is asked of another.
      this.host.offence(session, `served a corrupt chunk ${index} of ${held.manifest.name}`);
      download.peers.delete(session);
      session.close('served a corrupt chunk');
      this.schedule(download);
      return;
    }
    peer.deliveredAt = this.host.clock.now();
    peer.timeouts = 0;
    if (bit(held.have, index) || download.storing.has(index)) {
      this.schedule(download);
      return; // Endgame: another peer was first.
    }
    download.storing.add(index);
    download.arrivals.push({ at: peer.deliveredAt, bytes: length });
    if (download.arrivals.length > 256) download.arrivals.splice(0, download.arrivals.length - 256);
    // Every other asker of this chunk is released now: its answer is no longer needed.
    for (const other of [...(download.requesters.get(index) ?? [])]) this.release(download, other, index);
    this.schedule(download);
    download.toStore.push({ index, hash, bytes });
    this.storeNext(download);
  }

  private storeNext(download: Download): void {
    while (download.writing < STORES_AT_ONCE && download.toStore.length) {
      const { index, hash, bytes } = download.toStore.shift()!;
      download.writing++;
      void this.store(download, index, hash, bytes).finally(() => {
        download.writing--;
        this.storeNext(download);
      });
    }
  }

  private async store(download: Download, index: number, hash: string, bytes: Uint8Array): Promise<void> {
    const held = download.held;
    if (download.failed) {
      download.storing.delete(index);
      return;
    }
    try {
      if (!held.own) await this.evictPastBudget(held.root, bytes.length);
      try {
        await this.host.chunkStore.put(hash, bytes);
      } catch (error) {
        if (!(error instanceof ChunkStoreError) || error.code !== 'full') throw error;
        // Full: make room from cached files of others (never own ones), then once more.
        const before = this.cachedBytes();
        for (const other of this.evictionOrder(held.root)) {
          await this.evict(other.root);
          if (before - this.cachedBytes() >= bytes.length * 4) break;
        }
        await this.host.chunkStore.put(hash, bytes);
      }
      if (this.held.get(held.root) !== held) {
        // Evicted while it was written (freed by the merchant): a chunk nothing names goes again.
        if (!this.chunkRefs.has(hash)) await this.host.chunkStore.delete(hash).catch(() => {});
        return;
      }
      this.markHave(held, index);
    } catch (error) {
      const full = error instanceof ChunkStoreError && error.code === 'full';
      this.fail(held.root, full ? 'Storage is full: the download stopped. What was verified is kept; free cached files on the Storage page or allow this site more storage, then open it again.' : `could not store a chunk: ${describe(error)}`);
    } finally {
      download.storing.delete(index);
    }
    this.afterProgress(download);
  }

  private afterProgress(download: Download): void {
    const held = download.held;
    if (this.complete(held)) {
      this.downloadsByRoot.delete(held.root);
      held.lastUsedAt = this.host.clock.now();
      void this.host.write([{ op: 'put', key: recordKey(held.root), data: encodeHeld(held) }]).catch(() => {});
      if (!held.own) void this.evictPastBudget(held.root);
      // The next waiting download may start.
      for (const next of this.active()) this.askPeers(next);
      this.host.changed();
    } else this.schedule(download);
    // A chunk stored is no news for the views by itself: the tick says "changed" once a second
    // while downloads run (40 notifications a second cost the page a CPU-second per 256 MiB).
  }

  private heardRefusal(session: SyncSession, root: string, index: number, code: number): void {
    const download = this.downloadsByRoot.get(root);
    const peer = download?.peers.get(session);
    if (!download || !peer || !peer.inflight.has(index)) return;
    this.release(download, session, index);
    if (code === ChunkRefusalCode.notHere && peer.bitfield) {
      peer.bitfield = peer.bitfield.slice();
      clearBit(peer.bitfield, index);
    } else peer.restUntil = this.host.clock.now() + 1000;
    this.schedule(download);
  }
}

function lastByteMask(count: number): number {
  const rest = count % 8;
  return rest === 0 ? 0xff : (0xff << (8 - rest)) & 0xff;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function checkSettings(settings: PackageSettings): PackageSettings {
  const { serveOthersFiles, uploadCapBytesPerSecond, cacheBudgetBytes } = settings;
  if (typeof serveOthersFiles !== 'boolean') throw new InputError('Serve other shops’ files', 'must be on or off');
  if (!Number.isSafeInteger(uploadCapBytesPerSecond) || uploadCapBytesPerSecond < 0) throw new InputError('Upload cap', 'Upload cap must be 0 (none) or a whole number of bytes per second');
  if (uploadCapBytesPerSecond !== 0 && uploadCapBytesPerSecond < 16 * 1024) throw new InputError('Upload cap', 'Upload cap must be 0 (none) or at least 16 KB/s');
  if (!Number.isSafeInteger(cacheBudgetBytes) || cacheBudgetBytes < 0) throw new InputError('Cache budget', 'Cache budget must be a whole number of bytes');
  return { serveOthersFiles, uploadCapBytesPerSecond, cacheBudgetBytes };
}
