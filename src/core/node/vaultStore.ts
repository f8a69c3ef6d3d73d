import * as A from '@automerge/automerge';
import type { StorageAdapter, StorageWrite } from '../storage/storage';
import { StorageError } from '../storage/storage';
import type { VerifiedVault } from '../vault/acceptBundle';
import { decodeSignedHeads, encodeSignedHeads, type SignedHeads } from '../vault/signedHeads';
import { MAX_STATEMENTS, versionNumber } from '../vault/vaultVersion';
import { DEVICE_REVOCATION_BYTES } from '../vault/deviceRevocation';
import { fromHex, toHex } from '../wire/hex';
import type { SharedVaultDoc } from '../vault/vaultDocuments';
import type { VaultContent } from '../vault/vaultShape';
import { BinaryReader, BinaryWriter } from '../wire/binary';

/**
 * Where the vaults this node carries live, and which of them it keeps.
 *
 * Storage layout (keys are string paths):
 *   ['vaultIndex', id]        the index record: signed heads, sizes, times, name, area, offer count
 *   ['vault', id, 'doc']      a peer's vault: this node's own canonical encoding (A.save), never a peer's bytes
 *   ['vault', id, 'content']  a peer's vault's checked content (JSON), what the Marketplace reads
 *   ['vault', id, 'shared', …] the node's own vault: a DocumentLog (snapshot + increments)
 *
 * Opening reads only the index; documents and content load when first needed, and loaded
 * documents are kept in a small least-recently-used set. Vaults other than the node's own and
 * its partners' are evicted least-recently-used past a budget of count and bytes.
 */
export type VaultStanding = 'own' | 'partner' | 'other';

export interface VaultRecord {
  id: string;
  /** The latest statement of each of the vault's devices: its version. */
  statements: SignedHeads[];
  /** Every root-signed device revocation known for the vault (encoded, hex). */
  revocations: string[];
  /** Stored by version 0.1 (one statement, schema-1 document): dropped at open, or migrated if it is the node's own. */
  legacy?: boolean;
  /** When this node took the current version. */
  asOf: number;
  firstSeenAt: number;
  lastUsedAt: number;
  /** Size of the stored canonical encoding. */
  bytes: number;
  ops: number;
  name: string;
  area: string;
  offerCount: number;
}

export interface VaultBudget {
  /** Vaults kept beyond the node's own and its partners'. */
  maxOtherVaults: number;
  maxOtherBytes: number;
  /** Documents held in memory at once (the node's own is always held). */
  maxLoadedDocs: number;
}

export const DEFAULT_VAULT_BUDGET: VaultBudget = { maxOtherVaults: 1000, maxOtherBytes: 64 * 1024 * 1024, maxLoadedDocs: 48 };

const INDEX_VERSION = 2;
export const indexKey = (id: string) => ['vaultIndex', id];
export const docKey = (id: string) => ['vault', id, 'doc'];
export const contentKey = (id: string) => ['vault', id, 'content'];
export const ownLogPrefix = (id: string) => ['vault', id, 'shared'];
export const tombstoneKey = (id: string) => ['vaultRevocations', id];
const MAX_TOMBSTONES = 4096;

function encodeRevocationList(list: readonly string[]): Uint8Array {
  const writer = new BinaryWriter().u16(list.length);
  for (const hex of list) writer.bytes(fromHex(hex));
  return writer.finish();
}

function decodeRevocationList(bytes: Uint8Array): string[] {
  const r = new BinaryReader(bytes);
  const list: string[] = [];
  const count = r.count(MAX_STATEMENTS, 'revocations');
  for (let i = 0; i < count; i++) list.push(toHex(r.bytes(DEVICE_REVOCATION_BYTES, 'revocation')));
  r.end('kept revocations');
  return list;
}

export function encodeIndexRecord(record: VaultRecord): Uint8Array {
  const writer = new BinaryWriter()
    .u8(INDEX_VERSION)
    .u64(Math.max(0, Math.floor(record.asOf)))
    .u64(Math.max(0, Math.floor(record.firstSeenAt)))
    .u64(Math.max(0, Math.floor(record.lastUsedAt)))
    .u32(record.bytes)
    .u32(record.ops)
    .u32(record.offerCount)
    .text(record.name)
    .text(record.area)
    .u16(record.statements.length);
  for (const statement of record.statements) writer.bytes(encodeSignedHeads(statement));
  writer.u16(record.revocations.length);
  for (const revocation of record.revocations) writer.bytes(fromHex(revocation));
  return writer.finish();
}

export function decodeIndexRecord(id: string, bytes: Uint8Array): VaultRecord {
  const r = new BinaryReader(bytes);
  const version = r.u8('index version');
  if (version !== INDEX_VERSION && version !== 1) throw new Error(`vault index record version ${version} is unknown`);
  const asOf = r.u64('asOf');
  const firstSeenAt = r.u64('firstSeenAt');
  const lastUsedAt = r.u64('lastUsedAt');
  const size = r.u32('bytes');
  const ops = r.u32('ops');
  const offerCount = r.u32('offers');
  const name = r.text(1024, 'name');
  const area = r.text(1024, 'area');
  const statements: SignedHeads[] = [];
  const count = version === 1 ? 1 : r.count(MAX_STATEMENTS, 'statements');
  for (let i = 0; i < count; i++) statements.push(decodeSignedHeads(r.bytes(64 * 1024, 'signed heads')));
  const revocations: string[] = [];
  const revoked = version === 1 ? 0 : r.count(MAX_STATEMENTS, 'revocations');
  for (let i = 0; i < revoked; i++) revocations.push(toHex(r.bytes(DEVICE_REVOCATION_BYTES, 'revocation')));
  r.end('vault index record');
  return { id, statements, revocations, asOf, firstSeenAt, lastUsedAt, bytes: size, ops, name, area, offerCount, ...(version === 1 ? { legacy: true } : {}) };
}

/** A key naming one version: its statements' devices and counters. */
export function versionKey(statements: readonly SignedHeads[]): string {
  return statements.map((s) => `${s.counter}:${s.heads.join(',')}`).join(';');
}

export class VaultStore {
  private readonly records = new Map<string, VaultRecord>();
  /** Revocations of vaults dropped for holding a revoked device's word (bounded, least recent first). */
  private readonly tombstones = new Map<string, string[]>();
  /** Loaded documents, least recently used first. */
  private readonly docs = new Map<string, A.Doc<SharedVaultDoc>>();
  private readonly contents = new Map<string, VaultContent>();
  /** Canonical bytes of recently served versions, least recently used first. */
  private readonly encodings = new Map<string, { heads: string; bytes: Uint8Array }>();
  private encodingBytes = 0;
  private static readonly MAX_ENCODING_CACHE = 32 * 1024 * 1024;

  private constructor(
    private readonly storage: StorageAdapter,
    readonly budget: VaultBudget,
    private readonly standingOf: (id: string) => VaultStanding,
  ) {}

  /** Reads the index only. Records that do not decode are reported and skipped. */
  static async open(
    storage: StorageAdapter,
    standingOf: (id: string) => VaultStanding,
    budget: VaultBudget = DEFAULT_VAULT_BUDGET,
    report: (problem: string) => void = () => {},
  ): Promise<VaultStore> {
    const store = new VaultStore(storage, budget, standingOf);
    for (const { key, data } of await storage.loadRange(['vaultRevocations'])) {
      const id = key[1];
      if (key.length !== 2 || !id) continue;
      try {
        store.keepTombstone(id, decodeRevocationList(data));
      } catch {
        report(`vault ${id.slice(0, 8)}: kept revocations unreadable; ignored`);
      }
    }
    for (const { key, data } of await storage.loadRange(['vaultIndex'])) {
      const id = key[1];
      if (key.length !== 2 || !id) continue;
      try {
        store.records.set(id, decodeIndexRecord(id, data));
      } catch (error) {
        report(`vault ${id.slice(0, 8)}: index record unreadable (${error instanceof Error ? error.message : String(error)}); ignored`);
      }
    }
    return store;
  }

  get(id: string): VaultRecord | undefined {
    return this.records.get(id);
  }

  has(id: string): boolean {
    return this.records.has(id);
  }

  all(): IterableIterator<VaultRecord> {
    return this.records.values();
  }

  get size(): number {
    return this.records.size;
  }

  /** The verified document of a vault, loaded from this node's own encoding if need be. */
  async doc(id: string): Promise<A.Doc<SharedVaultDoc> | undefined> {
    const held = this.docs.get(id);
    if (held) {
      this.docs.delete(id);
      this.docs.set(id, held);
      return held;
    }
    const record = this.records.get(id);
    if (!record) return undefined;
    const bytes = await this.storage.load(docKey(id));
    if (!bytes) return undefined;
    // Re-check: a vault could have changed while storage was read.
    if (this.records.get(id) !== record) return this.doc(id);
    const doc = A.load<SharedVaultDoc>(bytes);
    this.holdDoc(id, doc);
    return doc;
  }

  /** The loaded document, if it is in memory. */
  loadedDoc(id: string): A.Doc<SharedVaultDoc> | undefined {
    return this.docs.get(id);
  }

  holdDoc(id: string, doc: A.Doc<SharedVaultDoc>): void {
    this.docs.delete(id);
    this.docs.set(id, doc);
    for (const key of this.docs.keys()) {
      if (this.docs.size <= this.budget.maxLoadedDocs) break;
      if (this.standingOf(key) === 'own') continue;
      this.docs.delete(key);
    }
  }

  /** The checked content of a vault (what views read), from memory or storage. */
  async content(id: string): Promise<VaultContent | undefined> {
    const held = this.contents.get(id);
    if (held) return held;
    if (!this.records.has(id)) return undefined;
    const bytes = await this.storage.load(contentKey(id));
    if (!bytes || !this.records.has(id)) return undefined;
    try {
      const content = JSON.parse(new TextDecoder().decode(bytes)) as VaultContent;
      this.contents.set(id, content);
      return content;
    } catch {
      return undefined;
    }
  }

  cachedContent(id: string): VaultContent | undefined {
    return this.contents.get(id);
  }

  /** This node's canonical encoding of the vault's current version and its statements, to serve to peers. */
  async encoding(id: string): Promise<{ bytes: Uint8Array; statements: SignedHeads[] } | undefined> {
    const record = this.records.get(id);
    if (!record) return undefined;
    const heads = versionKey(record.statements);
    const cached = this.encodings.get(id);
    if (cached?.heads === heads) {
      this.encodings.delete(id);
      this.encodings.set(id, cached);
      return { bytes: cached.bytes, statements: record.statements };
    }
    let bytes: Uint8Array | undefined;
    if (this.standingOf(id) === 'own') {
      const doc = this.docs.get(id);
      bytes = doc ? A.save(doc) : undefined;
    } else {
      bytes = await this.storage.load(docKey(id));
    }
    // The bytes and the signed heads returned together are always of one version.
    if (!bytes || this.records.get(id) !== record) return undefined;
    this.cacheEncoding(id, heads, bytes);
    return { bytes, statements: record.statements };
  }

  private cacheEncoding(id: string, heads: string, bytes: Uint8Array): void {
    const old = this.encodings.get(id);
    if (old) this.encodingBytes -= old.bytes.length;
    this.encodings.delete(id);
    if (bytes.length > VaultStore.MAX_ENCODING_CACHE / 4) return;
    this.encodings.set(id, { heads, bytes });
    this.encodingBytes += bytes.length;
    for (const [key, entry] of this.encodings) {
      if (this.encodingBytes <= VaultStore.MAX_ENCODING_CACHE) break;
      this.encodings.delete(key);
      this.encodingBytes -= entry.bytes.length;
    }
  }

  /**
   * Saves a peer's vault version that acceptance verified, evicting others past the budget in the
   * same atomic write. Memory changes only once storage has it; a failed write changes nothing.
   * Returns the vaults evicted, with the version each was at.
   */
  async saveAccepted(id: string, vault: VerifiedVault, canonical: Uint8Array, now: number): Promise<{ id: string; counter: number }[]> {
    const previous = this.records.get(id);
    const record = this.recordFor(id, vault, now, canonical.length, vault.ops);
    const evicted = this.evictionsFor(id, record.bytes - (previous?.bytes ?? 0), previous === undefined);
    const batch: StorageWrite[] = [];
    for (const gone of evicted) batch.push({ op: 'delete', key: indexKey(gone) }, { op: 'deleteRange', prefix: ['vault', gone] });
    batch.push(
      { op: 'put', key: docKey(id), data: canonical },
      { op: 'put', key: contentKey(id), data: new TextEncoder().encode(JSON.stringify(vault.content)) },
      { op: 'put', key: indexKey(id), data: encodeIndexRecord(record) },
    );
    await this.write(batch);
    const gone = evicted.map((old) => ({ id: old, counter: versionNumber(this.records.get(old)?.statements ?? []) }));
    for (const old of evicted) this.forget(old);
    this.records.set(id, record);
    this.contents.set(id, vault.content);
    this.holdDoc(id, vault.doc);
    this.cacheEncoding(id, versionKey(record.statements), canonical);
    return gone;
  }

  /** The index record of a vault at a new version taken now. */
  private recordFor(id: string, vault: Pick<VerifiedVault, 'statements' | 'content' | 'revocations'>, now: number, bytes: number, ops: number): VaultRecord {
    return {
      id,
      statements: vault.statements,
      revocations: vault.revocations,
      asOf: now,
      firstSeenAt: this.records.get(id)?.firstSeenAt ?? now,
      lastUsedAt: now,
      bytes,
      ops,
      name: vault.content.profile.name,
      area: vault.content.profile.area,
      offerCount: vault.content.offers.length,
    };
  }

  /**
   * The write that records the node's own vault at a new version in the index (the documents
   * themselves are its DocumentLog's writes; its content is derived from them when it opens).
   */
  ownVaultWrites(
    id: string,
    vault: Pick<VerifiedVault, 'statements' | 'content'>,
    cost: { ops: number; bytes: number },
    now: number,
  ): { writes: StorageWrite[]; record: VaultRecord } {
    // The shop's own revocations are in its document; any held from elsewhere are kept too.
    const revocations = [...new Set([...vault.content.revocations.map((r) => r.encoded), ...(this.records.get(id)?.revocations ?? [])])];
    const record = this.recordFor(id, { ...vault, revocations }, now, cost.bytes, cost.ops);
    return { record, writes: [{ op: 'put', key: indexKey(id), data: encodeIndexRecord(record) }] };
  }

  /** After the own vault's writes landed: the new record, content and document in memory. */
  commitOwn(record: VaultRecord, content: VaultContent, doc: A.Doc<SharedVaultDoc>): void {
    this.records.set(record.id, record);
    this.contents.set(record.id, content);
    this.holdDoc(record.id, doc);
  }

  /** Marks a vault used (viewed, traded with): eviction takes the least recently used first. In memory only. */
  touch(id: string, now: number): void {
    const record = this.records.get(id);
    if (record) record.lastUsedAt = Math.max(record.lastUsedAt, now);
  }

  /** Whether one more vault of `bytes` from others fits, counting what could be evicted. */
  private evictionsFor(id: string, extraBytes: number, isNew: boolean): string[] {
    if (this.standingOf(id) !== 'other') return [];
    let count = 0;
    let bytes = 0;
    const candidates: VaultRecord[] = [];
    for (const record of this.records.values()) {
      if (this.standingOf(record.id) !== 'other') continue;
      count += 1;
      bytes += record.bytes;
      if (record.id !== id) candidates.push(record);
    }
    count += isNew ? 1 : 0;
    bytes += extraBytes;
    candidates.sort((a, b) => a.lastUsedAt - b.lastUsedAt);
    const evicted: string[] = [];
    for (const record of candidates) {
      if (count <= this.budget.maxOtherVaults && bytes <= this.budget.maxOtherBytes) break;
      evicted.push(record.id);
      count -= 1;
      bytes -= record.bytes;
    }
    return evicted;
  }

  /** Drops a vault from memory (after its storage is gone). */
  private forget(id: string): void {
    this.records.delete(id);
    this.docs.delete(id);
    this.contents.delete(id);
    const encoding = this.encodings.get(id);
    if (encoding) this.encodingBytes -= encoding.bytes.length;
    this.encodings.delete(id);
  }

  /**
   * Drops every vault stored by version 0.1 but `keep` (the node's own, which its shop migrates):
   * copies of others' vaults are a cache, fetched anew in the current form.
   */
  async dropLegacy(keep: string | undefined): Promise<number> {
    const gone = [...this.records.values()].filter((r) => r.legacy && r.id !== keep).map((r) => r.id);
    if (!gone.length) return 0;
    await this.write(gone.flatMap((id): StorageWrite[] => [{ op: 'delete', key: indexKey(id) }, { op: 'deleteRange', prefix: ['vault', id] }]));
    for (const id of gone) this.forget(id);
    return gone.length;
  }

  /**
   * Forgets a vault whose held version turned out invalid (a revocation seen late), so it is
   * fetched anew. Its revocations are kept: a node that has seen one never takes what it refuses.
   */
  async drop(id: string): Promise<void> {
    const record = this.records.get(id);
    if (!record || this.standingOf(id) === 'own') return;
    const kept = record.revocations;
    await this.write([
      { op: 'delete', key: indexKey(id) },
      { op: 'deleteRange', prefix: ['vault', id] },
      ...(kept.length ? [{ op: 'put' as const, key: tombstoneKey(id), data: encodeRevocationList(kept) }] : []),
    ]);
    this.forget(id);
    if (kept.length) this.keepTombstone(id, kept);
  }

  /** Revocations known for a vault: its record's, or those kept after it was dropped. */
  revocationsOf(id: string): string[] {
    return this.records.get(id)?.revocations ?? this.tombstones.get(id) ?? [];
  }

  private keepTombstone(id: string, revocations: string[]): void {
    this.tombstones.delete(id);
    this.tombstones.set(id, revocations);
    for (const old of this.tombstones.keys()) {
      if (this.tombstones.size <= MAX_TOMBSTONES) break;
      this.tombstones.delete(old);
    }
  }

  /** Removes cached others' vaults (the merchant freed space); never the own or partners'. */
  async remove(ids: string[]): Promise<void> {
    const gone = ids.filter((id) => this.records.has(id) && this.standingOf(id) === 'other');
    if (!gone.length) return;
    await this.write(gone.flatMap((id): StorageWrite[] => [{ op: 'delete', key: indexKey(id) }, { op: 'deleteRange', prefix: ['vault', id] }]));
    for (const id of gone) this.forget(id);
  }

  private async write(batch: StorageWrite[]): Promise<void> {
    try {
      await this.storage.write(batch);
    } catch (error) {
      throw error instanceof StorageError ? error : new StorageError('failed', `The change was not saved: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}
