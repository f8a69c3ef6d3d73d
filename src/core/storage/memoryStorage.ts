import { keyHasPrefix, StorageError, type StorageAdapter, type StorageKey, type StorageWrite } from './storage';

const SEPARATOR = '\u0000';

/** Storage in a Map, for tests and the simulator. `failWrites` simulates a full disk. */
export class MemoryStorage implements StorageAdapter {
  private readonly entries = new Map<string, Uint8Array>();
  failWrites: StorageError | undefined;

  async load(key: StorageKey): Promise<Uint8Array | undefined> {
    return this.entries.get(key.join(SEPARATOR))?.slice();
  }

  async loadRange(prefix: StorageKey): Promise<{ key: string[]; data: Uint8Array }[]> {
    const out: { key: string[]; data: Uint8Array }[] = [];
    for (const [joined, data] of this.entries) {
      const key = joined.split(SEPARATOR);
      if (keyHasPrefix(key, prefix)) out.push({ key, data: data.slice() });
    }
    return out.sort((x, y) => (x.key.join(SEPARATOR) < y.key.join(SEPARATOR) ? -1 : 1));
  }

  async write(batch: readonly StorageWrite[]): Promise<void> {
    if (this.failWrites) throw this.failWrites;
    for (const item of batch) {
      const key = item.op === 'deleteRange' ? item.prefix : item.key;
      if (!key.every((part) => typeof part === 'string')) throw new StorageError('failed', `bad storage key: ${String(key)}`);
    }
    for (const item of batch) {
      if (item.op === 'put') this.entries.set(item.key.join(SEPARATOR), item.data.slice());
      else if (item.op === 'delete') this.entries.delete(item.key.join(SEPARATOR));
      else for (const joined of [...this.entries.keys()]) if (keyHasPrefix(joined.split(SEPARATOR), item.prefix)) this.entries.delete(joined);
    }
  }
}
