import { createBLAKE3 } from 'hash-wasm';

/**
 * The hashing port: BLAKE3 with a 32-byte digest. Chunks are named by it, package roots are made
 * of it. One adapter today, hash-wasm's (chosen by measuring it in the worker: `npm run bench --
 * hash`); it is WebAssembly embedded in JavaScript, so the same code runs in Node and in browsers.
 */
export interface Blake3 {
  /** The BLAKE3 hash of `bytes` (32 bytes). */
  hash(bytes: Uint8Array): Uint8Array;
  /** A hash over several parts, in order, as if they were one byte string. */
  hashParts(parts: readonly Uint8Array[]): Uint8Array;
}

export const BLAKE3_BYTES = 32;

let loading: Promise<Blake3> | undefined;

/** Loads hash-wasm's BLAKE3 once per realm. */
export function loadBlake3(): Promise<Blake3> {
  loading ??= createBLAKE3(256).then((hasher): Blake3 => ({
    hash(bytes: Uint8Array): Uint8Array {
      hasher.init();
      hasher.update(bytes);
      return hasher.digest('binary');
    },
    hashParts(parts: readonly Uint8Array[]): Uint8Array {
      hasher.init();
      for (const part of parts) hasher.update(part);
      return hasher.digest('binary');
    },
  }));
  // A failed load (no memory for WebAssembly) is tried again next time, not kept.
  loading.catch(() => (loading = undefined));
  return loading;
}
