import { packageName } from './fileFormat';

/**
 * A photo's thumbnail, made on the merchant's device: the longest side at most 320 px, WebP at
 * quality 0.8 (JPEG where the browser cannot encode WebP), and at most 64 KiB — the quality is
 * lowered, then the size, until it fits. Other shops fetch it as soon as they see the offer.
 */

export const THUMBNAIL_SIDE = 320;
export const MAX_THUMBNAIL_BYTES = 64 * 1024;
const QUALITIES = [0.8, 0.7, 0.6, 0.5, 0.4, 0.3];
const SIDES = [THUMBNAIL_SIDE, 240, 160, 96];

/** Thumbnail dimensions: the longest side at most `side`, never enlarged, at least 1 px. */
export function fitWithin(width: number, height: number, side: number): { width: number; height: number } {
  const scale = Math.min(1, side / Math.max(width, height, 1));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

interface Surface {
  encode(type: string, quality: number): Promise<Blob>;
}

function surface(image: ImageBitmap, width: number, height: number, background: string | null): Surface {
  /** Draws the image scaled, over `background` (JPEG has no transparency). */
  const paint = (context: CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D | null) => {
    if (!context) throw new Error('this browser cannot draw the thumbnail');
    if (background) {
      context.fillStyle = background;
      context.fillRect(0, 0, width, height);
    }
    context.drawImage(image, 0, 0, width, height);
  };
  if (typeof OffscreenCanvas !== 'undefined') {
    const canvas = new OffscreenCanvas(width, height);
    paint(canvas.getContext('2d'));
    return { encode: (type, quality) => canvas.convertToBlob({ type, quality }) };
  }
  // Browsers without OffscreenCanvas (older Safari): a canvas element.
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  paint(canvas.getContext('2d'));
  return {
    encode: (type, quality) =>
      new Promise((resolve, reject) => canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('the thumbnail could not be encoded'))), type, quality)),
  };
}

/** The thumbnail of a photo, or an error saying why the photo cannot be read. */
export async function makeThumbnail(photo: Blob): Promise<Blob> {
  let image: ImageBitmap;
  try {
    image = await createImageBitmap(photo, { imageOrientation: 'from-image' });
  } catch {
    throw new Error('This photo cannot be read by this browser. Choose a JPEG, PNG or WebP photo.');
  }
  try {
    for (const side of SIDES) {
      const { width, height } = fitWithin(image.width, image.height, side);
      let webp: Surface | null = surface(image, width, height, null);
      // JPEG has no transparency: drawn over white.
      let jpeg: Surface | null = null;
      for (const quality of QUALITIES) {
        let blob: Blob | null = null;
        if (webp) {
          blob = await webp.encode('image/webp', quality);
          // A browser that cannot encode WebP gives PNG instead.
          if (blob.type !== 'image/webp') {
            webp = null;
            blob = null;
          }
        }
        if (!blob) {
          jpeg ??= surface(image, width, height, 'white');
          blob = await jpeg.encode('image/jpeg', quality);
        }
        if (blob.size <= MAX_THUMBNAIL_BYTES) return blob;
      }
    }
  } finally {
    image.close();
  }
  throw new Error('No thumbnail of this photo fits in 64 KiB.');
}

/** "shelf.thumbnail.webp" for "shelf.jpg": the thumbnail package's name. */
export function thumbnailName(photoName: string, type: string): string {
  const base = packageName(photoName.split('/').pop() ?? '').replace(/\.[^.]*$/, '').slice(0, 200) || 'photo';
  return `${base}.thumbnail.${type === 'image/webp' ? 'webp' : 'jpg'}`;
}
