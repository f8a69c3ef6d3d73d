import { describe, expect, it } from 'vitest';
import type { PackageProgress } from '../../core/packages/packageView';
import { opensSafely, packageName, percentDone, progressText, readAttachment, readAttachments, saveName, timeLeft, typeName } from './fileFormat';
import { fitWithin, thumbnailName } from './thumbnail';

const root = 'ab'.repeat(32);

function progress(over: Partial<PackageProgress>): PackageProgress {
  return {
    root,
    name: 'plan.pdf',
    mediaType: 'application/pdf',
    size: 4 * 1024 * 1024,
    state: 'downloading',
    bytesDone: 1024 * 1024,
    bytesPerSecond: 512 * 1024,
    secondsLeft: 6,
    peersServing: 2,
    problem: null,
    own: false,
    ...over,
  };
}

describe('files in the page', () => {
  it('reads an attachment as unchecked: a bad root is none, bad fields are blanks', () => {
    expect(readAttachment({ root: 'xyz' })).toBeNull();
    expect(readAttachment(null)).toBeNull();
    const a = readAttachment({ root, kind: 'photo', name: 42, size: -5, thumbnail: 'nope', shared: 'yes' });
    expect(a).toMatchObject({ root, kind: 'photo', name: 'Unnamed file', size: 0, thumbnail: null, shared: false, mediaType: 'application/octet-stream' });
    expect(readAttachment({ root, kind: 'weird' })?.kind).toBe('file');
  });

  it('lists photos first, each kind in the order added', () => {
    const list = readAttachments([
      { root: '01'.repeat(32), kind: 'file', addedAt: 1 },
      { root: '02'.repeat(32), kind: 'photo', addedAt: 5 },
      { root: '03'.repeat(32), kind: 'photo', addedAt: 2 },
      'junk',
    ]);
    expect(list.map((a) => a.root.slice(0, 2))).toEqual(['03', '02', '01']);
    expect(readAttachments('not a list')).toEqual([]);
  });

  it('says percent, speed, time left and peers', () => {
    expect(percentDone(progress({}))).toBe(25);
    expect(percentDone(progress({ size: 0, bytesDone: 0 }))).toBe(0);
    expect(percentDone(progress({ state: 'complete', bytesDone: 0 }))).toBe(100);
    expect(progressText(progress({}))).toBe('25% of 4.0 MiB, 512.0 KiB/s, 6 s left, 2 peers serving');
    expect(progressText(progress({ peersServing: 1, secondsLeft: null }))).toContain('time left unknown, 1 peer serving');
    expect(timeLeft(150)).toBe('about 3 min left');
    expect(timeLeft(7200)).toBe('about 2 h left');
  });

  it('opens in a tab only types that run nothing of the file', () => {
    for (const type of ['image/jpeg', 'image/png', 'application/pdf', 'text/plain', 'text/plain; charset=utf-8', 'video/mp4', 'audio/mpeg']) expect(opensSafely(type), type).toBe(true);
    for (const type of ['text/html', 'image/svg+xml', 'application/xhtml+xml', 'text/xml', 'application/octet-stream', 'application/javascript', ''])
      expect(opensSafely(type), type).toBe(false);
  });

  it('names files as a package takes them and as they are saved', () => {
    expect(packageName('designs/front/logo.svg')).toBe('designs/front/logo.svg');
    expect(packageName('a:b*c?.txt')).toBe('a_b_c_.txt');
    expect(packageName('/../x//./y/')).toBe('x/y');
    expect(packageName('')).toBe('file');
    expect(saveName('designs/front/logo.svg')).toBe('logo.svg');
    expect(thumbnailName('shelf photos/IMG 1.jpeg', 'image/webp')).toBe('IMG 1.thumbnail.webp');
    expect(thumbnailName('x', 'image/jpeg')).toBe('x.thumbnail.jpg');
    expect(typeName('image/jpeg')).toBe('JPEG image');
    expect(typeName('application/pdf')).toBe('PDF document');
    expect(typeName('application/zip')).toBe('application/zip');
  });

  it('fits a thumbnail within 320 px on its longest side, never enlarged', () => {
    expect(fitWithin(4000, 3000, 320)).toEqual({ width: 320, height: 240 });
    expect(fitWithin(1000, 4000, 320)).toEqual({ width: 80, height: 320 });
    expect(fitWithin(100, 50, 320)).toEqual({ width: 100, height: 50 });
    expect(fitWithin(10000, 1, 320)).toEqual({ width: 320, height: 1 });
  });
});
