import { StorageError, type StorageAdapter } from './storage';

/**
 * What every StorageAdapter must do, as plain cases with no test framework, so the same cases
 * run under Vitest (memory) and inside Chromium (IndexedDB). Each case gets a fresh, empty store.
 */
export interface StorageConformanceCase {
  name: string;
  run(storage: StorageAdapter): Promise<void>;
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

const bytes = (...values: number[]) => new Uint8Array(values);
const same = (a: Uint8Array | undefined, b: Uint8Array) => !!a && a.length === b.length && a.every((v, i) => v === b[i]);

export const storageConformanceCases: StorageConformanceCase[] = [
  {
    name: 'load of a missing key is undefined',
    async run(storage) {
      check((await storage.load(['nothing', 'here'])) === undefined, 'expected undefined');
    },
  },
  {
    name: 'put then load returns the same bytes, and a copy',
    async run(storage) {
      const data = bytes(1, 2, 3, 255);
      await storage.write([{ op: 'put', key: ['a', 'b'], data }]);
      data[0] = 9;
      check(same(await storage.load(['a', 'b']), bytes(1, 2, 3, 255)), 'stored bytes changed with the caller’s array');
    },
  },
  {
    name: 'put replaces and delete removes',
    async run(storage) {
      await storage.write([{ op: 'put', key: ['k'], data: bytes(1) }]);
      await storage.write([{ op: 'put', key: ['k'], data: bytes(2) }]);
      check(same(await storage.load(['k']), bytes(2)), 'put did not replace');
      await storage.write([{ op: 'delete', key: ['k'] }]);
      check((await storage.load(['k'])) === undefined, 'delete did not remove');
    },
  },
  {
    name: 'loadRange returns exactly the keys under a prefix, in key order',
    async run(storage) {
      await storage.write([
        { op: 'put', key: ['v', 'x', 'inc', '000000000002'], data: bytes(2) },
        { op: 'put', key: ['v', 'x', 'inc', '000000000001'], data: bytes(1) },
        { op: 'put', key: ['v', 'x', 'snapshot'], data: bytes(0) },
        { op: 'put', key: ['v', 'xy', 'inc', '000000000001'], data: bytes(7) },
        { op: 'put', key: ['w'], data: bytes(8) },
      ]);
      const range = await storage.loadRange(['v', 'x', 'inc']);
      check(range.length === 2, `expected 2 entries, got ${range.length}`);
      check(range[0]!.key.join('/') === 'v/x/inc/000000000001' && same(range[0]!.data, bytes(1)), 'wrong first entry');
      check(range[1]!.key.join('/') === 'v/x/inc/000000000002', 'wrong order');
      const all = await storage.loadRange(['v']);
      check(all.length === 4, `prefix v: expected 4, got ${all.length}`);
    },
  },
  {
    name: 'deleteRange removes a prefix and nothing else, within a batch in order',
    async run(storage) {
      await storage.write([
        { op: 'put', key: ['d', '1'], data: bytes(1) },
        { op: 'put', key: ['d', '2'], data: bytes(2) },
        { op: 'put', key: ['dd'], data: bytes(3) },
      ]);
      await storage.write([
        { op: 'deleteRange', prefix: ['d'] },
        { op: 'put', key: ['d', 'snapshot'], data: bytes(4) },
      ]);
      const left = await storage.loadRange(['d']);
      check(left.length === 1 && left[0]!.key.join('/') === 'd/snapshot', 'deleteRange removed the wrong keys');
      check(same(await storage.load(['dd']), bytes(3)), 'deleteRange removed a sibling key');
    },
  },
  {
    name: 'large values survive intact',
    async run(storage) {
      const big = new Uint8Array(4 * 1024 * 1024);
      for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
      await storage.write([{ op: 'put', key: ['big'], data: big }]);
      check(same(await storage.load(['big']), big), 'large value changed');
    },
  },
  {
    name: 'a batch with a bad key fails with a StorageError and applies nothing',
    async run(storage) {
      await storage.write([{ op: 'put', key: ['keep'], data: bytes(1) }]);
      let failure: unknown;
      try {
        await storage.write([
          { op: 'put', key: ['keep'], data: bytes(2) },
          { op: 'put', key: [undefined as unknown as string], data: bytes(3) },
        ]);
      } catch (error) {
        failure = error;
      }
      check(failure instanceof StorageError, `expected a StorageError, got ${String(failure)}`);
      check(same(await storage.load(['keep']), bytes(1)), 'a failed batch was partly applied');
    },
  },
];
