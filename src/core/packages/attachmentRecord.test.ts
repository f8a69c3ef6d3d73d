import { describe, expect, it } from 'vitest';
import { toHex } from '../wire/hex';
import { WireError } from '../wire/wireError';
import { decodeAttachment, encodeAttachment, MAX_FILES_PER_PRODUCT, readAttachments, type AttachmentRecord } from './attachmentRecord';
import { encodeManifest, type PackageManifest } from './packageManifest';

const manifest = (fill: number, extra: Partial<PackageManifest> = {}): PackageManifest => ({
  name: 'photo.webp',
  mediaType: 'image/webp',
  size: 300_000,
  chunkSize: 262_144,
  root: new Uint8Array(32).fill(fill),
  ...extra,
});
const photo: AttachmentRecord = {
  productId: 'p1',
  kind: 'photo',
  shared: true,
  addedAt: 1_764_000_000_000,
  manifest: manifest(1),
  thumbnail: manifest(2, { name: 'thumb.webp', size: 9_000 }),
};

describe('attachment records (version 1)', () => {
  it('have a fixed byte layout', () => {
    const bytes = encodeAttachment(photo);
    const main = toHex(encodeManifest(photo.manifest));
    const thumb = toHex(encodeManifest(photo.thumbnail!));
    // version | flags (photo, shared) | product id | added at | manifest | thumbnail manifest
    expect(toHex(bytes)).toBe(
      '01' + '03' + '0002' + '7031' + '0000019ab697e800' + (main.length / 2).toString(16).padStart(4, '0') + main + (thumb.length / 2).toString(16).padStart(4, '0') + thumb,
    );
    expect(decodeAttachment(bytes)).toEqual(photo);
    const file: AttachmentRecord = { ...photo, kind: 'file', shared: false, thumbnail: null, manifest: manifest(3, { name: 'invoice.pdf', mediaType: 'application/pdf' }) };
    expect(toHex(encodeAttachment(file)).slice(0, 4)).toBe('0100');
    expect(decodeAttachment(encodeAttachment(file))).toEqual(file);
  });

  it('refuses malformed records', () => {
    const bytes = encodeAttachment(photo);
    const flags = bytes.slice();
    flags[1] = 4;
    expect(() => decodeAttachment(flags)).toThrow(/unknown attachment flags/);
    const version = bytes.slice();
    version[0] = 2;
    expect(() => decodeAttachment(version)).toThrow(WireError);
    const noThumb = encodeAttachment({ ...photo, kind: 'file', thumbnail: null }).slice();
    noThumb[1] = 3; // says photo, has no thumbnail
    expect(() => decodeAttachment(noThumb)).toThrow(/a photo has a thumbnail/);
    const bigThumb = encodeAttachment({ ...photo, thumbnail: manifest(2, { size: 70_000 }) });
    expect(() => decodeAttachment(bigThumb)).toThrow(/thumbnail of 70000 bytes/);
    const pdfThumb = encodeAttachment({ ...photo, thumbnail: manifest(2, { mediaType: 'application/pdf', size: 9_000 }) });
    expect(() => decodeAttachment(pdfThumb)).toThrow(/WebP, JPEG or PNG only/);
    // An SVG thumbnail would run script if its address were opened as a page.
    const svgThumb = encodeAttachment({ ...photo, thumbnail: manifest(2, { mediaType: 'image/svg+xml', size: 9_000 }) });
    expect(() => decodeAttachment(svgThumb)).toThrow(/WebP, JPEG or PNG only/);
    expect(() => decodeAttachment(new Uint8Array([...bytes, 0]))).toThrow(/trailing/);
    expect(() => decodeAttachment(bytes.slice(0, 20))).toThrow(WireError);
  });

  it('a vault’s files map: each filed under its root, shared where the document must be, at most 16 per product', () => {
    const files = { [toHex(photo.manifest.root)]: encodeAttachment(photo) };
    expect(readAttachments(files, true)).toEqual([photo]);
    expect(readAttachments(undefined, true)).toEqual([]);
    expect(() => readAttachments({ ['cd'.repeat(32)]: encodeAttachment(photo) }, true)).toThrow(/filed under another root/);
    const unshared = { ...photo, shared: false };
    expect(() => readAttachments({ [toHex(photo.manifest.root)]: encodeAttachment(unshared) }, true)).toThrow(/not marked shared/);
    expect(readAttachments({ [toHex(photo.manifest.root)]: encodeAttachment(unshared) }, false)).toHaveLength(1);
    expect(() => readAttachments({ x: 'text' }, false)).toThrow(/not bytes/);
    const many: Record<string, Uint8Array> = {};
    for (let i = 0; i <= MAX_FILES_PER_PRODUCT; i++) {
      const record = { ...photo, manifest: manifest(10 + i) };
      many[toHex(record.manifest.root)] = encodeAttachment(record);
    }
    expect(() => readAttachments(many, true)).toThrow(/over 16 files/);
  });
});
