import { build } from 'esbuild';
import { expect, test } from '@playwright/test';
import { storageConformanceCases } from '../src/core/storage/storageConformance';

test('IndexedDB storage passes the storage conformance suite in Chromium', async ({ page }) => {
  const bundle = await build({
    entryPoints: ['e2e/conformance/indexedDbConformance.entry.ts'],
    bundle: true,
    format: 'iife',
    write: false,
    target: 'es2022',
  });
  await page.goto('/');
  await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
  const results = await page.evaluate(() => (globalThis as unknown as { runStorageConformance: () => Promise<{ name: string; error?: string }[]> }).runStorageConformance());
  expect(results.map((r) => r.name)).toEqual(storageConformanceCases.map((c) => c.name));
  for (const result of results) expect.soft(result.error, result.name).toBeUndefined();
});

test('a full disk is reported, not swallowed', async ({ page }) => {
  await page.goto('/');
  // Chromium raises QuotaExceededError from a transaction when the origin is over quota; the
  // adapter must turn it into a StorageError the merchant can read.
  const bundle = await build({
    stdin: {
      contents: `
        import { IndexedDbStorage } from './src/browser/storage/indexedDbStorage';
        globalThis.fullDisk = async () => {
          const storage = await IndexedDbStorage.open('souk-full-disk');
          const put = IDBObjectStore.prototype.put;
          IDBObjectStore.prototype.put = function () {
            throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
          };
          try {
            await storage.write([{ op: 'put', key: ['x'], data: new Uint8Array([1]) }]);
            return 'no error';
          } catch (error) {
            return error.name + ': ' + error.code + ': ' + error.message;
          } finally {
            IDBObjectStore.prototype.put = put;
            storage.close();
          }
        };`,
      resolveDir: process.cwd(),
      loader: 'ts',
    },
    bundle: true,
    format: 'iife',
    write: false,
  });
  await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
  const outcome = await page.evaluate(() => (globalThis as unknown as { fullDisk: () => Promise<string> }).fullDisk());
  expect(outcome).toMatch(/^StorageError: full: This device is out of storage space/);
});
