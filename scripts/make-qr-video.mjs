#!/usr/bin/env node
/**
 * Writes a video file for Chromium's fake camera that shows one QR code, large and centred with a
 * quiet zone, so a test can "hold" a pairing code in front of the camera:
 *
 *   node scripts/make-qr-video.mjs 'SOUK-PAIR:28T5-CY4T-QKFF-4' e2e/fixtures/pairing-qr.y4m
 *   chromium --use-fake-device-for-media-stream --use-fake-ui-for-media-stream \
 *            --use-file-for-fake-video-capture=e2e/fixtures/pairing-qr.y4m
 *
 * Options: --width 640 --height 480 --frames 30 --fps 30 --ec M (the QR error correction level).
 * The format is YUV4MPEG2 (4:2:0, 8 bits, progressive): a text header, then per frame `FRAME\n`,
 * the Y plane and the quarter-size U and V planes. Chromium plays the file in a loop. The frames
 * are the same QR code; a small block below it moves, so each frame differs as a camera's would.
 * Pure Node with the qrcode package; the output is generated at test time (it is about 14 MB for
 * 30 frames of 640x480), never committed.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import QRCode from 'qrcode';

const QUIET_ZONE = 4; // modules of white around the symbol, as the QR standard asks
const BLACK = 16; // video-range luma
const WHITE = 235;
const BACKGROUND = 128; // grey around the white card, like a table behind a phone

export function qrVideo(text, { width = 640, height = 480, frames = 30, fps = 30, ec = 'M' } = {}) {
  if (width % 2 || height % 2) throw new Error('width and height must be even for 4:2:0');
  const modules = QRCode.create(text, { errorCorrectionLevel: ec }).modules;
  const span = modules.size + 2 * QUIET_ZONE;
  const scale = Math.floor((Math.min(width, height) * 0.9) / span);
  if (scale < 2) throw new Error(`a ${modules.size}-module QR code does not fit ${width}x${height}`);
  const side = span * scale;
  const left = Math.floor((width - side) / 2);
  const top = Math.floor((height - side) / 2);

  const luma = new Uint8Array(width * height).fill(BACKGROUND);
  for (let y = top; y < top + side; y++) {
    const row = Math.floor((y - top) / scale) - QUIET_ZONE;
    for (let x = left; x < left + side; x++) {
      const col = Math.floor((x - left) / scale) - QUIET_ZONE;
      const dark = row >= 0 && col >= 0 && row < modules.size && col < modules.size && modules.get(row, col);
      luma[y * width + x] = dark ? BLACK : WHITE;
    }
  }
  const chroma = new Uint8Array((width / 2) * (height / 2)).fill(128);
  const header = Buffer.from(`YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`, 'ascii');
  const frameHeader = Buffer.from('FRAME\n', 'ascii');
  const parts = [header];
  const markerY = Math.min(height - 8, top + side + 2);
  for (let f = 0; f < frames; f++) {
    const frame = Uint8Array.from(luma);
    // A moving 8x6 block in the grey margin under the card (left of it if there is no margin).
    const mx = Math.floor((f / Math.max(1, frames)) * (width - 8));
    for (let y = markerY; y < Math.min(height, markerY + 6); y++) {
      for (let x = mx; x < mx + 8; x++) if (y >= top + side || x < left || x >= left + side) frame[y * width + x] = BLACK;
    }
    parts.push(frameHeader, frame, chroma, chroma);
  }
  return { bytes: Buffer.concat(parts), modules: modules.size, scale, side };
}

function main(argv) {
  const options = {};
  const positional = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.startsWith('--')) {
      const name = arg.slice(2);
      const value = argv[++i];
      if (value === undefined) throw new Error(`${arg} needs a value`);
      options[name] = ['width', 'height', 'frames', 'fps'].includes(name) ? Number(value) : value;
    } else positional.push(arg);
  }
  const [text, out = 'e2e/fixtures/pairing-qr.y4m'] = positional;
  if (!text) {
    console.error('usage: node scripts/make-qr-video.mjs TEXT [OUT.y4m] [--width 640] [--height 480] [--frames 30] [--fps 30] [--ec M]');
    process.exit(2);
  }
  const { bytes, modules, scale, side } = qrVideo(text, options);
  const path = resolve(out);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  console.log(`${path}: ${modules}x${modules} modules at ${scale} px each (${side} px with the quiet zone), ${bytes.length} bytes`);
}

if (import.meta.url === `file://${process.argv[1] && resolve(process.argv[1])}`) main(process.argv.slice(2));
