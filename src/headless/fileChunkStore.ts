import { openAsBlob } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checkChunkName, CHUNK_NAME, ChunkStoreError, type ChunkStore } from '../core/packages/chunkStore';

const SHARD = /^[0-9a-f]{2}$/;
let temporaryCount = 0;

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * A ChunkStore on disk (Node: tests and the always-on node): one file per chunk at
 * `<directory>/<first two hex>/<hash>`. A chunk is written whole to a temporary name in the
 * same directory, flushed, then renamed to its own name, so a chunk is either whole under its
 * name or not there; a full disk (ENOSPC, EDQUOT) is ChunkStoreError 'full'. At most one chunk
 * is in memory at a time: the one being put or got; `blob` reads from the file.
 */
export class FileChunkStore implements ChunkStore {
  constructor(readonly directory: string) {}

  private path(hash: string): string {
    return join(this.directory, hash.slice(0, 2), hash);
  }

  async put(hash: string, bytes: Uint8Array): Promise<void> {
    checkChunkName(hash);
    if (await this.has(hash)) return;
    const shard = join(this.directory, hash.slice(0, 2));
    // Not a chunk name, so list() never shows it; unique within this process and across processes.
    const temporary = join(shard, `${hash}.${process.pid}.${++temporaryCount}.tmp`);
    try {
      await mkdir(shard, { recursive: true });
      const file = await open(temporary, 'wx');
      try {
        await file.writeFile(bytes);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temporary, this.path(hash));
    } catch (error) {
      await rm(temporary, { force: true }).catch(() => undefined);
      const code = errorCode(error);
      if (code === 'ENOSPC' || code === 'EDQUOT') {
        throw new ChunkStoreError('full', 'The disk is full; the chunk was not saved. Free some space and try again.');
      }
      throw new ChunkStoreError('failed', `The chunk was not saved: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  async get(hash: string): Promise<Uint8Array | undefined> {
    checkChunkName(hash);
    try {
      return new Uint8Array(await readFile(this.path(hash)));
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return undefined;
      throw new ChunkStoreError('failed', `The chunk could not be read: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  async has(hash: string): Promise<boolean> {
    checkChunkName(hash);
    try {
      return (await stat(this.path(hash))).isFile();
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return false;
      throw new ChunkStoreError('failed', `The chunk could not be looked up: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  async delete(hash: string): Promise<void> {
    checkChunkName(hash);
    try {
      await rm(this.path(hash), { force: true });
    } catch (error) {
      throw new ChunkStoreError('failed', `The chunk could not be removed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  async list(): Promise<string[]> {
    const hashes: string[] = [];
    for (const shard of await directoryNames(this.directory)) {
      if (!SHARD.test(shard)) continue;
      for (const name of await directoryNames(join(this.directory, shard))) {
        if (CHUNK_NAME.test(name) && name.startsWith(shard)) hashes.push(name);
      }
    }
    return hashes;
  }

  async blob(hash: string): Promise<Blob | undefined> {
    checkChunkName(hash);
    try {
      return await openAsBlob(this.path(hash));
    } catch (error) {
      // Node 20 gives no error code for a missing file here ("Unable to open file as blob").
      if (errorCode(error) === 'ENOENT' || !(await this.has(hash))) return undefined;
      throw new ChunkStoreError('failed', `The chunk could not be opened: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

/** The names in a directory; none when it does not exist (yet). */
async function directoryNames(path: string): Promise<string[]> {
  try {
    return await readdir(path);
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw new ChunkStoreError('failed', `The chunks could not be listed: ${error instanceof Error ? error.message : String(error)}`);
  }
}
