/**
 * Where a node keeps its bytes: vault documents, signed heads, keys, settings. Keys are paths of
 * strings; `loadRange` returns every entry under a prefix in key order. `write` is atomic: all of
 * a batch lands or none of it does, and it resolves only once the batch is durable.
 */
export type StorageKey = readonly string[];

export type StorageWrite =
  | { op: 'put'; key: StorageKey; data: Uint8Array }
  | { op: 'delete'; key: StorageKey }
  | { op: 'deleteRange'; prefix: StorageKey };

export interface StorageAdapter {
  load(key: StorageKey): Promise<Uint8Array | undefined>;
  loadRange(prefix: StorageKey): Promise<{ key: string[]; data: Uint8Array }[]>;
  write(batch: readonly StorageWrite[]): Promise<void>;
}

/** A write the storage refused, with what a merchant should be told. */
export class StorageError extends Error {
  constructor(
    readonly code: 'full' | 'unavailable' | 'failed',
    message: string,
  ) {
    super(message);
    this.name = 'StorageError';
  }
}

/** Whether `key` lies under `prefix` (a prefix of itself included). */
export function keyHasPrefix(key: StorageKey, prefix: StorageKey): boolean {
  return prefix.length <= key.length && prefix.every((part, i) => key[i] === part);
}
