import { execSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from '@playwright/test';
import { SignalingServer } from '../signaling/signalingServer';
import { staticFiles } from '../signaling/staticFiles';
import { catchup } from './catchup';
import { catchupNode } from './catchupNode';
import { flood } from './flood';
import { hash } from './hash';
import { importBench } from './importBench';
import { open } from './open';
import { radioReconcile } from './radioReconcile';
import { radioHops } from './radioHops';
import { radioUpdate } from './radioUpdate';
import { reserve } from './reserve';
import { transfer1, transfer3 } from './transfer';
import { updateSize } from './updateSize';
import { verify } from './verify';

/**
 * `npm run bench -- <name>`: runs the named benchmarks (all without a name). Browser benchmarks
 * build the app, serve it with the real signaling server on 127.0.0.1 and run in Debian's
 * Chromium; node benchmarks run the core in this process. Each prints
 * `BENCH <name> <value> <unit> ref=<value> ratio=<x>`, the reference measured in the same run.
 */
const browserBenchmarks: Record<string, (browser: Browser, baseURL: string) => Promise<void>> = { catchup, hash, transfer1, transfer3 };
const nodeBenchmarks: Record<string, () => Promise<void>> = { flood, open, verify, import: importBench, 'catchup-node': catchupNode, 'update-size': updateSize, 'radio-update': radioUpdate, 'radio-hops': radioHops, 'radio-reconcile': radioReconcile, reserve };
const benchmarks = { ...browserBenchmarks, ...nodeBenchmarks };

const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const chosen = names.length ? names : Object.keys(benchmarks);
for (const name of chosen) {
  if (!benchmarks[name]) {
    console.error(`unknown benchmark "${name}"; known: ${Object.keys(benchmarks).join(', ')}`);
    process.exit(2);
  }
}

for (const name of chosen) if (nodeBenchmarks[name]) await nodeBenchmarks[name]!();
const inBrowser = chosen.filter((name) => browserBenchmarks[name]);
if (inBrowser.length === 0) process.exit(0);

execSync('node scripts/ensure-chromium.mjs', { stdio: 'inherit' });
execSync('npx vite build --logLevel warn', { stdio: 'inherit' });
const serve = staticFiles('dist');
const server = createServer((req, res) => void serve(req, res));
const signaling = new SignalingServer(server);
await new Promise<void>((resolve) => server.listen(Number(process.env.BENCH_PORT ?? 0), '127.0.0.1', resolve));
const baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  for (const name of inBrowser) await browserBenchmarks[name]!(browser, baseURL);
} finally {
  await browser.close();
  await signaling.close();
  server.close();
}
