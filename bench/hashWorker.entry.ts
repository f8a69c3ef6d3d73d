// Bundled by bench/hash.ts and run in a Chromium SharedWorker (where the node runs): hashes the
// same bytes in 256 KiB chunks through the project's path (loadBlake3().hash per chunk, as
// chunkPackage and the download's verification do) and through hash-wasm's own API, alternating.
import { createBLAKE3 } from 'hash-wasm';
import { loadBlake3 } from '../src/core/packages/blake3';

export interface HashBenchResult {
  bytes: number;
  chunkBytes: number;
  /** Milliseconds of each round, alternating which goes first. */
  project: number[];
  raw: number[];
  /** The two paths gave the same hashes. */
  agree: boolean;
}

async function run(totalBytes: number, chunkBytes: number, rounds: number): Promise<HashBenchResult> {
  const bytes = new Uint8Array(totalBytes);
  for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += chunkBytes) chunks.push(bytes.subarray(i, i + chunkBytes));

  const blake3 = await loadBlake3();
  const hasher = await createBLAKE3();
  const projectPass = (): Uint8Array[] => chunks.map((chunk) => blake3.hash(chunk));
  const rawPass = (): Uint8Array[] =>
    chunks.map((chunk) => {
      hasher.init();
      hasher.update(chunk);
      return hasher.digest('binary');
    });
  const timed = (pass: () => Uint8Array[]): [number, Uint8Array[]] => {
    const start = performance.now();
    const hashes = pass();
    return [performance.now() - start, hashes];
  };

  // Warm-up: both paths compiled and their memory grown before anything is timed.
  const [, projectHashes] = timed(projectPass);
  const [, rawHashes] = timed(rawPass);
  const agree = projectHashes.every((h, i) => h.length === 32 && h.every((b, j) => b === rawHashes[i]![j]));

  const project: number[] = [];
  const raw: number[] = [];
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      project.push(timed(projectPass)[0]);
      raw.push(timed(rawPass)[0]);
    } else {
      raw.push(timed(rawPass)[0]);
      project.push(timed(projectPass)[0]);
    }
  }
  return { bytes: totalBytes, chunkBytes, project, raw, agree };
}

(globalThis as unknown as { onconnect: (event: MessageEvent) => void }).onconnect = (event) => {
  const port = event.ports[0]!;
  port.onmessage = (message) => {
    const { totalBytes, chunkBytes, rounds } = message.data as { totalBytes: number; chunkBytes: number; rounds: number };
    run(totalBytes, chunkBytes, rounds).then(
      (result) => port.postMessage({ result }),
      (error: unknown) => port.postMessage({ error: String(error) }),
    );
  };
  port.start();
};
