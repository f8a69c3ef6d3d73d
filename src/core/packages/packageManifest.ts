import { BinaryReader, BinaryWriter } from '../wire/binary';
import { bytesEqual, toHex } from '../wire/hex';
import { WireError } from '../wire/wireError';
import { BLAKE3_BYTES, type Blake3 } from './blake3';

/**
 * A package's manifest: what a file is (name, media type, size) and the BLAKE3 root that every
 * chunk of it is verified against. It is small whatever the file's size (at most 1 KiB,
 * MAX_MANIFEST_BYTES) and travels in vaults; the chunks' own hashes (the hash list) come from
 * peers and are checked against the root (packageRoot) before any chunk is judged by them.
 *
 * Version 1, byte by byte (docs/vault-format.md, "Package manifest"):
 *   u8 version = 1
 *   u16 name length, name (UTF-8, 1..MAX_NAME_BYTES; a relative path, parts joined by "/")
 *   u16 media type length, media type (ASCII "type/subtype", 3..MAX_MEDIA_TYPE_BYTES)
 *   u64 size in bytes (0..MAX_PACKAGE_BYTES)
 *   u8 log2 of the chunk size (MIN_CHUNK_LOG2..MAX_CHUNK_LOG2)
 *   32 bytes root
 */
export const MANIFEST_VERSION = 1;
export const MAX_MANIFEST_BYTES = 1024;
export const MAX_NAME_BYTES = 512;
export const MAX_MEDIA_TYPE_BYTES = 127;
/** 1 GiB: the largest package (a whole design package). */
export const MAX_PACKAGE_BYTES = 1024 * 1024 * 1024;
/** A package has at most this many chunks, so its hash list is at most 128 KiB. */
export const MAX_CHUNKS = 4096;
export const MIN_CHUNK_LOG2 = 16;
export const MAX_CHUNK_LOG2 = 20;
/** 256 KiB: the chunk size of every package this node makes. */
export const DEFAULT_CHUNK_LOG2 = 18;
export const DEFAULT_CHUNK_SIZE = 1 << DEFAULT_CHUNK_LOG2;

export interface PackageManifest {
  name: string;
  mediaType: string;
  size: number;
  chunkSize: number;
  root: Uint8Array;
}

const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$/;
// Control characters (C0, DEL, C1), the byte order mark, bidirectional controls (which let a name
// hide its real extension: "invoice\u202Efdp.exe"), and the characters no file system accepts.
const BAD_NAME_CHARACTER = /[\u0000-\u001f\u007f-\u009f\ufeff\u200e\u200f\u202a-\u202e\u2066-\u2069\\:*?"<>|]/;

/** Why a name cannot be a package's name, or null. Names are relative paths: no empty, "." or ".." part. */
export function nameProblem(name: string): string | null {
  const bytes = new TextEncoder().encode(name).length;
  if (bytes < 1) return 'the name is empty';
  if (bytes > MAX_NAME_BYTES) return `the name is ${bytes} bytes, limit ${MAX_NAME_BYTES}`;
  if (BAD_NAME_CHARACTER.test(name)) return 'the name holds a control or bidirectional character, a byte order mark or one of \\ : * ? " < > |';
  if (name.split('/').some((part) => part === '' || part === '.' || part === '..')) return 'the name is not a relative path';
  return null;
}

/**
 * A name a merchant's file can have as a package name: characters no file system accepts and
 * control or bidirectional characters become "_", empty, "." and ".." path parts are dropped,
 * and a name too long is cut before its extension. Never empty.
 */
export function fileNameFrom(raw: string): string {
  const global = new RegExp(BAD_NAME_CHARACTER.source, 'gu');
  const parts = raw
    .replace(/\\/g, '/')
    .split('/')
    .map((part) => part.replace(global, '_').trim())
    .filter((part) => part !== '' && part !== '.' && part !== '..');
  let name = parts.join('/') || 'file';
  const encoder = new TextEncoder();
  if (encoder.encode(name).length > MAX_NAME_BYTES) {
    const dot = name.lastIndexOf('.');
    const extension = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
    let stem = name.slice(0, name.length - extension.length);
    while (encoder.encode(stem + extension).length > MAX_NAME_BYTES) stem = [...stem].slice(0, -1).join('');
    name = stem + extension;
  }
  return name;
}

export function chunkCount(size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize);
}

/** Why these sizes cannot make a package, or null. */
export function sizeProblem(size: number, chunkSize: number): string | null {
  if (!Number.isSafeInteger(size) || size < 0) return 'the size is not a whole number of bytes';
  if (size > MAX_PACKAGE_BYTES) return `the file is ${size} bytes, limit ${MAX_PACKAGE_BYTES} (1 GiB)`;
  const log2 = Math.log2(chunkSize);
  if (!Number.isInteger(log2) || log2 < MIN_CHUNK_LOG2 || log2 > MAX_CHUNK_LOG2) return `chunk size ${chunkSize} is not a power of two from 64 KiB to 1 MiB`;
  if (chunkCount(size, chunkSize) > MAX_CHUNKS) return `${chunkCount(size, chunkSize)} chunks, limit ${MAX_CHUNKS}`;
  return null;
}

export function encodeManifest(manifest: PackageManifest): Uint8Array {
  const problem = nameProblem(manifest.name) ?? sizeProblem(manifest.size, manifest.chunkSize) ?? (MEDIA_TYPE.test(manifest.mediaType) ? null : `not a media type: ${manifest.mediaType}`);
  if (problem) throw new RangeError(problem);
  return new BinaryWriter(128)
    .u8(MANIFEST_VERSION)
    .text(manifest.name)
    .text(manifest.mediaType)
    .u64(manifest.size)
    .u8(Math.log2(manifest.chunkSize))
    .fixed(manifest.root, BLAKE3_BYTES)
    .finish();
}

/** Reads a manifest; every limit is checked, and anything else is a WireError. */
export function decodeManifest(bytes: Uint8Array): PackageManifest {
  if (bytes.length > MAX_MANIFEST_BYTES) throw new WireError('too-large', `a manifest of ${bytes.length} bytes, limit ${MAX_MANIFEST_BYTES}`);
  const r = new BinaryReader(bytes);
  const version = r.u8('manifest version');
  if (version !== MANIFEST_VERSION) throw new WireError('unsupported-version', `manifest version ${version}`);
  const name = r.text(MAX_NAME_BYTES, 'file name');
  const mediaType = r.text(MAX_MEDIA_TYPE_BYTES, 'media type');
  const size = r.u64('file size');
  const log2 = r.u8('chunk size');
  const root = r.fixed(BLAKE3_BYTES, 'root');
  r.end('manifest');
  const chunkSize = 2 ** log2;
  const problem = nameProblem(name) ?? (MEDIA_TYPE.test(mediaType) ? null : 'the media type is not "type/subtype"') ?? sizeProblem(size, chunkSize);
  if (problem) throw new WireError('malformed', `manifest: ${problem}`);
  const manifest = { name, mediaType, size, chunkSize, root };
  // One manifest, one encoding: text the decoder changed (a leading byte order mark is dropped) does not pass.
  if (!bytesEqual(encodeManifest(manifest), bytes)) throw new WireError('malformed', 'manifest: not in its canonical encoding');
  return manifest;
}

/** A media type as a file gives it, made acceptable (lowercase, parameters dropped), or application/octet-stream. */
export function normalMediaType(type: string): string {
  const plain = type.split(';')[0]!.trim().toLowerCase();
  return MEDIA_TYPE.test(plain) ? plain : 'application/octet-stream';
}

const ROOT_DOMAIN = new TextEncoder().encode('souk package v1\u0000');

/**
 * The root of a package: BLAKE3 over "souk package v1" and a zero byte, the size (u64), the log2
 * of the chunk size (u8), and the chunks' hashes in order. A hash list that gives this root names
 * every chunk; each chunk is then verified on its own by its hash.
 */
export function packageRoot(blake3: Blake3, size: number, chunkSize: number, hashList: Uint8Array): Uint8Array {
  const header = new BinaryWriter(16).u64(size).u8(Math.log2(chunkSize)).finish();
  return blake3.hashParts([ROOT_DOMAIN, header, hashList]);
}

/**
 * Checks a peer's hash list against a manifest: the right length, and the root it gives. Returns
 * the chunks' hashes as hex, or a reason it is refused.
 */
export function checkHashList(blake3: Blake3, manifest: PackageManifest, hashList: Uint8Array): { hashes: string[] } | { problem: string } {
  const count = chunkCount(manifest.size, manifest.chunkSize);
  if (hashList.length !== count * BLAKE3_BYTES) return { problem: `a hash list of ${hashList.length} bytes for ${count} chunks` };
  const root = packageRoot(blake3, manifest.size, manifest.chunkSize, hashList);
  if (toHex(root) !== toHex(manifest.root)) return { problem: 'the hash list does not give the package’s root' };
  const hashes: string[] = [];
  for (let i = 0; i < count; i++) hashes.push(toHex(hashList.subarray(i * BLAKE3_BYTES, (i + 1) * BLAKE3_BYTES)));
  return { hashes };
}

/** Where a chunk starts and how long it is. */
export function chunkSpan(manifest: Pick<PackageManifest, 'size' | 'chunkSize'>, index: number): { offset: number; length: number } {
  const offset = index * manifest.chunkSize;
  return { offset, length: Math.min(manifest.chunkSize, manifest.size - offset) };
}

/** Something a package is made from: read in slices, never whole. */
export interface PackageSource {
  name: string;
  mediaType: string;
  size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

/**
 * Cuts a source into chunks, hashing each; `keep` stores each chunk (awaited, one at a time, so
 * at most one chunk is in memory) and `progress` hears the bytes done. Returns the manifest and
 * the hash list.
 */
export async function chunkPackage(
  blake3: Blake3,
  source: PackageSource,
  keep: (hash: string, bytes: Uint8Array, index: number) => Promise<void>,
  progress?: (done: number, total: number) => void,
  chunkSize = DEFAULT_CHUNK_SIZE,
): Promise<{ manifest: PackageManifest; hashList: Uint8Array; hashes: string[] }> {
  const name = source.name;
  const problem = nameProblem(name) ?? sizeProblem(source.size, chunkSize);
  if (problem) throw new RangeError(problem);
  const count = chunkCount(source.size, chunkSize);
  const hashList = new Uint8Array(count * BLAKE3_BYTES);
  const hashes: string[] = [];
  for (let index = 0; index < count; index++) {
    const { offset, length } = chunkSpan({ size: source.size, chunkSize }, index);
    const bytes = await source.read(offset, length);
    if (bytes.length !== length) throw new Error(`the file changed while it was read (chunk ${index}: ${bytes.length} of ${length} bytes)`);
    const hash = blake3.hash(bytes);
    hashList.set(hash, index * BLAKE3_BYTES);
    hashes.push(toHex(hash));
    await keep(toHex(hash), bytes, index);
    progress?.(offset + length, source.size);
  }
  const root = packageRoot(blake3, source.size, chunkSize, hashList);
  return { manifest: { name, mediaType: normalMediaType(source.mediaType), size: source.size, chunkSize, root }, hashList, hashes };
}
