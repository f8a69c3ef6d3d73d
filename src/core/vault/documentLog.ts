import * as A from '@automerge/automerge';
import type { StorageAdapter, StorageWrite } from '../storage/storage';

/** Incremental saves kept before they are folded into one snapshot. */
export const COMPACT_AFTER_INCREMENTS = 64;

/**
 * How one Automerge document lives in storage: a snapshot plus incremental saves under a key
 * prefix. Each edit writes only its increment; every COMPACT_AFTER_INCREMENTS increments the
 * document is rewritten as one snapshot and the increments are dropped, in the same batch.
 */
export class DocumentLog {
  private increments = 0;
  private nextSeq = 0;

  constructor(private readonly prefix: readonly string[]) {}

  async load<T>(storage: StorageAdapter): Promise<A.Doc<T> | undefined> {
    const snapshot = await storage.load([...this.prefix, 'snapshot']);
    const increments = await storage.loadRange([...this.prefix, 'inc']);
    if (!snapshot && increments.length === 0) return undefined;
    let doc = snapshot ? A.load<T>(snapshot) : A.init<T>();
    for (const { data } of increments) doc = A.loadIncremental(doc, data);
    // Automerge's next saveIncremental would repeat everything just loaded; mark it saved.
    A.saveIncremental(doc);
    this.increments = increments.length;
    const last = increments.at(-1)?.key.at(-1);
    this.nextSeq = last ? Number(last) + 1 : 0;
    return doc;
  }

  /** The writes that record `doc` as it is now. Call after each change, then write them. */
  writesFor<T>(doc: A.Doc<T>): StorageWrite[] {
    if (this.increments + 1 >= COMPACT_AFTER_INCREMENTS) return this.snapshotWrites(A.save(doc));
    const increment = A.saveIncremental(doc);
    if (increment.length === 0) return [];
    this.increments += 1;
    return [{ op: 'put', key: [...this.prefix, 'inc', String(this.nextSeq++).padStart(12, '0')], data: increment }];
  }

  /** The writes that replace whatever is stored with a whole document (a snapshot received from a peer). */
  snapshotWrites(snapshot: Uint8Array, loadedFrom?: A.Doc<unknown>): StorageWrite[] {
    // A document loaded from these bytes would otherwise repeat them in its next increment.
    if (loadedFrom) A.saveIncremental(loadedFrom);
    this.increments = 0;
    return [
      { op: 'deleteRange', prefix: [...this.prefix, 'inc'] },
      { op: 'put', key: [...this.prefix, 'snapshot'], data: snapshot },
    ];
  }
}
