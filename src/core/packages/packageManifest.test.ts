import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../wire/hex';
import { WireError } from '../wire/wireError';
import { loadBlake3 } from './blake3';
import {
  checkHashList,
  chunkPackage,
  decodeManifest,
  encodeManifest,
  fileNameFrom,
  MAX_MANIFEST_BYTES,
  nameProblem,
  packageRoot,
  type PackageManifest,
  type PackageSource,
} from './packageManifest';

const blake3 = await loadBlake3();
const ROOT = Uint8Array.from({ length: 32 }, (_, i) => i);

/** A manifest's bytes written out field by field, with no help from the codec, so any field can be wrong. */
function rawManifest(fields: { version?: number; name?: Uint8Array | string; nameLength?: number; mediaType?: string; size?: bigint; log2?: number; root?: Uint8Array; trailing?: number[] } = {}): Uint8Array {
  const text = (value: Uint8Array | string) => (typeof value === 'string' ? new TextEncoder().encode(value) : value);
  const name = text(fields.name ?? 'photo.jpg');
  const mediaType = text(fields.mediaType ?? 'image/jpeg');
  const root = fields.root ?? ROOT;
  const out = new Uint8Array(1 + 2 + name.length + 2 + mediaType.length + 8 + 1 + root.length + (fields.trailing?.length ?? 0));
  const view = new DataView(out.buffer);
  let at = 0;
  view.setUint8(at, fields.version ?? 1);
  view.setUint16((at += 1), fields.nameLength ?? name.length);
  out.set(name, (at += 2));
  view.setUint16((at += name.length), mediaType.length);
  out.set(mediaType, (at += 2));
  view.setBigUint64((at += mediaType.length), fields.size ?? 1000n);
  view.setUint8((at += 8), fields.log2 ?? 18);
  out.set(root, (at += 1));
  out.set(fields.trailing ?? [], at + root.length);
  return out;
}

function wireErrorOf(bytes: Uint8Array): WireError {
  try {
    decodeManifest(bytes);
  } catch (error) {
    if (error instanceof WireError) return error;
    throw new Error(`decodeManifest threw ${String(error)}, not a WireError`);
  }
  throw new Error(`decodeManifest accepted ${toHex(bytes)}`);
}

const manifest = (fields: Partial<PackageManifest> = {}): PackageManifest => ({ name: 'photo.jpg', mediaType: 'image/jpeg', size: 1000, chunkSize: 1 << 18, root: ROOT, ...fields });

describe('package manifest, version 1', () => {
  // Written out by hand from the format in packageManifest.ts:
  //   01                                   version
  //   000e 6d656e752f636166c3a92e706466    name: 14 bytes, "menu/café.pdf" (é is c3 a9)
  //   000f 6170706c69636174696f6e2f706466  media type: 15 bytes, "application/pdf"
  //   00000000000493e0                     size: 300 000
  //   12                                   chunk size: 2^18 (256 KiB)
  //   000102…1f                            root
  const VECTOR =
    '01' +
    '000e' + '6d656e752f636166c3a92e706466' +
    '000f' + '6170706c69636174696f6e2f706466' +
    '00000000000493e0' +
    '12' +
    '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
  const VECTOR_MANIFEST = { name: 'menu/café.pdf', mediaType: 'application/pdf', size: 300_000, chunkSize: 262_144, root: ROOT };

  it('encodes byte for byte as specified', () => {
    expect(toHex(encodeManifest(VECTOR_MANIFEST))).toBe(VECTOR);
    expect(encodeManifest(VECTOR_MANIFEST).length).toBe(75);
  });

  it('decodes the vector, and round-trips', () => {
    expect(decodeManifest(fromHex(VECTOR))).toEqual(VECTOR_MANIFEST);
    for (const m of [VECTOR_MANIFEST, manifest({ size: 0 }), manifest({ size: 1 << 30, chunkSize: 1 << 20 }), manifest({ size: 4096 * 65536, chunkSize: 1 << 16 })]) {
      expect(decodeManifest(encodeManifest(m))).toEqual(m);
    }
  });

  it('the largest manifest (512-byte name, 127-byte media type) is within 1 KiB and round-trips', () => {
    const m = manifest({ name: `${'d/'.repeat(100)}${'é'.repeat(156)}`, mediaType: `${'a'.repeat(63)}/${'x'.repeat(63)}` });
    expect(new TextEncoder().encode(m.name).length).toBe(512);
    const bytes = encodeManifest(m);
    expect(bytes.length).toBeLessThanOrEqual(MAX_MANIFEST_BYTES);
    expect(decodeManifest(bytes)).toEqual(m);
  });

  it('decode refuses every malformed or oversized manifest with a WireError', () => {
    const refusals: [string, Uint8Array, WireError['code']][] = [
      ['version 0', rawManifest({ version: 0 }), 'unsupported-version'],
      ['version 2', rawManifest({ version: 2 }), 'unsupported-version'],
      ['over 1024 bytes', new Uint8Array(MAX_MANIFEST_BYTES + 1).fill(1), 'too-large'],
      ['a valid manifest padded past 1024 bytes', rawManifest({ trailing: new Array(1024).fill(0) }), 'too-large'],
      ['a trailing byte', rawManifest({ trailing: [0] }), 'trailing-bytes'],
      ['empty input', new Uint8Array(0), 'truncated'],
      ['a name length past the end', rawManifest({ nameLength: 200 }), 'truncated'],
      ['name ""', rawManifest({ name: '' }), 'malformed'],
      ['name "../x"', rawManifest({ name: '../x' }), 'malformed'],
      ['name "a//b"', rawManifest({ name: 'a//b' }), 'malformed'],
      ['name "/abs"', rawManifest({ name: '/abs' }), 'malformed'],
      ['name "dir/"', rawManifest({ name: 'dir/' }), 'malformed'],
      ['name "a/./b"', rawManifest({ name: 'a/./b' }), 'malformed'],
      ['name "a/.."', rawManifest({ name: 'a/..' }), 'malformed'],
      ['name with NUL', rawManifest({ name: 'a\u0000b' }), 'malformed'],
      ['name with a newline', rawManifest({ name: 'a\nb' }), 'malformed'],
      ['name with DEL', rawManifest({ name: 'a\u007fb' }), 'malformed'],
      ['name with a C1 control', rawManifest({ name: 'a\u0085b' }), 'malformed'],
      ['name with a backslash', rawManifest({ name: 'a\\b' }), 'malformed'],
      ['name with a colon', rawManifest({ name: 'c:x' }), 'malformed'],
      ['name starting with a byte order mark', rawManifest({ name: '\ufeffphoto.jpg' }), 'malformed'],
      ['name hiding its extension with a right-to-left override', rawManifest({ name: 'invoice\u202efdp.exe' }), 'malformed'],
      ['name with a left-to-right isolate', rawManifest({ name: 'a\u2066b' }), 'malformed'],
      ['name of 513 bytes', rawManifest({ name: 'a'.repeat(513) }), 'too-large'],
      ['name not UTF-8', rawManifest({ name: new Uint8Array([0x61, 0xff, 0x62]) }), 'malformed'],
      ['media type "image"', rawManifest({ mediaType: 'image' }), 'malformed'],
      ['media type "Image/JPEG"', rawManifest({ mediaType: 'Image/JPEG' }), 'malformed'],
      ['media type with parameters', rawManifest({ mediaType: 'text/plain; charset=utf-8' }), 'malformed'],
      ['media type ""', rawManifest({ mediaType: '' }), 'malformed'],
      ['media type starting with a byte order mark', rawManifest({ mediaType: '\ufeffimage/jpeg' }), 'malformed'],
      ['media type of 128 bytes', rawManifest({ mediaType: `application/${'x'.repeat(116)}` }), 'too-large'],
      ['size 1 GiB + 1', rawManifest({ size: 2n ** 30n + 1n, log2: 20 }), 'malformed'],
      ['size 2^53', rawManifest({ size: 2n ** 53n }), 'malformed'],
      ['size 2^64 - 1', rawManifest({ size: 2n ** 64n - 1n }), 'malformed'],
      ['4097 chunks of 64 KiB', rawManifest({ size: 4096n * 65536n + 1n, log2: 16 }), 'malformed'],
      ['1 GiB in 64 KiB chunks (16384)', rawManifest({ size: 2n ** 30n, log2: 16 }), 'malformed'],
      ['chunk size 2^15', rawManifest({ log2: 15 }), 'malformed'],
      ['chunk size 2^21', rawManifest({ log2: 21 }), 'malformed'],
      ['chunk size 2^0', rawManifest({ log2: 0 }), 'malformed'],
      ['chunk size 2^255', rawManifest({ log2: 255 }), 'malformed'],
      ['a root of 31 bytes', rawManifest({ root: ROOT.subarray(0, 31) }), 'truncated'],
    ];
    for (const [what, bytes, code] of refusals) expect(wireErrorOf(bytes).code, what).toBe(code);
    // Every prefix of a good manifest is truncated.
    const good = rawManifest();
    expect(() => decodeManifest(good)).not.toThrow();
    for (let n = 0; n < good.length; n++) expect(wireErrorOf(good.subarray(0, n)).code, `${n} of ${good.length} bytes`).toBe('truncated');
  });

  it('the edges of each limit are accepted', () => {
    for (const bytes of [
      rawManifest({ log2: 16 }),
      rawManifest({ log2: 20 }),
      rawManifest({ size: 4096n * 65536n, log2: 16 }),
      rawManifest({ size: 2n ** 30n, log2: 20 }),
      rawManifest({ size: 0n }),
      rawManifest({ name: 'a'.repeat(512) }),
      rawManifest({ name: 'a/b/c.d' }),
      rawManifest({ name: '.hidden/..x/x..' }),
      rawManifest({ mediaType: 'application/vnd.oasis.opendocument.text+zip' }),
    ]) {
      expect(toHex(encodeManifest(decodeManifest(bytes)))).toBe(toHex(bytes));
    }
  });

  it('encode refuses what decode would refuse (RangeError)', () => {
    for (const bad of [
      manifest({ name: '' }),
      manifest({ name: '../x' }),
      manifest({ name: 'a//b' }),
      manifest({ name: 'tab\there' }),
      manifest({ name: 'a'.repeat(513) }),
      manifest({ name: '\ufeffphoto.jpg' }),
      manifest({ mediaType: 'jpeg' }),
      manifest({ size: 2 ** 30 + 1, chunkSize: 1 << 20 }),
      manifest({ size: -1 }),
      manifest({ size: 1.5 }),
      manifest({ size: 4097 * 65536, chunkSize: 1 << 16 }),
      manifest({ chunkSize: 1 << 15 }),
      manifest({ chunkSize: 1 << 21 }),
      manifest({ chunkSize: 100_000 }),
      manifest({ root: ROOT.subarray(0, 31) }),
    ]) {
      expect(() => encodeManifest(bad), JSON.stringify({ ...bad, root: undefined })).toThrow(RangeError);
    }
  });

  it('fuzz: random and mutated bytes either decode to a manifest that re-encodes to the same bytes, or throw a WireError', () => {
    let seed = 0x5eed;
    const random = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return Math.floor(((seed >>> 8) / 2 ** 24) * n);
    };
    const seeds = [
      rawManifest(),
      rawManifest({ name: 'menu/café.pdf', mediaType: 'application/pdf', size: 300_000n }),
      rawManifest({ name: 'a'.repeat(512), log2: 16, size: 65536n * 4096n }),
      rawManifest({ name: 'ü/ñ/日本.png', mediaType: 'image/png', log2: 20, size: 2n ** 30n }),
    ];
    let accepted = 0;
    const attempt = (bytes: Uint8Array) => {
      let decoded: PackageManifest;
      try {
        decoded = decodeManifest(bytes);
      } catch (error) {
        if (!(error instanceof WireError)) throw new Error(`${toHex(bytes)}: ${String(error)}`);
        return;
      }
      accepted++;
      expect(toHex(encodeManifest(decoded)), toHex(bytes)).toBe(toHex(bytes));
    };
    for (let i = 0; i < 2000; i++) {
      const bytes = new Uint8Array(random(4) === 0 ? random(1100) : random(120));
      for (let j = 0; j < bytes.length; j++) bytes[j] = random(256);
      if (bytes.length > 0 && random(2)) bytes[0] = 1;
      attempt(bytes);
    }
    for (let i = 0; i < 4000; i++) {
      const bytes = Array.from(seeds[random(seeds.length)]!);
      for (let m = 1 + random(3); m > 0; m--) {
        const at = random(bytes.length);
        switch (random(5)) {
          case 0:
            bytes[at] = bytes[at]! ^ (1 << random(8));
            break;
          case 1:
            bytes[at] = random(256);
            break;
          case 2:
            bytes.splice(at, 1);
            break;
          case 3:
            bytes.splice(at, 0, random(256));
            break;
          case 4:
            bytes.length = at;
            break;
        }
      }
      attempt(Uint8Array.from(bytes));
    }
    // The mutations keep some manifests valid (a changed root, size or name byte), so both paths ran.
    expect(accepted).toBeGreaterThan(100);
  });
});

/** 2 × 64 KiB + 1000 bytes of i % 251: three chunks of 64 KiB, the last short. */
const PACKAGE_SIZE = 2 * 65536 + 1000;
const packageBytes = Uint8Array.from({ length: PACKAGE_SIZE }, (_, i) => i % 251);
// Computed once with this code and with @noble/hashes' BLAKE3 over the same root input (the
// domain "souk package v1\0", u64 size, u8 16, the three hashes): both gave these.
const CHUNK_HASHES = [
  '68d647e619a930e7b1082f74f334b0c65a315725569bdc123f0ee11881717bfe',
  '85c2238f2e3741d5680d17da00a43708a4c354c8d4a065469ef6e2e4edafe40d',
  '8cfefd038525bfee7060119352e9f4ee2dd3b1d4e14fd223506f6a95eb7eb563',
];
const PACKAGE_ROOT = 'b3c348a7eb989fb58f4d9f8bd2b5605ae232a318339562e48a0b6d25bcf4b7be';
const hashList = () => fromHex(CHUNK_HASHES.join(''));

describe('package root and hash list', () => {
  it('the chunk hashes are BLAKE3 of each 64 KiB slice, and the root is the vector', () => {
    for (const [i, hash] of CHUNK_HASHES.entries()) expect(toHex(blake3.hash(packageBytes.subarray(i * 65536, (i + 1) * 65536)))).toBe(hash);
    expect(toHex(packageRoot(blake3, PACKAGE_SIZE, 65536, hashList()))).toBe(PACKAGE_ROOT);
  });

  it('the root binds the size and the chunk size as well as the hashes', () => {
    expect(toHex(packageRoot(blake3, PACKAGE_SIZE + 1, 65536, hashList()))).not.toBe(PACKAGE_ROOT);
    expect(toHex(packageRoot(blake3, PACKAGE_SIZE, 131072, hashList()))).not.toBe(PACKAGE_ROOT);
  });

  const packageManifest = (): PackageManifest => ({ name: 'p.bin', mediaType: 'application/octet-stream', size: PACKAGE_SIZE, chunkSize: 65536, root: fromHex(PACKAGE_ROOT) });

  it('checkHashList accepts the right list and gives the chunks’ names', () => {
    expect(checkHashList(blake3, packageManifest(), hashList())).toEqual({ hashes: CHUNK_HASHES });
  });

  it('checkHashList refuses a list with any one bit flipped', () => {
    const list = hashList();
    for (const bit of [0, 7, 8 * 31 + 7, 8 * 32, 8 * 50 + 3, 8 * 95 + 7]) {
      const flipped = list.slice();
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      expect(checkHashList(blake3, packageManifest(), flipped), `bit ${bit}`).toHaveProperty('problem');
    }
  });

  it('checkHashList refuses a list of the wrong length, before hashing it', () => {
    const list = hashList();
    for (const wrong of [new Uint8Array(0), list.subarray(0, 64), list.subarray(0, 95), new Uint8Array([...list, 0]), new Uint8Array([...list, ...list.subarray(0, 32)])]) {
      expect(checkHashList(blake3, packageManifest(), wrong), `${wrong.length} bytes`).toEqual({ problem: expect.stringContaining(`${wrong.length} bytes for 3 chunks`) });
    }
  });

  it('checkHashList refuses the right list under another manifest’s root, size or chunk size', () => {
    expect(checkHashList(blake3, { ...packageManifest(), root: ROOT }, hashList())).toHaveProperty('problem');
    expect(checkHashList(blake3, { ...packageManifest(), size: PACKAGE_SIZE - 1 }, hashList())).toHaveProperty('problem');
    // Same count of chunks at 128 KiB? No: 2 chunks, so the length is already wrong; 3 chunks at 128 KiB need a larger size.
    expect(checkHashList(blake3, { ...packageManifest(), size: 2 * 131072 + 1000, chunkSize: 131072 }, hashList())).toHaveProperty('problem');
  });

  it('an empty package has no chunks and an empty hash list', () => {
    const root = packageRoot(blake3, 0, 65536, new Uint8Array(0));
    expect(checkHashList(blake3, { ...packageManifest(), size: 0, root }, new Uint8Array(0))).toEqual({ hashes: [] });
  });
});

describe('chunkPackage', () => {
  /** A source over `bytes` that records every read and whether a chunk was still being kept when it came. */
  function recordingSource(bytes: Uint8Array, fields: Partial<PackageSource> = {}) {
    const reads: { offset: number; length: number }[] = [];
    const state = { keeping: false, readWhileKeeping: false };
    const source: PackageSource = {
      name: 'design/p.bin',
      mediaType: 'Application/Octet-Stream; x=1',
      size: bytes.length,
      async read(offset, length) {
        reads.push({ offset, length });
        if (state.keeping) state.readWhileKeeping = true;
        return bytes.slice(offset, offset + length);
      },
      ...fields,
    };
    return { source, reads, state };
  }

  it('reads at most one chunk per call, in order, each byte once, one chunk kept before the next is read; gives packageRoot’s root', async () => {
    const { source, reads, state } = recordingSource(packageBytes);
    const kept: [string, number, number][] = [];
    const progress: number[] = [];
    const result = await chunkPackage(
      blake3,
      source,
      async (hash, bytes, index) => {
        state.keeping = true;
        await new Promise((resolve) => setTimeout(resolve, 1));
        kept.push([hash, bytes.length, index]);
        state.keeping = false;
      },
      (done) => progress.push(done),
      65536,
    );
    expect(reads).toEqual([
      { offset: 0, length: 65536 },
      { offset: 65536, length: 65536 },
      { offset: 131072, length: 1000 },
    ]);
    expect(state.readWhileKeeping).toBe(false);
    expect(kept).toEqual([
      [CHUNK_HASHES[0], 65536, 0],
      [CHUNK_HASHES[1], 65536, 1],
      [CHUNK_HASHES[2], 1000, 2],
    ]);
    expect(progress).toEqual([65536, 131072, PACKAGE_SIZE]);
    expect(result.hashes).toEqual(CHUNK_HASHES);
    expect(toHex(result.hashList)).toBe(CHUNK_HASHES.join(''));
    expect(toHex(result.manifest.root)).toBe(PACKAGE_ROOT);
    expect(toHex(result.manifest.root)).toBe(toHex(packageRoot(blake3, PACKAGE_SIZE, 65536, result.hashList)));
    expect(result.manifest).toMatchObject({ name: 'design/p.bin', mediaType: 'application/octet-stream', size: PACKAGE_SIZE, chunkSize: 65536 });
    expect(checkHashList(blake3, result.manifest, result.hashList)).toEqual({ hashes: CHUNK_HASHES });
  });

  it('at the default chunk size (256 KiB) reads never exceed a chunk', async () => {
    const bytes = new Uint8Array(3 * 262144 + 5).map((_, i) => (i * 7) % 256);
    const { source, reads } = recordingSource(bytes);
    const result = await chunkPackage(blake3, source, async () => {});
    expect(reads.map((r) => r.length)).toEqual([262144, 262144, 262144, 5]);
    expect(result.manifest.chunkSize).toBe(262144);
    expect(decodeManifest(encodeManifest(result.manifest))).toEqual(result.manifest);
  });

  it('an empty source makes an empty package without reading', async () => {
    const { source, reads } = recordingSource(new Uint8Array(0));
    const result = await chunkPackage(blake3, source, async () => {});
    expect(reads).toEqual([]);
    expect(result.hashes).toEqual([]);
    expect(toHex(result.manifest.root)).toBe(toHex(packageRoot(blake3, 0, 262144, new Uint8Array(0))));
  });

  it('a source that changes while read (a short read) fails; a bad name or size fails before reading', async () => {
    const short = recordingSource(packageBytes, { read: async (offset, length) => packageBytes.slice(offset, offset + Math.min(length, 1000)) });
    await expect(chunkPackage(blake3, short.source, async () => {}, undefined, 65536)).rejects.toThrow(/changed while it was read/);
    for (const fields of [{ name: '../escape' }, { size: 2 ** 30 + 1 }, { size: 4097 * 65536 }]) {
      const { source, reads } = recordingSource(packageBytes, fields);
      await expect(chunkPackage(blake3, source, async () => {}, undefined, 65536)).rejects.toThrow(RangeError);
      expect(reads).toEqual([]);
    }
  });
});

describe('file names from a merchant’s files', () => {
  it('become acceptable package names, keeping what can be kept', () => {
    expect(fileNameFrom('Report 10:30.pdf')).toBe('Report 10_30.pdf');
    expect(fileNameFrom('invoice\u202efdp.exe')).toBe('invoice_fdp.exe');
    expect(fileNameFrom('../../etc/passwd')).toBe('etc/passwd');
    expect(fileNameFrom('designs\\part <1>.stl')).toBe('designs/part _1_.stl');
    expect(fileNameFrom('')).toBe('file');
    const long = fileNameFrom('a'.repeat(600) + '.pdf');
    expect(long.endsWith('.pdf') && new TextEncoder().encode(long).length).toBe(512);
    for (const raw of ['a\u0000b', '\ufeffx', 'ü'.repeat(400), 'x/./y//z']) expect(nameProblem(fileNameFrom(raw))).toBeNull();
  });
});

