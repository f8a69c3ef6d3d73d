import * as A from '@automerge/automerge';
import type { StorageAdapter, StorageWrite } from '../storage/storage';

/** Incremental saves kept before they are folded into one snapshot. */
export const COMPACT_AFTER_INCREMENTS = 64;

/**
 * How one Automerge document lives in storage: a snapshot plus incremental saves under a key
 * prefix. Each edit writes only what changed since the heads last saved (`A.saveSince`); every
 * COMPACT_AFTER_INCREMENTS increments the document is rewritten as one snapshot and the
 * increments are dropped, in the same batch. The saved heads are recorded, never re-derived by
 * re-encoding the history.
 */
export class DocumentLog {
  private increments = 0;
  private nextSeq = 0;
  private savedHeads: A.Heads = [];

  constructor(private readonly prefix: readonly string[]) {}

  async load<T>(storage: StorageAdapter): Promise<A.Doc<T> | undefined> {
    const snapshot = await storage.load([...this.prefix, 'snapshot']);
    const increments = await storage.loadRange([...this.prefix, 'inc']);
    if (!snapshot && increments.length === 0) return undefined;
    let doc = snapshot ? A.load<T>(snapshot) : A.init<T>();
    for (const { data } of increments) doc = A.loadIncremental(doc, data);
    this.savedHeads = A.getHeads(doc);
    this.increments = increments.length;
    const last = increments.at(-1)?.key.at(-1);
    this.nextSeq = last ? Number(last) + 1 : 0;
    return doc;
  }

  /** The writes that record `doc` as it is now (the saved heads move on at once: after a failed write, load anew). */
  writesFor<T>(doc: A.Doc<T>): StorageWrite[] {
    if (this.increments + 1 >= COMPACT_AFTER_INCREMENTS) return this.snapshotWrites(A.save(doc), A.getHeads(doc));
    const increment = A.saveSince(doc, this.savedHeads);
    if (increment.length === 0) return [];
    this.increments += 1;
    this.savedHeads = A.getHeads(doc);
    return [{ op: 'put', key: [...this.prefix, 'inc', String(this.nextSeq++).padStart(12, '0')], data: increment }];
  }

  /** The writes that replace whatever is stored with a whole document. */
  snapshotWrites(snapshot: Uint8Array, heads?: A.Heads): StorageWrite[] {
    this.increments = 0;
    if (heads) this.savedHeads = heads;
    else this.savedHeads = A.getHeads(A.load(snapshot));
    return [
      { op: 'deleteRange', prefix: [...this.prefix, 'inc'] },
      { op: 'put', key: [...this.prefix, 'snapshot'], data: snapshot },
    ];
  }
}
