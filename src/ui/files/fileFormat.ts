import { bytes } from '../format';
import { finite, text } from '../safe';
import type { AttachmentView, PackageProgress } from '../../core/packages/packageView';

/**
 * How files attached to products are named, measured and judged in the page. Attachments and
 * progress cross from the node; another shop's come from that shop: every field is read as
 * unchecked (../safe.ts), and a root that is not 64 hex is no package.
 */

export const ROOT = /^[0-9a-f]{64}$/;

/** An attachment as the page uses it (read back from the node by readAttachment). */
export type Attachment = Omit<AttachmentView, 'vaultId' | 'productId'>;

export function readAttachment(value: unknown): Attachment | null {
  if (!value || typeof value !== 'object') return null;
  const a = value as Partial<Record<keyof AttachmentView, unknown>>;
  const root = text(a.root);
  if (!ROOT.test(root)) return null;
  const thumbnail = text(a.thumbnail);
  return {
    root,
    kind: a.kind === 'photo' ? 'photo' : 'file',
    name: text(a.name) || 'Unnamed file',
    mediaType: text(a.mediaType) || 'application/octet-stream',
    size: Math.max(0, finite(a.size)),
    shared: a.shared === true,
    thumbnail: ROOT.test(thumbnail) ? thumbnail : null,
    addedAt: finite(a.addedAt),
  };
}

/** The attachments of a list that are readable, photos first (in the order added), then files. */
export function readAttachments(value: unknown): Attachment[] {
  const all = (Array.isArray(value) ? value : []).map(readAttachment).filter((a): a is Attachment => a !== null);
  const byAdded = (x: Attachment, y: Attachment) => x.addedAt - y.addedAt;
  return [...all.filter((a) => a.kind === 'photo').sort(byAdded), ...all.filter((a) => a.kind === 'file').sort(byAdded)];
}

/** "1.5 MiB". */
export function fileSize(size: number): string {
  return bytes(Math.max(0, Math.round(finite(size))));
}

/** The share of a package held, 0..100 (whole). */
export function percentDone(progress: Pick<PackageProgress, 'bytesDone' | 'size' | 'state'>): number {
  if (progress.state === 'complete') return 100;
  const size = finite(progress.size);
  if (size <= 0) return 0;
  return Math.max(0, Math.min(100, Math.floor((finite(progress.bytesDone) / size) * 100)));
}

/** "12 s left", "about 3 min left", "about 2 h left", or "time left unknown". */
export function timeLeft(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return 'time left unknown';
  if (seconds < 60) return `${Math.max(1, Math.ceil(seconds))} s left`;
  if (seconds < 3600) return `about ${Math.ceil(seconds / 60)} min left`;
  return `about ${Math.round(seconds / 360) / 10} h left`;
}

/** "42%, 1.2 MiB/s, about 3 min left, 2 peers serving". */
export function progressText(progress: PackageProgress): string {
  const percent = percentDone(progress);
  if (progress.state === 'complete') return `${fileSize(progress.size)}, complete`;
  const peers = Math.max(0, Math.round(finite(progress.peersServing)));
  return [
    `${percent}% of ${fileSize(progress.size)}`,
    `${fileSize(finite(progress.bytesPerSecond))}/s`,
    timeLeft(typeof progress.secondsLeft === 'number' ? progress.secondsLeft : null),
    `${peers} ${peers === 1 ? 'peer' : 'peers'} serving`,
  ].join(', ');
}

export { opensSafely } from '../../core/packages/mediaTypes';

/**
 * A file's name as a package takes it: a relative path ("designs/front.svg") with no empty, "."
 * or ".." part, and none of the characters no file system accepts (they become "_").
 */
export function packageName(name: string): string {
  return (
    name
      .replace(/[\u0000-\u001f\u007f\\:*?"<>|]/g, '_')
      .split('/')
      .filter((part) => part !== '' && part !== '.' && part !== '..')
      .join('/') || 'file'
  );
}

/** The name a saved file gets: a folder's file keeps its own name (the last part of its path). */
export function saveName(name: string): string {
  return name.split('/').filter(Boolean).pop() || 'file';
}

/** A short name for a media type: "image/jpeg" → "JPEG image", else the type itself. */
export function typeName(mediaType: string): string {
  const [major, minor = ''] = mediaType.split(';')[0]!.trim().toLowerCase().split('/');
  const sub = minor.replace(/^x-/, '').replace(/\+.*$/, '').toUpperCase();
  if (major === 'image' && sub) return `${sub} image`;
  if (mediaType === 'application/pdf') return 'PDF document';
  if (major === 'text' && sub) return `${sub === 'PLAIN' ? 'Text' : sub} file`;
  if (major === 'video' && sub) return `${sub} video`;
  if (major === 'audio' && sub) return `${sub} audio`;
  return mediaType;
}
