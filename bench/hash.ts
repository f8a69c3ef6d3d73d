import type { Browser } from '@playwright/test';
import { build } from 'esbuild';
import type { HashBenchResult } from './hashWorker.entry';

const TOTAL_BYTES = 128 * 1024 * 1024;
const CHUNK_BYTES = 256 * 1024;
const ROUNDS = 7;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

/**
 * BLAKE3 throughput in a Chromium SharedWorker: 128 MiB in 256 KiB chunks through the project's
 * hashing path (loadBlake3().hash per chunk); ref = hash-wasm's createBLAKE3() used directly on
 * the same chunks in the same worker. Rounds alternate which goes first; the medians are compared.
 */
export async function hash(browser: Browser, baseURL: string): Promise<void> {
  const workerCode = (await build({ entryPoints: ['bench/hashWorker.entry.ts'], bundle: true, format: 'iife', write: false, target: 'es2022' })).outputFiles[0]!.text;
  const page = await (await browser.newContext()).newPage();
  // A blank page of the served origin: nothing of the app runs beside the worker.
  await page.route('**/hash-bench.html', (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>hash bench</title>' }));
  await page.goto(`${baseURL}/hash-bench.html`);
  const result = await page.evaluate(
    ({ code, totalBytes, chunkBytes, rounds }) =>
      new Promise<HashBenchResult>((resolve, reject) => {
        const worker = new SharedWorker(URL.createObjectURL(new Blob([code], { type: 'text/javascript' })));
        worker.port.onmessage = (event) => (event.data.error ? reject(new Error(event.data.error)) : resolve(event.data.result));
        worker.port.start();
        worker.port.postMessage({ totalBytes, chunkBytes, rounds });
      }),
    { code: workerCode, totalBytes: TOTAL_BYTES, chunkBytes: CHUNK_BYTES, rounds: ROUNDS },
  );
  await page.context().close();
  if (!result.agree) throw new Error('hash bench: the project path and hash-wasm gave different hashes');
  const ms = median(result.project);
  const ref = median(result.raw);
  const mbPerSecond = (elapsed: number) => (result.bytes / 1e6 / (elapsed / 1000)).toFixed(0);
  console.log(`# hash: ${result.bytes / 1024 / 1024} MiB in ${result.chunkBytes / 1024} KiB chunks in a SharedWorker, median of ${ROUNDS} alternating rounds`);
  console.log(`# hash: project (loadBlake3().hash) ${result.project.map((t) => t.toFixed(0)).join(' ')} ms; hash-wasm createBLAKE3 ${result.raw.map((t) => t.toFixed(0)).join(' ')} ms`);
  console.log(`# hash: throughput ${mbPerSecond(ms)} MB/s (project), ${mbPerSecond(ref)} MB/s (hash-wasm)`);
  console.log(`BENCH hash ${Math.round(ms)} ms ref=${Math.round(ref)} ms ratio=${(ms / ref).toFixed(2)}`);
}
