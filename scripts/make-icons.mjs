// Writes Souk's app icons (PNG) into public/: a market-stall awning on a deep green square.
// Run once when the design changes: node scripts/make-icons.mjs
import { deflateSync, crc32 } from 'node:zlib';
import { writeFileSync } from 'node:fs';

function png(size, pixel) {
  const raw = Buffer.alloc((size * 4 + 1) * size);
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0;
    for (let x = 0; x < size; x++) raw.set(pixel(x / size, y / size), y * (size * 4 + 1) + 1 + x * 4);
  }
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'ascii');
    data.copy(out, 8);
    out.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'ascii'), data])), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8;
  header[9] = 6;
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

const green = [22, 101, 52, 255];
const cream = [254, 243, 199, 255];
const orange = [234, 88, 12, 255];
function pixel(x, y) {
  if (y > 0.28 && y < 0.46 && x > 0.14 && x < 0.86) return Math.floor((x - 0.14) / 0.09) % 2 ? cream : orange; // awning
  if (y >= 0.46 && y < 0.5 && x > 0.14 && x < 0.86) return orange;
  if (y >= 0.5 && y < 0.78 && ((x > 0.18 && x < 0.24) || (x > 0.76 && x < 0.82))) return cream; // posts
  if (y >= 0.66 && y < 0.72 && x > 0.18 && x < 0.82) return cream; // counter
  return green;
}
for (const size of [192, 512]) writeFileSync(new URL(`../public/icon-${size}.png`, import.meta.url), png(size, pixel));
writeFileSync(new URL('../public/icon.svg', import.meta.url), `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100"><rect width="100" height="100" fill="#166534"/><rect x="14" y="28" width="72" height="22" fill="#ea580c"/><g fill="#fef3c7">${[0, 2, 4, 6].map((i) => `<rect x="${23 + i * 9}" y="28" width="9" height="18"/>`).join('')}<rect x="18" y="50" width="6" height="28"/><rect x="76" y="50" width="6" height="28"/><rect x="18" y="66" width="64" height="6"/></g></svg>\n`);
