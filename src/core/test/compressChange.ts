/** Test tool: what a peer may send instead of Automerge's own encoding (a compressed change chunk). */
import { deflateSync } from 'fflate';
/** Re-encodes an uncompressed Automerge change chunk (type 1) as a compressed change chunk (type 2). */
export function compressChange(chunk: Uint8Array): Uint8Array {
  if (chunk[8] !== 1) return chunk;
  let pos = 9, len = 0, shift = 0;
  for (;;) { const b = chunk[pos++]!; len |= (b & 0x7f) << shift; shift += 7; if (!(b & 0x80)) break; }
  const contents = chunk.subarray(pos, pos + len);
  const z = deflateSync(contents, { level: 9 });
  const lenBytes: number[] = [];
  let n = z.length;
  do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; lenBytes.push(b); } while (n);
  const out = new Uint8Array(9 + lenBytes.length + z.length);
  out.set(chunk.subarray(0, 8), 0);
  out[8] = 2;
  out.set(lenBytes, 9);
  out.set(z, 9 + lenBytes.length);
  return out;
}
