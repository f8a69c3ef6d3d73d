// Bundled by e2e/chunkStore.spec.ts and run inside a Chromium worker (a SharedWorker, as the node
// runs, or a dedicated worker): the chunk store conformance cases against the OPFS adapter, each
// on a fresh directory, and the steps of the full-quota test.
import { OpfsChunkStore } from '../../src/browser/storage/opfsChunkStore';
import { loadBlake3 } from '../../src/core/packages/blake3';
import { ChunkStoreError } from '../../src/core/packages/chunkStore';
import { chunkStoreConformanceCases } from '../../src/core/packages/chunkStoreConformance';
import { toHex } from '../../src/core/wire/hex';

export type ChunkStoreWorkerRequest =
  | { run: 'conformance' }
  /** Puts the chunk of `length` bytes made from `seed`, under its BLAKE3 name. */
  | { run: 'put'; directory: string; length: number; seed: number }
  /** What the directory lists, each chunk checked through get and blob against the bytes its seed makes. */
  | { run: 'read'; directory: string; chunks: { length: number; seed: number }[] }
  | { run: 'usage' };

export interface PutOutcome {
  hash: string;
  ok: boolean;
  name?: string;
  code?: string;
  message?: string;
}

export interface ReadOutcome {
  listed: string[];
  /** Every other name in the directory's shards: an unfinished chunk's temporary file would show here. */
  otherNames: string[];
  chunks: { hash: string; held: boolean; getIntact: boolean; blobIntact: boolean; blobSize: number | null }[];
}

export interface ConformanceResult {
  name: string;
  error?: string;
  skipped?: boolean;
}

/** The bytes the spec asks for by length and seed, the same on both sides. */
export function seededBytes(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return bytes;
}

type Directory = FileSystemDirectoryHandle & { entries(): AsyncIterableIterator<[string, FileSystemHandle]> };

async function otherNames(directory: string): Promise<string[]> {
  const names: string[] = [];
  const root = (await (await navigator.storage.getDirectory()).getDirectoryHandle(directory)) as Directory;
  for await (const [shardName, shard] of root.entries()) {
    if (shard.kind !== 'directory') {
      names.push(shardName);
      continue;
    }
    for await (const [name] of (shard as Directory).entries()) if (!/^[0-9a-f]{64}$/.test(name)) names.push(`${shardName}/${name}`);
  }
  return names;
}

let opened = 0;

async function conformance(): Promise<ConformanceResult[]> {
  const results: ConformanceResult[] = [];
  const target = { open: () => OpfsChunkStore.open(`souk-conformance-${Date.now()}-${opened++}`) };
  for (const testCase of chunkStoreConformanceCases) {
    if (testCase.needsCapacity) {
      results.push({ name: testCase.name, skipped: true });
      continue;
    }
    try {
      await testCase.run(target);
      results.push({ name: testCase.name });
    } catch (error) {
      results.push({ name: testCase.name, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return results;
}

async function handle(request: ChunkStoreWorkerRequest): Promise<unknown> {
  switch (request.run) {
    case 'conformance':
      return conformance();
    case 'put': {
      const store = await OpfsChunkStore.open(request.directory);
      const bytes = seededBytes(request.length, request.seed);
      const hash = toHex((await loadBlake3()).hash(bytes));
      try {
        await store.put(hash, bytes);
        return { hash, ok: true } satisfies PutOutcome;
      } catch (error) {
        return {
          hash,
          ok: false,
          name: error instanceof Error ? error.name : '',
          code: error instanceof ChunkStoreError ? error.code : undefined,
          message: error instanceof Error ? error.message : String(error),
        } satisfies PutOutcome;
      }
    }
    case 'read': {
      const store = await OpfsChunkStore.open(request.directory);
      const blake3 = await loadBlake3();
      const same = (a: Uint8Array | undefined, b: Uint8Array) => !!a && a.length === b.length && a.every((v, i) => v === b[i]);
      const chunks: ReadOutcome['chunks'] = [];
      for (const { length, seed } of request.chunks) {
        const bytes = seededBytes(length, seed);
        const hash = toHex(blake3.hash(bytes));
        const blob = await store.blob(hash);
        chunks.push({
          hash,
          held: await store.has(hash),
          getIntact: same(await store.get(hash), bytes),
          blobIntact: !!blob && same(new Uint8Array(await blob.arrayBuffer()), bytes),
          blobSize: blob ? blob.size : null,
        });
      }
      return { listed: (await store.list()).sort(), otherNames: await otherNames(request.directory), chunks } satisfies ReadOutcome;
    }
    case 'usage':
      return (await navigator.storage.estimate()).usage ?? 0;
  }
}

function serve(port: { onmessage: ((event: MessageEvent) => void) | null; postMessage(message: unknown): void }): void {
  port.onmessage = (event) => {
    const { id, request } = event.data as { id: number; request: ChunkStoreWorkerRequest };
    handle(request).then(
      (result) => port.postMessage({ id, result }),
      (error: unknown) => port.postMessage({ id, error: String(error) }),
    );
  };
}

const scope = globalThis as unknown as { onconnect?: (event: MessageEvent) => void } & Parameters<typeof serve>[0];
if ('SharedWorkerGlobalScope' in globalThis) {
  scope.onconnect = (event) => {
    const port = event.ports[0]!;
    serve(port);
    port.start();
  };
} else {
  serve(scope);
}
