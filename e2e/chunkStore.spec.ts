import { build } from 'esbuild';
import { expect, test, type Page } from '@playwright/test';
import { chunkStoreConformanceCases } from '../src/core/packages/chunkStoreConformance';
import type { ChunkStoreWorkerRequest, ConformanceResult, PutOutcome, ReadOutcome } from './conformance/opfsChunkStoreConformance.entry';

type WorkerKind = 'shared' | 'dedicated';

let workerCode: string | undefined;

/**
 * A blank page of the served origin (nothing of the app runs, so nothing else writes to its
 * storage) with the OPFS chunk store's test worker started in it.
 */
async function pageWithWorker(page: Page, kind: WorkerKind): Promise<void> {
  workerCode ??= (
    await build({ entryPoints: ['e2e/conformance/opfsChunkStoreConformance.entry.ts'], bundle: true, format: 'iife', write: false, target: 'es2022' })
  ).outputFiles[0]!.text;
  await page.route('**/chunk-store-test.html', (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>chunk store</title>' }));
  await page.goto('/chunk-store-test.html');
  await page.evaluate(
    ({ code, kind }) => {
      const url = URL.createObjectURL(new Blob([code], { type: 'text/javascript' }));
      let port: MessagePort | Worker;
      if (kind === 'shared') {
        const worker = new SharedWorker(url);
        port = worker.port;
        worker.port.start();
      } else {
        port = new Worker(url);
      }
      const waiting = new Map<number, (reply: { result?: unknown; error?: string }) => void>();
      port.onmessage = (event: MessageEvent) => waiting.get(event.data.id)?.(event.data);
      let next = 0;
      (globalThis as unknown as { chunkWorker: unknown }).chunkWorker = (request: unknown) =>
        new Promise((resolve, reject) => {
          const id = next++;
          waiting.set(id, (reply) => (reply.error ? reject(new Error(reply.error)) : resolve(reply.result)));
          port.postMessage({ id, request });
        });
    },
    { code: workerCode, kind },
  );
}

function ask<T>(page: Page, request: ChunkStoreWorkerRequest): Promise<T> {
  return page.evaluate((request) => (globalThis as unknown as { chunkWorker: (r: unknown) => Promise<unknown> }).chunkWorker(request), request) as Promise<T>;
}

for (const kind of ['shared', 'dedicated'] as const) {
  test(`OPFS chunk store passes the chunk store conformance suite in a ${kind} worker`, async ({ page }) => {
    await pageWithWorker(page, kind);
    const results = await ask<ConformanceResult[]>(page, { run: 'conformance' });
    expect(results.map((r) => r.name)).toEqual(chunkStoreConformanceCases.map((c) => c.name));
    for (const result of results) expect.soft(result.error, result.name).toBeUndefined();
    // The capacity case is run against the origin's real quota by the next test.
    expect(results.filter((r) => r.skipped).map((r) => r.name)).toEqual(chunkStoreConformanceCases.filter((c) => c.needsCapacity).map((c) => c.name));
  });
}

test('past the origin’s quota a put throws ChunkStoreError full, leaves nothing of the chunk, and the chunks before stay readable', async ({ page, baseURL }) => {
  await pageWithWorker(page, 'shared');
  const directory = 'souk-chunks';
  const before = [
    { length: 256 * 1024, seed: 1 },
    { length: 256 * 1024, seed: 2 },
  ];
  for (const chunk of before) expect(await ask<PutOutcome>(page, { run: 'put', directory, ...chunk })).toMatchObject({ ok: true });

  const cdp = await page.context().newCDPSession(page);
  const origin = new URL(baseURL!).origin;
  const usage = await ask<number>(page, { run: 'usage' });
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: usage + 512 * 1024 });
  const tooBig = { length: 1024 * 1024, seed: 3 };
  const refused = await ask<PutOutcome>(page, { run: 'put', directory, ...tooBig });
  expect(refused).toMatchObject({ ok: false, name: 'ChunkStoreError', code: 'full' });
  expect(refused.message).toMatch(/out of storage space/);

  const read = await ask<ReadOutcome>(page, { run: 'read', directory, chunks: [...before, tooBig] });
  expect(read.listed).toEqual(read.chunks.slice(0, 2).map((c) => c.hash).sort());
  for (const chunk of read.chunks.slice(0, 2)) expect(chunk).toMatchObject({ held: true, getIntact: true, blobIntact: true, blobSize: 256 * 1024 });
  expect(read.chunks[2]).toMatchObject({ held: false, getIntact: false, blobSize: null });
  expect(read.otherNames).toEqual([]);

  // With room again the same chunk goes in: the failed put left nothing in its way.
  await cdp.send('Storage.overrideQuotaForOrigin', { origin });
  expect(await ask<PutOutcome>(page, { run: 'put', directory, ...tooBig })).toMatchObject({ ok: true });
  const after = await ask<ReadOutcome>(page, { run: 'read', directory, chunks: [...before, tooBig] });
  for (const chunk of after.chunks) expect(chunk).toMatchObject({ held: true, getIntact: true, blobIntact: true });
  expect(after.listed).toHaveLength(3);
});
