import { BinaryReader, BinaryWriter } from '../wire/binary';
import { toHex } from '../wire/hex';
import { WireError } from '../wire/wireError';
import { decodeManifest, encodeManifest, MAX_MANIFEST_BYTES, type PackageManifest } from './packageManifest';
import type { AttachmentKind } from './packageView';
import { THUMBNAIL_TYPES } from './mediaTypes';

/**
 * A file attached to a product, as a vault holds it (docs/vault-format.md, "Attachments"): under
 * `files[root hex]` of the private document always, and of the shared document too when the
 * file is shared with other shops. Version 1, byte by byte:
 *   u8 version = 1
 *   u8 flags: bit 0 photo (else file), bit 1 shared; other bits 0
 *   u16 product id length, product id (1..64 of [0-9A-Za-z_-])
 *   u64 added at (ms since 1970)
 *   u16 manifest length, manifest (packageManifest.ts, at most 1 KiB)
 *   u16 thumbnail manifest length (0: none; a photo has one), thumbnail manifest
 */
export const ATTACHMENT_VERSION = 1;
export const MAX_ATTACHMENT_BYTES = 1 + 1 + 2 + 64 + 8 + 2 + MAX_MANIFEST_BYTES + 2 + MAX_MANIFEST_BYTES;
/** A thumbnail is at most 64 KiB (one chunk): shown as soon as an offer is. */
export const MAX_THUMBNAIL_BYTES = 64 * 1024;
/** Attachments one vault may list, and one product. */
export const MAX_FILES_PER_VAULT = 1024;
export const MAX_FILES_PER_PRODUCT = 16;

const PRODUCT_ID = /^[0-9a-z_-]{1,64}$/i;

export interface AttachmentRecord {
  productId: string;
  kind: AttachmentKind;
  shared: boolean;
  addedAt: number;
  manifest: PackageManifest;
  thumbnail: PackageManifest | null;
}

export function encodeAttachment(record: AttachmentRecord): Uint8Array {
  if (!PRODUCT_ID.test(record.productId)) throw new RangeError('not a product id');
  if ((record.kind === 'photo') !== (record.thumbnail !== null)) throw new RangeError('a photo has a thumbnail, a file has none');
  const w = new BinaryWriter(256)
    .u8(ATTACHMENT_VERSION)
    .u8((record.kind === 'photo' ? 1 : 0) | (record.shared ? 2 : 0))
    .text(record.productId)
    .u64(record.addedAt);
  const manifest = encodeManifest(record.manifest);
  w.u16(manifest.length).fixed(manifest, manifest.length);
  const thumbnail = record.thumbnail ? encodeManifest(record.thumbnail) : new Uint8Array(0);
  w.u16(thumbnail.length).fixed(thumbnail, thumbnail.length);
  return w.finish();
}

/** Reads an attachment record; every limit is checked, anything else is a WireError. */
export function decodeAttachment(bytes: Uint8Array): AttachmentRecord {
  if (bytes.length > MAX_ATTACHMENT_BYTES) throw new WireError('too-large', `an attachment of ${bytes.length} bytes, limit ${MAX_ATTACHMENT_BYTES}`);
  const r = new BinaryReader(bytes);
  const version = r.u8('attachment version');
  if (version !== ATTACHMENT_VERSION) throw new WireError('unsupported-version', `attachment version ${version}`);
  const flags = r.u8('attachment flags');
  if (flags > 3) throw new WireError('malformed', 'unknown attachment flags');
  const productId = r.text(64, 'product id');
  if (!PRODUCT_ID.test(productId)) throw new WireError('malformed', 'the attachment’s product id is malformed');
  const addedAt = r.u64('added at');
  const manifestLength = r.u16('manifest length');
  if (manifestLength > MAX_MANIFEST_BYTES) throw new WireError('too-large', 'manifest over 1 KiB');
  const manifest = decodeManifest(r.fixed(manifestLength, 'manifest'));
  const thumbnailLength = r.u16('thumbnail length');
  if (thumbnailLength > MAX_MANIFEST_BYTES) throw new WireError('too-large', 'thumbnail manifest over 1 KiB');
  const thumbnail = thumbnailLength ? decodeManifest(r.fixed(thumbnailLength, 'thumbnail manifest')) : null;
  r.end('attachment');
  const kind: AttachmentKind = flags & 1 ? 'photo' : 'file';
  if ((kind === 'photo') !== (thumbnail !== null)) throw new WireError('malformed', 'a photo has a thumbnail, a file has none');
  if (thumbnail && thumbnail.size > MAX_THUMBNAIL_BYTES) throw new WireError('malformed', `a thumbnail of ${thumbnail.size} bytes, limit ${MAX_THUMBNAIL_BYTES}`);
  if (thumbnail && !THUMBNAIL_TYPES.includes(thumbnail.mediaType)) throw new WireError('malformed', `a thumbnail of type ${thumbnail.mediaType} (WebP, JPEG or PNG only)`);
  return { productId, kind, shared: (flags & 2) !== 0, addedAt, manifest, thumbnail };
}

/**
 * Reads a vault's `files` map (absent: none): every key the root of its record's manifest, the
 * shared flag as the document requires, counts within the limits. Throws with what is wrong.
 */
export function readAttachments(files: unknown, mustBeShared: boolean): AttachmentRecord[] {
  if (files === undefined) return [];
  if (typeof files !== 'object' || files === null || Array.isArray(files)) throw new Error('files is not a record');
  const keys = Object.keys(files);
  if (keys.length > MAX_FILES_PER_VAULT) throw new Error(`${keys.length} files, limit ${MAX_FILES_PER_VAULT}`);
  const perProduct = new Map<string, number>();
  const records: AttachmentRecord[] = [];
  for (const key of keys) {
    const value = (files as Record<string, unknown>)[key];
    if (!(value instanceof Uint8Array)) throw new Error('a file record is not bytes');
    let record: AttachmentRecord;
    try {
      record = decodeAttachment(value);
    } catch (error) {
      throw new Error(`a file record is malformed: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (toHex(record.manifest.root) !== key) throw new Error('a file record is filed under another root');
    if (mustBeShared && !record.shared) throw new Error('a file in the shared vault is not marked shared');
    const count = (perProduct.get(record.productId) ?? 0) + 1;
    if (count > MAX_FILES_PER_PRODUCT) throw new Error(`a product has over ${MAX_FILES_PER_PRODUCT} files`);
    perProduct.set(record.productId, count);
    records.push(record);
  }
  return records;
}
