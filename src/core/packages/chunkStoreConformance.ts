import { toHex } from '../wire/hex';
import { loadBlake3 } from './blake3';
import { ChunkStoreError, type ChunkStore } from './chunkStore';

/**
 * What every ChunkStore must do, as plain cases with no test framework, so the same cases run
 * under Vitest (memory, files on disk) and inside a Chromium worker (OPFS). Each case opens its
 * own fresh, empty store from the target.
 */
export interface ChunkStoreConformanceTarget {
  /** A fresh, empty store. */
  open(): Promise<ChunkStore>;
  /**
   * A fresh, empty store with room for about `capacityBytes` of chunks, whose put past that
   * throws ChunkStoreError 'full'. Absent for an adapter that cannot be made full on demand: the
   * cases that need it are then skipped (see `needsCapacity`).
   */
  openWithCapacity?(capacityBytes: number): Promise<ChunkStore>;
}

export interface ChunkStoreConformanceCase {
  name: string;
  /** The case needs `openWithCapacity`. */
  needsCapacity?: boolean;
  run(target: ChunkStoreConformanceTarget): Promise<void>;
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

const same = (a: Uint8Array | undefined, b: Uint8Array) => !!a && a.length === b.length && a.every((v, i) => v === b[i]);

/** `length` bytes that differ from chunk to chunk with `seed`. */
function chunkBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = (seed * 2654435761 + 1) >>> 0;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

/** A chunk of `length` bytes with its real name. */
async function namedChunk(length: number, seed: number): Promise<{ hash: string; bytes: Uint8Array }> {
  const bytes = chunkBytes(length, seed);
  return { hash: toHex((await loadBlake3()).hash(bytes)), bytes };
}

async function blobBytes(blob: Blob | undefined): Promise<Uint8Array | undefined> {
  return blob && new Uint8Array(await blob.arrayBuffer());
}

async function failure(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  return undefined;
}

const sorted = (hashes: string[]) => [...hashes].sort().join(',');

/** Names a store must refuse before they reach a path: wrong length, case, characters, traversal. */
export const BAD_CHUNK_NAMES = [
  '',
  'ab',
  '../x',
  `../${'a'.repeat(61)}`,
  `..%2f${'a'.repeat(59)}`,
  `ab/${'c'.repeat(61)}`,
  `${'a'.repeat(32)}/../${'b'.repeat(28)}`,
  'A'.repeat(64),
  `${'0'.repeat(63)}F`,
  'a'.repeat(63),
  'a'.repeat(65),
  'g'.repeat(64),
  `${'a'.repeat(64)}\n`,
  `${'a'.repeat(64)}.tmp`,
  ` ${'a'.repeat(63)}`,
];

export const chunkStoreConformanceCases: ChunkStoreConformanceCase[] = [
  {
    name: 'a chunk not held: get, blob undefined; has false; list empty; delete is no error',
    async run(target) {
      const store = await target.open();
      const { hash } = await namedChunk(10, 1);
      check((await store.get(hash)) === undefined, 'get of a missing chunk is not undefined');
      check((await store.blob(hash)) === undefined, 'blob of a missing chunk is not undefined');
      check((await store.has(hash)) === false, 'has of a missing chunk is not false');
      check((await store.list()).length === 0, 'a new store lists chunks');
      await store.delete(hash);
      check((await store.list()).length === 0, 'delete of a missing chunk made something');
    },
  },
  {
    name: 'put then get, has, list and blob give the chunk back',
    async run(target) {
      const store = await target.open();
      const { hash, bytes } = await namedChunk(1000, 2);
      await store.put(hash, bytes);
      check(same(await store.get(hash), bytes), 'get returned other bytes');
      check(await store.has(hash), 'has is false after put');
      check(sorted(await store.list()) === hash, `list is ${JSON.stringify(await store.list())}`);
      const blob = await store.blob(hash);
      check(blob instanceof Blob, 'blob is not a Blob');
      check(blob!.size === bytes.length, `blob.size ${blob!.size}, expected ${bytes.length}`);
      check(same(await blobBytes(blob), bytes), 'blob holds other bytes');
    },
  },
  {
    name: 'the stored chunk is a copy: changing the caller’s array or what get returned changes nothing',
    async run(target) {
      const store = await target.open();
      const { hash, bytes } = await namedChunk(64, 3);
      const original = bytes.slice();
      await store.put(hash, bytes);
      bytes.fill(0);
      const read = await store.get(hash);
      check(same(read, original), 'the stored chunk changed with the caller’s array');
      read!.fill(7);
      check(same(await store.get(hash), original), 'the stored chunk changed with what get returned');
    },
  },
  {
    name: 'put of a chunk already held changes nothing',
    async run(target) {
      const store = await target.open();
      const { hash, bytes } = await namedChunk(300, 4);
      await store.put(hash, bytes);
      // The store does not judge bytes: other bytes under a held name show that nothing is rewritten.
      await store.put(hash, chunkBytes(500, 5));
      check(same(await store.get(hash), bytes), 'a second put rewrote the chunk');
      check((await store.blob(hash))!.size === bytes.length, 'a second put changed the blob');
      check((await store.list()).length === 1, 'a second put added a name');
    },
  },
  {
    name: 'delete removes the chunk, and it can be put again',
    async run(target) {
      const store = await target.open();
      const a = await namedChunk(100, 6);
      const b = await namedChunk(100, 7);
      await store.put(a.hash, a.bytes);
      await store.put(b.hash, b.bytes);
      await store.delete(a.hash);
      check((await store.get(a.hash)) === undefined, 'get after delete is not undefined');
      check((await store.blob(a.hash)) === undefined, 'blob after delete is not undefined');
      check(!(await store.has(a.hash)), 'has after delete is true');
      check(sorted(await store.list()) === b.hash, 'list after delete is wrong');
      check(same(await store.get(b.hash), b.bytes), 'delete touched another chunk');
      await store.delete(a.hash);
      await store.put(a.hash, a.bytes);
      check(same(await store.get(a.hash), a.bytes), 'put after delete did not store');
    },
  },
  {
    name: 'bad names are refused with ChunkStoreError bad-name by every method, and nothing is stored',
    async run(target) {
      const store = await target.open();
      const bytes = chunkBytes(8, 8);
      for (const name of BAD_CHUNK_NAMES) {
        const attempts: [string, () => Promise<unknown>][] = [
          ['put', () => store.put(name, bytes)],
          ['get', () => store.get(name)],
          ['has', () => store.has(name)],
          ['delete', () => store.delete(name)],
          ['blob', () => store.blob(name)],
        ];
        for (const [method, attempt] of attempts) {
          const error = await failure(attempt);
          check(error instanceof ChunkStoreError && error.code === 'bad-name', `${method}(${JSON.stringify(name)}) gave ${String(error)}`);
        }
      }
      check((await store.list()).length === 0, `bad names left ${JSON.stringify(await store.list())}`);
    },
  },
  {
    name: 'an empty chunk is a chunk',
    async run(target) {
      const store = await target.open();
      const { hash, bytes } = await namedChunk(0, 9);
      check(hash === 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262', 'the empty chunk’s name is not BLAKE3 of nothing');
      await store.put(hash, bytes);
      const read = await store.get(hash);
      check(read !== undefined && read.length === 0, 'get of the empty chunk is not 0 bytes');
      check(await store.has(hash), 'has of the empty chunk is false');
      check((await store.blob(hash))?.size === 0, 'blob of the empty chunk is not 0 bytes');
      check(sorted(await store.list()) === hash, 'the empty chunk is not listed');
    },
  },
  {
    name: 'a 1 MiB chunk survives intact, through get and blob',
    async run(target) {
      const store = await target.open();
      const { hash, bytes } = await namedChunk(1024 * 1024, 10);
      await store.put(hash, bytes);
      check(same(await store.get(hash), bytes), 'the 1 MiB chunk changed');
      const blob = await store.blob(hash);
      check(blob?.size === bytes.length, `blob.size ${blob?.size}`);
      check(same(await blobBytes(blob), bytes), 'the 1 MiB blob changed');
      // A slice reads only its part.
      check(same(new Uint8Array(await blob!.slice(1000, 70_000).arrayBuffer()), bytes.subarray(1000, 70_000)), 'a slice of the blob is wrong');
    },
  },
  {
    name: 'concurrent puts of different chunks and of the same chunk all land, once each',
    async run(target) {
      const store = await target.open();
      const chunks = await Promise.all(Array.from({ length: 24 }, (_, i) => namedChunk(4096 + i, 100 + i)));
      const repeated = chunks[0]!;
      await Promise.all([
        ...chunks.map((c) => store.put(c.hash, c.bytes)),
        ...Array.from({ length: 8 }, () => store.put(repeated.hash, repeated.bytes)),
      ]);
      check(sorted(await store.list()) === sorted(chunks.map((c) => c.hash)), `list after concurrent puts: ${(await store.list()).length} names`);
      for (const c of chunks) check(same(await store.get(c.hash), c.bytes), `chunk ${c.hash.slice(0, 8)} wrong after concurrent puts`);
      await Promise.all(chunks.map((c, i) => (i % 2 ? store.delete(c.hash) : store.get(c.hash))));
      check(sorted(await store.list()) === sorted(chunks.filter((_, i) => i % 2 === 0).map((c) => c.hash)), 'list after concurrent deletes is wrong');
    },
  },
  {
    name: 'list gives every chunk once, also many sharing the first two hex digits',
    async run(target) {
      const store = await target.open();
      // 300 chunks: more than 256 directories' worth, so some share a prefix.
      const chunks: { hash: string; bytes: Uint8Array }[] = [];
      for (let i = 0; i < 300; i++) chunks.push(await namedChunk(16, 1000 + i));
      for (const c of chunks) await store.put(c.hash, c.bytes);
      const prefixes = new Set(chunks.map((c) => c.hash.slice(0, 2)));
      check(prefixes.size < chunks.length, 'test chunks do not share a prefix');
      const listed = await store.list();
      check(listed.length === chunks.length, `listed ${listed.length} of ${chunks.length}`);
      check(sorted(listed) === sorted(chunks.map((c) => c.hash)), 'list gives other names');
    },
  },
  {
    name: 'a put past the store’s room throws ChunkStoreError full, leaves nothing of it, and the chunks before stay whole',
    needsCapacity: true,
    async run(target) {
      const store = await target.openWithCapacity!(1024 * 1024);
      // The second is the larger: after the first is deleted it fits only if nothing of its failed put stayed.
      const first = await namedChunk(400 * 1024, 11);
      const second = await namedChunk(700 * 1024, 12);
      await store.put(first.hash, first.bytes);
      const error = await failure(() => store.put(second.hash, second.bytes));
      check(error instanceof ChunkStoreError && error.code === 'full', `a put past the room gave ${String(error)}`);
      check(!(await store.has(second.hash)), 'the chunk that did not fit is held');
      check((await store.get(second.hash)) === undefined, 'the chunk that did not fit can be read');
      check((await store.blob(second.hash)) === undefined, 'the chunk that did not fit has a blob');
      check(sorted(await store.list()) === first.hash, `list after a failed put: ${JSON.stringify(await store.list())}`);
      check(same(await store.get(first.hash), first.bytes), 'the chunk stored before changed');
      // Room made by a delete is room again: nothing of the failed put stayed behind.
      await store.delete(first.hash);
      await store.put(second.hash, second.bytes);
      check(same(await store.get(second.hash), second.bytes), 'the chunk did not fit after room was made');
      check(sorted(await store.list()) === second.hash, 'list after room was made is wrong');
    },
  },
];
