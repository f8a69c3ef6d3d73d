import { checkChunkName, CHUNK_NAME, ChunkStoreError, type ChunkStore } from '../../core/packages/chunkStore';

/** The parts of the OPFS API that TypeScript's DOM library leaves out (iteration, move). */
interface IterableDirectory {
  keys(): AsyncIterableIterator<string>;
}
interface MovableFile {
  move(parent: FileSystemDirectoryHandle, name: string): Promise<void>;
}

const SHARD = /^[0-9a-f]{2}$/;
const FULL_MESSAGE = 'This device is out of storage space for files; the file was not saved whole. Free some space (Storage page: cached files of other shops) and try again.';

function errorName(error: unknown): string {
  return error instanceof DOMException || error instanceof Error ? error.name : '';
}

function describe(error: unknown): string {
  return error instanceof Error || error instanceof DOMException ? `${error.name}: ${error.message}` : String(error);
}

let temporaryCount = 0;

/**
 * A ChunkStore in the browser's origin private file system: one file per chunk at
 * `souk-chunks/<first two hex>/<hash>`. Works in a page, a dedicated worker and a SharedWorker:
 * it uses only `createWritable` (sync access handles exist only in dedicated workers).
 *
 * One store per directory writes (the node's); within it, puts of the same chunk are one put.
 *
 * A chunk is written whole to a temporary name in the same directory with one `createWritable`,
 * `write` and `close` (the close commits it, all or nothing; on an error the writable is
 * aborted), then moved to its own name: creating the file under its own name first would show
 * an empty file there until the close, and leave it after a failed close or a closed tab. Going
 * over the origin's quota is ChunkStoreError 'full'. `blob` is the file itself (`getFile()`),
 * read from disk when used.
 */
export class OpfsChunkStore implements ChunkStore {
  private readonly shards = new Map<string, Promise<FileSystemDirectoryHandle>>();
  /** Puts under way, by chunk: a second put of the same chunk waits for the first (OPFS refuses two moves to one name at once). */
  private readonly putting = new Map<string, Promise<void>>();

  private constructor(private readonly root: FileSystemDirectoryHandle) {}

  /** Opens (making it when needed) the directory `name` in the origin private file system. */
  static async open(name = 'souk-chunks'): Promise<OpfsChunkStore> {
    const opfs = await navigator.storage.getDirectory();
    const store = new OpfsChunkStore(await opfs.getDirectoryHandle(name, { create: true }));
    // Temporary files of puts a closed tab or a crash cut short: nobody lists them, so they go now
    // (one node per browser profile writes here), in the background.
    void store.sweepTemporaries().catch(() => undefined);
    return store;
  }

  /** Removes temporary files left by puts that never finished (before any put of this store started). */
  async sweepTemporaries(): Promise<number> {
    const started = temporaryCount;
    let removed = 0;
    for await (const shardName of (this.root as unknown as IterableDirectory).keys()) {
      if (!SHARD.test(shardName)) continue;
      const shard = await this.root.getDirectoryHandle(shardName).catch(() => undefined);
      if (!shard) continue;
      const stale: string[] = [];
      for await (const name of (shard as unknown as IterableDirectory).keys()) if (name.endsWith('.tmp') && temporaryCount === started) stale.push(name);
      for (const name of stale) {
        if (temporaryCount !== started) return removed; // This store began writing: stop, its temporaries are live.
        await shard.removeEntry(name).then(() => removed++, () => undefined);
      }
    }
    return removed;
  }

  private shard(hash: string, create: boolean): Promise<FileSystemDirectoryHandle | undefined> {
    const name = hash.slice(0, 2);
    const known = this.shards.get(name);
    if (known) return known;
    if (!create) {
      return this.root.getDirectoryHandle(name).then(
        (found) => {
          this.shards.set(name, Promise.resolve(found));
          return found;
        },
        (error: unknown) => {
          if (errorName(error) === 'NotFoundError') return undefined;
          throw error;
        },
      );
    }
    const made = this.root.getDirectoryHandle(name, { create: true });
    this.shards.set(name, made);
    made.catch(() => this.shards.delete(name));
    return made;
  }

  private async file(hash: string): Promise<FileSystemFileHandle | undefined> {
    const shard = await this.shard(hash, false);
    if (!shard) return undefined;
    try {
      return await shard.getFileHandle(hash);
    } catch (error) {
      // TypeMismatchError: a directory under a chunk's name is no chunk.
      if (errorName(error) === 'NotFoundError' || errorName(error) === 'TypeMismatchError') return undefined;
      throw error;
    }
  }

  async put(hash: string, bytes: Uint8Array): Promise<void> {
    checkChunkName(hash);
    const underWay = this.putting.get(hash);
    if (underWay) return underWay;
    const putting = this.write(hash, bytes).finally(() => this.putting.delete(hash));
    this.putting.set(hash, putting);
    return putting;
  }

  private async write(hash: string, bytes: Uint8Array): Promise<void> {
    if (await this.has(hash)) return;
    let shard: FileSystemDirectoryHandle | undefined;
    const temporary = `${hash}.${++temporaryCount}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      shard = (await this.shard(hash, true))!;
      const handle = await shard.getFileHandle(temporary, { create: true });
      const writable = await handle.createWritable();
      try {
        await writable.write(bytes as Uint8Array<ArrayBuffer>);
        await writable.close();
      } catch (error) {
        await writable.abort().catch(() => undefined);
        throw error;
      }
      await (handle as unknown as MovableFile).move(shard, hash);
    } catch (error) {
      await shard?.removeEntry(temporary).catch(() => undefined);
      if (errorName(error) === 'QuotaExceededError') throw new ChunkStoreError('full', FULL_MESSAGE);
      throw new ChunkStoreError('failed', `The chunk was not saved: ${describe(error)}`);
    }
  }

  async get(hash: string): Promise<Uint8Array | undefined> {
    checkChunkName(hash);
    try {
      const file = await (await this.file(hash))?.getFile();
      return file && new Uint8Array(await file.arrayBuffer());
    } catch (error) {
      if (errorName(error) === 'NotFoundError') return undefined;
      throw new ChunkStoreError('failed', `The chunk could not be read: ${describe(error)}`);
    }
  }

  async has(hash: string): Promise<boolean> {
    checkChunkName(hash);
    try {
      return (await this.file(hash)) !== undefined;
    } catch (error) {
      throw new ChunkStoreError('failed', `The chunk could not be looked up: ${describe(error)}`);
    }
  }

  async delete(hash: string): Promise<void> {
    checkChunkName(hash);
    try {
      await (await this.shard(hash, false))?.removeEntry(hash);
    } catch (error) {
      if (errorName(error) === 'NotFoundError') return;
      throw new ChunkStoreError('failed', `The chunk could not be removed: ${describe(error)}`);
    }
  }

  async list(): Promise<string[]> {
    const hashes: string[] = [];
    try {
      for await (const shardName of (this.root as unknown as IterableDirectory).keys()) {
        if (!SHARD.test(shardName)) continue;
        let shard: FileSystemDirectoryHandle;
        try {
          shard = await this.root.getDirectoryHandle(shardName);
        } catch (error) {
          // A file named like a shard, or a shard removed meanwhile.
          if (errorName(error) === 'TypeMismatchError' || errorName(error) === 'NotFoundError') continue;
          throw error;
        }
        for await (const name of (shard as unknown as IterableDirectory).keys()) {
          if (CHUNK_NAME.test(name) && name.startsWith(shardName)) hashes.push(name);
        }
      }
    } catch (error) {
      throw new ChunkStoreError('failed', `The chunks could not be listed: ${describe(error)}`);
    }
    return hashes;
  }

  async blob(hash: string): Promise<Blob | undefined> {
    checkChunkName(hash);
    try {
      return await (await this.file(hash))?.getFile();
    } catch (error) {
      if (errorName(error) === 'NotFoundError') return undefined;
      throw new ChunkStoreError('failed', `The chunk could not be opened: ${describe(error)}`);
    }
  }
}
