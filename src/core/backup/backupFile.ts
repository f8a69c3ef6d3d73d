/**
 * The encrypted envelope of a shop backup file (docs/backup-format.md).
 *
 * A backup is a small plaintext header followed by the payload encrypted with AES-256-GCM. The
 * key is scrypt(NFKC(passphrase), salt) and the whole header is the additional authenticated
 * data, so a wrong passphrase, a changed header byte and a damaged body all fail the same single
 * authentication check and nothing of the payload is ever returned unless the whole file is
 * intact. Every length and KDF parameter is checked against fixed bounds before it is used, and
 * before scrypt runs, so a crafted file can neither make the app allocate gigabytes nor spin for
 * minutes.
 *
 * Platform-free: WebCrypto (`globalThis.crypto`) and @noble/hashes only, the same in a browser
 * page, a worker and Node 20.
 */
import { scryptAsync } from '@noble/hashes/scrypt.js';

export type BackupErrorCode =
  /** Not a Souk backup at all (wrong magic, empty file). */
  | 'not-a-backup'
  /** A Souk backup of a format version this app does not know (made by a newer app). */
  | 'unsupported-version'
  /** The passphrase is wrong, or the file was changed, cut short or damaged. */
  | 'wrong-passphrase-or-damaged'
  /** The file (or the backup being made) is over the size limit. */
  | 'too-large'
  /** Sealing: the passphrase is too short. */
  | 'weak-passphrase'
  /** Key-derivation parameters outside the safe bounds (in a file, or passed to seal). */
  | 'unsafe-parameters';

/** A backup that cannot be made or opened. `code` is stable; `message` is for the merchant. */
export class BackupError extends Error {
  constructor(
    readonly code: BackupErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BackupError';
  }
}

/** scrypt cost parameters. The derived key is always 32 bytes (AES-256). */
export interface KdfParams {
  /** CPU/memory cost: a power of two, 2^14 … 2^20. */
  N: number;
  /** Block size, 1 … 16. */
  r: number;
  /** Parallelisation, 1 … 4. */
  p: number;
}

export interface SealOptions {
  /** Source of the salt and nonce; defaults to `crypto.getRandomValues`. Tests pass fixed bytes. */
  random?: (n: number) => Uint8Array;
  /** scrypt cost; defaults to DEFAULT_KDF. Must be within the same bounds that opening enforces. */
  kdf?: KdfParams;
  /** Milliseconds since the Unix epoch; defaults to `Date.now()`. Stored in clear (authenticated). */
  createdAt?: number;
  /** A name for the file, e.g. the shop's name. Stored in clear (authenticated), at most 255 UTF-8 bytes. */
  label?: string;
  /** Called with the key derivation's progress, 0 … 1, for a progress bar. */
  onProgress?: (fraction: number) => void;
}

export interface OpenOptions {
  /** Called with the key derivation's progress, 0 … 1, for a progress bar. */
  onProgress?: (fraction: number) => void;
}

export interface OpenedBackup {
  payload: Uint8Array;
  createdAt: number;
  label: string;
}

/** "SOUKBACKUP" in ASCII. */
export const BACKUP_MAGIC = new Uint8Array([0x53, 0x4f, 0x55, 0x4b, 0x42, 0x41, 0x43, 0x4b, 0x55, 0x50]);
export const BACKUP_VERSION = 1;
/** A file over this size is refused before anything else is looked at. */
export const MAX_BACKUP_FILE_BYTES = 64 * 1024 * 1024;
export const MIN_PASSPHRASE_CHARACTERS = 10;
export const MAX_LABEL_BYTES = 255;
export const SALT_BYTES = 16;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
export const KEY_BYTES = 32;

/** What the app uses: 2^17 × 8 × 128 bytes = 128 MiB of memory for scrypt. */
export const DEFAULT_KDF: Readonly<KdfParams> = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });

/**
 * The bounds, identical for sealing and opening (a backup this code can make, it can open).
 * log2(N) 14 … 20, r 1 … 16, p 1 … 4, and in addition scrypt's memory 128·N·r at most 256 MiB
 * (N·r ≤ 2^21) and its work N·r·p at most four times the default (≤ 2^22): the three separate
 * bounds alone would still allow N = 2^20 with r = 16 (2 GiB) or with p = 4 as well.
 */
export const KDF_BOUNDS = Object.freeze({
  minLog2N: 14,
  maxLog2N: 20,
  maxR: 16,
  maxP: 4,
  maxMemoryFactor: 2 ** 21, // N·r; memory is 128·N·r bytes
  maxWorkFactor: 2 ** 22, // N·r·p
});

/** noble's scrypt allocates 128·r·(N + p + 1) bytes; within the bounds that is about 256 MiB at most. */
const MAX_SCRYPT_MEMORY = 128 * KDF_BOUNDS.maxMemoryFactor + 128 * KDF_BOUNDS.maxR * (KDF_BOUNDS.maxP + 1);

/** The first 51 bytes of the header (offsets 0 … 50): everything up to and including the label length. */
const FIXED_HEADER_BYTES = BACKUP_MAGIC.length + 1 + 3 + SALT_BYTES + NONCE_BYTES + 8 + 1;
/** The ciphertext-length field that ends the header. */
const CIPHERTEXT_LENGTH_BYTES = 4;

const MESSAGES = {
  notABackup: 'This file is not a Souk backup. Choose the file Souk saved when you made the backup.',
  empty: 'This file is empty. It is not a Souk backup.',
  unsupportedVersion:
    'This backup was made by a newer version of Souk. Update Souk on this device, then restore it again.',
  wrongPassphrase:
    'The passphrase is wrong, or the backup file is damaged. Check the passphrase (capital letters and spaces count) and try again.',
  incomplete:
    'This backup file is incomplete or damaged: it is not the file Souk saved. Try another copy of the backup.',
  tooLargeFile: 'This file is too large to be a Souk backup (the limit is 64 MiB).',
  tooLargeBackup: 'The shop data is too large to fit in a backup file (the limit is 64 MiB).',
  labelTooLong: `The backup's name is too long (at most ${MAX_LABEL_BYTES} bytes).`,
  weakPassphrase: `Choose a longer passphrase: at least ${MIN_PASSPHRASE_CHARACTERS} characters. A few unrelated words work well.`,
  unsafeFile:
    'This backup file asks for unusual security settings that Souk does not accept, so it was not opened. It may have been tampered with.',
} as const;

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

/** Encrypts `payload` under `passphrase` and returns the whole backup file. */
export async function sealBackup(payload: Uint8Array, passphrase: string, options: SealOptions = {}): Promise<Uint8Array> {
  if (!(payload instanceof Uint8Array)) throw new TypeError('payload must be a Uint8Array');
  const normalised = normalisePassphrase(passphrase);
  if ([...normalised].length < MIN_PASSPHRASE_CHARACTERS) throw new BackupError('weak-passphrase', MESSAGES.weakPassphrase);

  const kdf = options.kdf ?? DEFAULT_KDF;
  const kdfProblem = checkKdf(kdf);
  if (kdfProblem) throw new BackupError('unsafe-parameters', `Backup security settings out of bounds: ${kdfProblem}.`);

  const createdAt = options.createdAt ?? Date.now();
  if (!Number.isSafeInteger(createdAt) || createdAt < 0) throw new RangeError(`createdAt must be a non-negative safe integer: ${createdAt}`);

  const label = options.label ?? '';
  const labelBytes = utf8Encoder.encode(label);
  if (utf8Decoder.decode(labelBytes) !== label) throw new TypeError('label is not well-formed Unicode');
  if (labelBytes.length > MAX_LABEL_BYTES) throw new BackupError('too-large', MESSAGES.labelTooLong);

  const headerLength = FIXED_HEADER_BYTES + labelBytes.length + CIPHERTEXT_LENGTH_BYTES;
  const ciphertextLength = payload.length + TAG_BYTES;
  if (headerLength + ciphertextLength > MAX_BACKUP_FILE_BYTES) throw new BackupError('too-large', MESSAGES.tooLargeBackup);
  // An own copy: the caller's buffer may change while scrypt runs (and WebCrypto wants an ArrayBuffer-backed view).
  const plaintext = new Uint8Array(payload);

  const random = options.random ?? defaultRandom;
  const salt = randomBytes(random, SALT_BYTES);
  const nonce = randomBytes(random, NONCE_BYTES);

  const file = new Uint8Array(headerLength + ciphertextLength);
  const view = new DataView(file.buffer);
  let offset = 0;
  file.set(BACKUP_MAGIC, offset);
  offset += BACKUP_MAGIC.length;
  file[offset++] = BACKUP_VERSION;
  file[offset++] = Math.log2(kdf.N);
  file[offset++] = kdf.r;
  file[offset++] = kdf.p;
  file.set(salt, offset);
  offset += SALT_BYTES;
  file.set(nonce, offset);
  offset += NONCE_BYTES;
  view.setBigUint64(offset, BigInt(createdAt));
  offset += 8;
  file[offset++] = labelBytes.length;
  file.set(labelBytes, offset);
  offset += labelBytes.length;
  view.setUint32(offset, ciphertextLength);
  offset += CIPHERTEXT_LENGTH_BYTES;
  if (offset !== headerLength) throw new Error('backup header length mismatch');

  const key = await deriveKey(normalised, salt, kdf, options.onProgress);
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: 'AES-GCM', iv: nonce, additionalData: file.subarray(0, headerLength), tagLength: TAG_BYTES * 8 },
      key,
      plaintext,
    ),
  );
  if (ciphertext.length !== ciphertextLength) throw new Error('AES-GCM output length mismatch');
  file.set(ciphertext, headerLength);
  return file;
}

/**
 * Opens a backup file. Either returns the whole payload, or throws a BackupError — never a part
 * of the payload. The file's structure and KDF parameters are checked before any key derivation.
 */
export async function openBackup(file: Uint8Array, passphrase: string, options: OpenOptions = {}): Promise<OpenedBackup> {
  if (!(file instanceof Uint8Array)) throw new TypeError('file must be a Uint8Array');
  if (typeof passphrase !== 'string') throw new TypeError('passphrase must be a string');
  if (file.length > MAX_BACKUP_FILE_BYTES) throw new BackupError('too-large', MESSAGES.tooLargeFile);
  // An own copy, so the header checked here is exactly the one authenticated after the await.
  const bytes = new Uint8Array(file);

  const header = readHeader(bytes);
  const key = await deriveKey(normalisePassphrase(passphrase), header.salt, header.kdf, options.onProgress);

  let payload: Uint8Array;
  try {
    payload = new Uint8Array(
      await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: header.nonce, additionalData: bytes.subarray(0, header.length), tagLength: TAG_BYTES * 8 },
        key,
        bytes.subarray(header.length),
      ),
    );
  } catch {
    throw new BackupError('wrong-passphrase-or-damaged', MESSAGES.wrongPassphrase);
  }

  // The label is authenticated now; a file made by sealBackup always holds valid UTF-8.
  let label: string;
  try {
    label = utf8Decoder.decode(header.labelBytes);
  } catch {
    throw new BackupError('wrong-passphrase-or-damaged', MESSAGES.incomplete);
  }
  return { payload, createdAt: header.createdAt, label };
}

interface ParsedHeader {
  kdf: KdfParams;
  salt: Uint8Array<ArrayBuffer>;
  nonce: Uint8Array<ArrayBuffer>;
  createdAt: number;
  labelBytes: Uint8Array<ArrayBuffer>;
  /** Header length in bytes: the AAD, and where the ciphertext begins. */
  length: number;
}

/** Checks every field of the header and the file's total length, in order, before anything is used. */
function readHeader(file: Uint8Array<ArrayBuffer>): ParsedHeader {
  if (file.length === 0) throw new BackupError('not-a-backup', MESSAGES.empty);
  const magicSeen = Math.min(file.length, BACKUP_MAGIC.length);
  for (let i = 0; i < magicSeen; i++) {
    if (file[i] !== BACKUP_MAGIC[i]) throw new BackupError('not-a-backup', MESSAGES.notABackup);
  }
  // A prefix of the magic is the start of a backup that was cut short.
  const incomplete = () => new BackupError('wrong-passphrase-or-damaged', MESSAGES.incomplete);
  if (file.length <= BACKUP_MAGIC.length) throw incomplete();
  let offset = BACKUP_MAGIC.length;
  const version = file[offset++]!;
  if (version !== BACKUP_VERSION) throw new BackupError('unsupported-version', MESSAGES.unsupportedVersion);

  if (file.length < FIXED_HEADER_BYTES) {
    // Still check whatever KDF bytes are present, so a short file with absurd parameters says so.
    if (file.length >= offset + 3) checkFileKdf(file[offset]!, file[offset + 1]!, file[offset + 2]!);
    throw incomplete();
  }
  const kdf = checkFileKdf(file[offset]!, file[offset + 1]!, file[offset + 2]!);
  offset += 3;
  const salt = file.slice(offset, offset + SALT_BYTES);
  offset += SALT_BYTES;
  const nonce = file.slice(offset, offset + NONCE_BYTES);
  offset += NONCE_BYTES;
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const createdAtBig = view.getBigUint64(offset);
  offset += 8;
  if (createdAtBig > BigInt(Number.MAX_SAFE_INTEGER)) throw incomplete();
  const labelLength = file[offset++]!; // at most 255 by construction
  if (offset !== FIXED_HEADER_BYTES) throw new Error('backup header layout mismatch');

  if (file.length < offset + labelLength + CIPHERTEXT_LENGTH_BYTES) throw incomplete();
  const labelBytes = file.slice(offset, offset + labelLength);
  offset += labelLength;
  const ciphertextLength = view.getUint32(offset);
  offset += CIPHERTEXT_LENGTH_BYTES;
  // The ciphertext is exactly the rest of the file: nothing missing, nothing appended.
  if (ciphertextLength < TAG_BYTES || ciphertextLength !== file.length - offset) throw incomplete();

  return { kdf, salt, nonce, createdAt: Number(createdAtBig), labelBytes, length: offset };
}

function checkFileKdf(log2N: number, r: number, p: number): KdfParams {
  // A power of two by construction; 2 ** log2N is exact for log2N ≤ 255.
  const kdf = { N: 2 ** log2N, r, p };
  if (checkKdf(kdf)) throw new BackupError('unsafe-parameters', MESSAGES.unsafeFile);
  return kdf;
}

/** Why `kdf` is outside the bounds, or undefined if it is within them. */
export function checkKdf(kdf: KdfParams): string | undefined {
  const { N, r, p } = kdf;
  const log2N = Number.isSafeInteger(N) && N >= 1 ? Math.round(Math.log2(N)) : NaN;
  if (!(2 ** log2N === N)) return `N = ${N} is not a power of two`;
  if (log2N < KDF_BOUNDS.minLog2N || log2N > KDF_BOUNDS.maxLog2N) {
    return `N = 2^${log2N} is outside 2^${KDF_BOUNDS.minLog2N} … 2^${KDF_BOUNDS.maxLog2N}`;
  }
  if (!Number.isSafeInteger(r) || r < 1 || r > KDF_BOUNDS.maxR) return `r = ${r} is outside 1 … ${KDF_BOUNDS.maxR}`;
  if (!Number.isSafeInteger(p) || p < 1 || p > KDF_BOUNDS.maxP) return `p = ${p} is outside 1 … ${KDF_BOUNDS.maxP}`;
  if (N * r > KDF_BOUNDS.maxMemoryFactor) return `N·r = ${N * r} needs more than 256 MiB of memory`;
  if (N * r * p > KDF_BOUNDS.maxWorkFactor) return `N·r·p = ${N * r * p} is more than four times the default work`;
  return undefined;
}

async function deriveKey(
  passphrase: string,
  salt: Uint8Array,
  kdf: KdfParams,
  onProgress: ((fraction: number) => void) | undefined,
): Promise<CryptoKey> {
  const passphraseBytes = utf8Encoder.encode(passphrase);
  const keyBytes = await scryptAsync(passphraseBytes, salt, {
    N: kdf.N,
    r: kdf.r,
    p: kdf.p,
    dkLen: KEY_BYTES,
    // Belt and braces: the bounds already hold scrypt's memory, 128·r·(N + p + 1), to this.
    maxmem: MAX_SCRYPT_MEMORY,
    ...(onProgress ? { onProgress } : {}),
  });
  passphraseBytes.fill(0);
  try {
    return await crypto.subtle.importKey('raw', keyBytes, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
  } finally {
    keyBytes.fill(0);
  }
}

function normalisePassphrase(passphrase: string): string {
  if (typeof passphrase !== 'string') throw new TypeError('passphrase must be a string');
  return passphrase.normalize('NFKC');
}

function randomBytes(random: (n: number) => Uint8Array, n: number): Uint8Array<ArrayBuffer> {
  const bytes = random(n);
  if (!(bytes instanceof Uint8Array) || bytes.length !== n) throw new Error(`random(${n}) must return ${n} bytes`);
  return new Uint8Array(bytes);
}

function defaultRandom(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}
