import { openDB, type IDBPDatabase } from 'idb';
import { StorageError, type StorageAdapter, type StorageKey, type StorageWrite } from '../../core/storage/storage';

const STORE = 'entries';

/**
 * Storage in IndexedDB, one object store keyed by array keys (IndexedDB orders arrays element by
 * element, so a prefix range is a key range). Each batch is one transaction with strict
 * durability: when `write` resolves, the data is on disk.
 */
export class IndexedDbStorage implements StorageAdapter {
  private constructor(private readonly db: IDBPDatabase) {}

  static async open(name = 'souk'): Promise<IndexedDbStorage> {
    try {
      const db = await openDB(name, 1, {
        upgrade(database) {
          database.createObjectStore(STORE);
        },
        blocking() {
          // A newer version of Souk wants the database: let it have it.
          db.close();
        },
      });
      return new IndexedDbStorage(db);
    } catch (error) {
      throw new StorageError('unavailable', `This browser will not open Souk's storage: ${describe(error)}`);
    }
  }

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    const value = (await this.db.get(STORE, [...key])) as Uint8Array | undefined;
    return value === undefined ? undefined : new Uint8Array(value);
  }

  async loadRange(prefix: StorageKey): Promise<{ key: string[]; data: Uint8Array }[]> {
    const tx = this.db.transaction(STORE, 'readonly');
    const out: { key: string[]; data: Uint8Array }[] = [];
    // Arrays sort after strings, so [...prefix, []] bounds every key that extends the prefix.
    let cursor = await tx.store.openCursor(IDBKeyRange.bound([...prefix], [...prefix, []]));
    while (cursor) {
      out.push({ key: cursor.key as string[], data: new Uint8Array(cursor.value as Uint8Array) });
      cursor = await cursor.continue();
    }
    await tx.done;
    return out;
  }

  async write(batch: readonly StorageWrite[]): Promise<void> {
    if (batch.length === 0) return;
    try {
      const tx = this.db.transaction(STORE, 'readwrite', { durability: 'strict' });
      try {
        for (const item of batch) {
          if (item.op === 'put') void tx.store.put(item.data, [...item.key]).catch(() => {});
          else if (item.op === 'delete') void tx.store.delete([...item.key]).catch(() => {});
          else void tx.store.delete(IDBKeyRange.bound([...item.prefix], [...item.prefix, []])).catch(() => {});
        }
      } catch (error) {
        // A request that throws at once (a bad key) does not abort the transaction by itself:
        // without this, the requests before it would commit and the batch would land in part.
        tx.done.catch(() => {});
        tx.abort();
        throw error;
      }
      await tx.done;
    } catch (error) {
      const name = error instanceof DOMException ? error.name : '';
      if (name === 'QuotaExceededError') {
        throw new StorageError('full', 'This device is out of storage space; the change was not saved. Free some space and try again.');
      }
      throw new StorageError('failed', `The change was not saved: ${describe(error)}`);
    }
  }

  close(): void {
    this.db.close();
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
