import { checkChunkName, ChunkStoreError, type ChunkStore } from './chunkStore';

export interface MemoryChunkStoreOptions {
  /**
   * The most chunk bytes the store holds; a put past it throws ChunkStoreError 'full' and stores
   * nothing (a full disk, for tests of the node). Unlimited when absent.
   */
  capacityBytes?: number;
}

/** A ChunkStore in memory, for tests and the simulator. Stores and returns copies. */
export class MemoryChunkStore implements ChunkStore {
  private readonly chunks = new Map<string, Uint8Array>();
  private usedBytes = 0;
  private readonly capacityBytes: number;

  constructor(options: MemoryChunkStoreOptions = {}) {
    this.capacityBytes = options.capacityBytes ?? Infinity;
  }

  /** The bytes of all chunks held. */
  get bytesHeld(): number {
    return this.usedBytes;
  }

  async put(hash: string, bytes: Uint8Array): Promise<void> {
    checkChunkName(hash);
    if (this.chunks.has(hash)) return;
    if (this.usedBytes + bytes.length > this.capacityBytes) {
      throw new ChunkStoreError('full', `The chunk store is full (${this.usedBytes} of ${this.capacityBytes} bytes used); the chunk was not saved.`);
    }
    this.chunks.set(hash, bytes.slice());
    this.usedBytes += bytes.length;
  }

  async get(hash: string): Promise<Uint8Array | undefined> {
    checkChunkName(hash);
    return this.chunks.get(hash)?.slice();
  }

  async has(hash: string): Promise<boolean> {
    checkChunkName(hash);
    return this.chunks.has(hash);
  }

  async delete(hash: string): Promise<void> {
    checkChunkName(hash);
    const bytes = this.chunks.get(hash);
    if (!bytes) return;
    this.chunks.delete(hash);
    this.usedBytes -= bytes.length;
  }

  async list(): Promise<string[]> {
    return [...this.chunks.keys()];
  }

  async blob(hash: string): Promise<Blob | undefined> {
    checkChunkName(hash);
    const bytes = this.chunks.get(hash);
    return bytes && new Blob([bytes as Uint8Array<ArrayBuffer>]);
  }
}
