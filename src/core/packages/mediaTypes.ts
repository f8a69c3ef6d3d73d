/**
 * Media types a browser shows in a tab of this app's origin without running anything of the
 * file's: raster images (not SVG, which runs scripts when opened as a page), PDF, plain text,
 * sound and video. Anything else (HTML, SVG, XML…) would run with the shop's keys within reach:
 * it is only ever handed out as plain bytes (application/octet-stream) and saved.
 */
export function opensSafely(mediaType: string): boolean {
  const type = mediaType.split(';')[0]!.trim().toLowerCase();
  return (
    ['image/png', 'image/jpeg', 'image/gif', 'image/webp', 'image/avif', 'image/bmp', 'application/pdf', 'text/plain'].includes(type) ||
    /^(audio|video)\/[a-z0-9][a-z0-9.+-]*$/.test(type)
  );
}

/** The type a file's bytes are handed out with: the type asked for if it runs nothing, else plain bytes. */
export function handedOutType(mediaType: string): string {
  return opensSafely(mediaType) ? mediaType.split(';')[0]!.trim().toLowerCase() : 'application/octet-stream';
}

/** The media types a photo's thumbnail may have (the page makes WebP, or JPEG where WebP encoding is missing). */
export const THUMBNAIL_TYPES: readonly string[] = ['image/webp', 'image/jpeg', 'image/png'];
