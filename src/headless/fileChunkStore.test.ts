import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chunkStoreConformanceCases, type ChunkStoreConformanceTarget } from '../core/packages/chunkStoreConformance';
import { FileChunkStore } from './fileChunkStore';

const root = await mkdtemp(join(tmpdir(), 'souk-file-chunks-'));
const mounts: string[] = [];
let opened = 0;

/**
 * A disk that fills up: a tmpfs of the given size. Only root may mount one; elsewhere the cases
 * that need a full disk are skipped.
 */
async function smallDisk(capacityBytes: number): Promise<string> {
  const path = join(root, `small-${opened++}`);
  await mkdir(path);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${capacityBytes}`, 'tmpfs', path], { stdio: 'ignore' });
  mounts.push(path);
  return path;
}

function canMount(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  try {
    execFileSync('mount', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const files: ChunkStoreConformanceTarget = {
  open: async () => new FileChunkStore(join(root, `store-${opened++}`)),
  ...(canMount() ? { openWithCapacity: async (capacityBytes: number) => new FileChunkStore(await smallDisk(capacityBytes)) } : {}),
};

afterAll(async () => {
  for (const path of mounts) execFileSync('umount', [path]);
  await rm(root, { recursive: true, force: true });
});

describe('FileChunkStore passes the chunk store conformance suite', () => {
  for (const testCase of chunkStoreConformanceCases) {
    const skip = testCase.needsCapacity && !files.openWithCapacity;
    it.skipIf(skip)(testCase.name, () => testCase.run(files));
  }
});

describe('FileChunkStore on disk', () => {
  it('keeps one file per chunk at <first two hex>/<hash>, and nothing else after puts', async () => {
    const directory = join(root, `layout-${opened++}`);
    const store = new FileChunkStore(directory);
    const hash = 'ab' + '0'.repeat(62);
    await store.put(hash, new Uint8Array([1, 2, 3]));
    expect(await readdir(directory)).toEqual(['ab']);
    expect(await readdir(join(directory, 'ab'))).toEqual([hash]);
  });

  it('list ignores what is not a chunk: unfinished temporary files, stray names, a chunk in the wrong directory', async () => {
    const directory = join(root, `stray-${opened++}`);
    const store = new FileChunkStore(directory);
    const hash = 'cd' + '1'.repeat(62);
    await store.put(hash, new Uint8Array([4]));
    await writeFile(join(directory, 'cd', `${'cd' + '2'.repeat(62)}.123.1.tmp`), 'half');
    await writeFile(join(directory, 'cd', 'notes.txt'), 'x');
    await mkdir(join(directory, 'ef'));
    await writeFile(join(directory, 'ef', 'cd' + '3'.repeat(62)), 'misplaced');
    await writeFile(join(directory, 'README'), 'x');
    expect(await store.list()).toEqual([hash]);
  });

  it('a directory that does not exist yet is an empty store', async () => {
    const store = new FileChunkStore(join(root, 'never-made', 'deeper'));
    expect(await store.list()).toEqual([]);
    expect(await store.get('0'.repeat(64))).toBeUndefined();
    expect(await store.blob('0'.repeat(64))).toBeUndefined();
  });
});
