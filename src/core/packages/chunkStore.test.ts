import { describe, expect, it } from 'vitest';
import { checkChunkName, ChunkStoreError } from './chunkStore';
import { chunkStoreConformanceCases, type ChunkStoreConformanceTarget } from './chunkStoreConformance';
import { MemoryChunkStore } from './memoryChunkStore';

const memory: ChunkStoreConformanceTarget = {
  open: async () => new MemoryChunkStore(),
  openWithCapacity: async (capacityBytes) => new MemoryChunkStore({ capacityBytes }),
};

describe('MemoryChunkStore passes the chunk store conformance suite', () => {
  for (const testCase of chunkStoreConformanceCases) it(testCase.name, () => testCase.run(memory));
});

describe('MemoryChunkStore capacity', () => {
  it('counts the bytes held, frees them on delete, and a chunk exactly filling the room fits', async () => {
    const store = new MemoryChunkStore({ capacityBytes: 10 });
    await store.put('1'.repeat(64), new Uint8Array(4));
    await store.put('2'.repeat(64), new Uint8Array(6));
    expect(store.bytesHeld).toBe(10);
    await expect(store.put('3'.repeat(64), new Uint8Array(1))).rejects.toMatchObject({ code: 'full' });
    // A held chunk is a no-op even when full.
    await store.put('1'.repeat(64), new Uint8Array(4));
    await store.delete('2'.repeat(64));
    expect(store.bytesHeld).toBe(4);
    await store.put('3'.repeat(64), new Uint8Array(6));
    expect(store.bytesHeld).toBe(10);
  });
});

describe('checkChunkName', () => {
  it('accepts 64 lowercase hex and refuses anything else with bad-name', () => {
    expect(() => checkChunkName('0123456789abcdef'.repeat(4))).not.toThrow();
    for (const name of ['0123456789ABCDEF'.repeat(4), '0'.repeat(63), '../' + '0'.repeat(61)]) {
      expect(() => checkChunkName(name)).toThrow(ChunkStoreError);
    }
  });
});
