/**
 * The chunk store port: where package chunks live, each named by the lowercase hex of its BLAKE3
 * hash (64 characters). Content-addressed: a chunk is stored once however many packages hold it.
 * The store keeps bytes; it does not judge them: whoever calls `put` has verified the hash, and
 * whoever reads a chunk to serve it checks it again.
 *
 * Adapters: MemoryChunkStore (tests, simulator), FileChunkStore (Node: one file per chunk on
 * disk), OpfsChunkStore (browser: one OPFS file per chunk, written whole). All pass
 * chunkStoreConformance.ts.
 */
export interface ChunkStore {
  /**
   * Stores a chunk whole and atomically: after a failure (a full disk, a closed tab) no part of
   * it is visible under its name. Storing a hash already held changes nothing. A full disk
   * throws ChunkStoreError with code 'full'.
   */
  put(hash: string, bytes: Uint8Array): Promise<void>;
  /** The chunk's bytes, or undefined when it is not held. */
  get(hash: string): Promise<Uint8Array | undefined>;
  has(hash: string): Promise<boolean>;
  /** Removes a chunk; removing one not held is no error. */
  delete(hash: string): Promise<void>;
  /** Every held chunk's hash, in no particular order. */
  list(): Promise<string[]>;
  /**
   * The chunk as a Blob backed by storage (not read into memory), for opening a file made of
   * many chunks; undefined when it is not held.
   */
  blob(hash: string): Promise<Blob | undefined>;
}

export class ChunkStoreError extends Error {
  constructor(
    readonly code: 'full' | 'failed' | 'bad-name',
    message: string,
  ) {
    super(message);
    this.name = 'ChunkStoreError';
  }
}

/** A chunk name: 64 lowercase hex characters. */
export const CHUNK_NAME = /^[0-9a-f]{64}$/;

export function checkChunkName(hash: string): void {
  if (!CHUNK_NAME.test(hash)) throw new ChunkStoreError('bad-name', `not a chunk name: ${JSON.stringify(hash.slice(0, 80))}`);
}
