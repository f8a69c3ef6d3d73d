import { createDecipheriv, scryptSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeEach, describe, expect, it, vi } from 'vitest';

// The real scryptAsync, wrapped in a spy, so the tests can prove when key derivation did not run.
vi.mock('@noble/hashes/scrypt.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@noble/hashes/scrypt.js')>();
  return { ...actual, scryptAsync: vi.fn(actual.scryptAsync) };
});

import { scryptAsync } from '@noble/hashes/scrypt.js';
import { fromHex, toHex } from '../wire/hex';
import {
  BackupError,
  type BackupErrorCode,
  DEFAULT_KDF,
  type KdfParams,
  MAX_BACKUP_FILE_BYTES,
  openBackup,
  sealBackup,
} from './backupFile';

const scryptSpy = vi.mocked(scryptAsync);

/** The fastest parameters the bounds allow: tests use the real minimum, there is no bypass. */
const TEST_KDF: KdfParams = { N: 2 ** 14, r: 8, p: 1 };

// The test vector of docs/backup-format.md.
const VECTOR = {
  payload: new TextEncoder().encode('Souk backup test vector: not a real shop.\n'),
  passphrase: 'correct horse battery staple',
  salt: fromHex('000102030405060708090a0b0c0d0e0f'),
  nonce: fromHex('a0a1a2a3a4a5a6a7a8a9aaab'),
  createdAt: 1_700_000_000_000,
  label: 'Test shop',
  file:
    '534f554b4241434b5550010e0801000102030405060708090a0b0c0d0e0fa0a1' +
    'a2a3a4a5a6a7a8a9aaab0000018bcfe5680009546573742073686f700000003a' +
    '3c1f703e2e43d5e67432dfcbb5b45267fac7f59dd14e65ad5836c1701f251e95' +
    '94f5f83008db9288f95e109cd2850aaecf04bc2ec653bd6dc21b',
};
/** Offsets in the vector (label of 9 bytes). */
const V = { version: 10, log2N: 11, r: 12, p: 13, salt: 14, nonce: 30, createdAt: 42, labelLength: 50, label: 51, ciphertextLength: 60, body: 64 };

/** Hands out the given byte strings in order, as the `random` option. */
function fixedRandom(...chunks: Uint8Array[]): (n: number) => Uint8Array {
  return (n) => {
    const chunk = chunks.shift();
    if (!chunk || chunk.length !== n) throw new Error(`unexpected random(${n})`);
    return chunk;
  };
}

function sealVector(): Promise<Uint8Array> {
  return sealBackup(VECTOR.payload, VECTOR.passphrase, {
    random: fixedRandom(VECTOR.salt, VECTOR.nonce),
    kdf: TEST_KDF,
    createdAt: VECTOR.createdAt,
    label: VECTOR.label,
  });
}

/** The code of the BackupError that opening fails with; any other outcome fails the test. */
async function refusal(file: Uint8Array, passphrase: string, what = ''): Promise<BackupErrorCode> {
  let opened: unknown;
  try {
    opened = await openBackup(file, passphrase);
  } catch (error) {
    expect(error, what).toBeInstanceOf(BackupError);
    expect((error as BackupError).message.length, what).toBeGreaterThan(20);
    return (error as BackupError).code;
  }
  throw new Error(`opened although it should not have: ${what} ${JSON.stringify(opened).slice(0, 80)}`);
}

function withByte(file: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = new Uint8Array(file);
  copy[offset] = value;
  return copy;
}

/** The hex in the ```hex block after `<!-- test-vector: name -->` in docs/backup-format.md. */
function docVector(name: string): string {
  const doc = readFileSync(new URL('../../../docs/backup-format.md', import.meta.url), 'utf8');
  const match = new RegExp(`<!-- test-vector: ${name} -->\\s*\`\`\`hex\\n([\\s\\S]*?)\`\`\``).exec(doc);
  if (!match) throw new Error(`no test vector "${name}" in docs/backup-format.md`);
  return match[1]!.replace(/\s+/g, '');
}

/**
 * The vector's file as this code seals it, after checking that it opens unchanged: a tamper test
 * on a file that does not open anyway would pass for the wrong reason.
 */
async function sealedAndOpening(): Promise<Uint8Array> {
  const file = await sealVector();
  expect((await openBackup(file, VECTOR.passphrase)).payload).toEqual(VECTOR.payload);
  scryptSpy.mockClear();
  return file;
}

async function scryptReached(): Promise<never> {
  throw new Error('scrypt reached');
}

beforeEach(() => {
  scryptSpy.mockClear();
});

describe('backup file: round trip', () => {
  it('opens what it sealed, with the default parameters, reporting progress', async () => {
    const payload = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 131 + 7) & 0xff);
    const sealProgress: number[] = [];
    const file = await sealBackup(payload, 'a long enough passphrase', {
      label: 'Épicerie Atlas — كتالوج',
      createdAt: 1_750_000_000_123,
      onProgress: (fraction) => sealProgress.push(fraction),
    });
    expect(file[V.log2N]).toBe(Math.log2(DEFAULT_KDF.N));
    expect(file[V.r]).toBe(DEFAULT_KDF.r);
    expect(file[V.p]).toBe(DEFAULT_KDF.p);
    expect(sealProgress.length).toBeGreaterThan(10);
    expect(sealProgress.at(-1)).toBe(1);
    expect(sealProgress.every((f, i) => f > 0 && f <= 1 && (i === 0 || f >= sealProgress[i - 1]!))).toBe(true);

    const openProgress: number[] = [];
    const opened = await openBackup(file, 'a long enough passphrase', { onProgress: (f) => openProgress.push(f) });
    expect(opened.payload).toEqual(payload);
    expect(opened.createdAt).toBe(1_750_000_000_123);
    expect(opened.label).toBe('Épicerie Atlas — كتالوج');
    expect(openProgress.at(-1)).toBe(1);
  });

  it('round-trips an empty payload and an empty label, and a fresh salt and nonce every time', async () => {
    const a = await sealBackup(new Uint8Array(), 'passphrase ten', { kdf: TEST_KDF, createdAt: 0 });
    const b = await sealBackup(new Uint8Array(), 'passphrase ten', { kdf: TEST_KDF, createdAt: 0 });
    expect(toHex(a.subarray(V.salt, V.createdAt))).not.toBe(toHex(b.subarray(V.salt, V.createdAt)));
    for (const file of [a, b]) {
      const opened = await openBackup(file, 'passphrase ten');
      expect(opened).toEqual({ payload: new Uint8Array(), createdAt: 0, label: '' });
    }
  });

  it('works on a view into a larger buffer and does not depend on the caller keeping it unchanged', async () => {
    const backing = new Uint8Array(VECTOR.payload.length + 20);
    backing.set(VECTOR.payload, 7);
    const view = backing.subarray(7, 7 + VECTOR.payload.length);
    const sealing = sealBackup(view, VECTOR.passphrase, { kdf: TEST_KDF });
    backing.fill(0); // while scrypt runs
    const file = await sealing;

    const framed = new Uint8Array(file.length + 10);
    framed.set(file, 5);
    const opening = openBackup(framed.subarray(5, 5 + file.length), VECTOR.passphrase);
    framed.fill(0); // while scrypt runs
    expect((await opening).payload).toEqual(VECTOR.payload);
  });
});

describe('backup file: the test vector of docs/backup-format.md', () => {
  it('seals to exactly the documented bytes, and opens them', async () => {
    const file = await sealVector();
    expect(toHex(file)).toBe(VECTOR.file);
    expect(docVector('file')).toBe(VECTOR.file);
    const opened = await openBackup(fromHex(VECTOR.file), VECTOR.passphrase);
    expect(opened.payload).toEqual(VECTOR.payload);
    expect(opened.createdAt).toBe(VECTOR.createdAt);
    expect(opened.label).toBe(VECTOR.label);
  });

  it('agrees with an independent implementation (OpenSSL through node:crypto)', () => {
    const file = fromHex(VECTOR.file);
    const key = scryptSync(VECTOR.passphrase.normalize('NFKC'), VECTOR.salt, 32, { N: TEST_KDF.N, r: TEST_KDF.r, p: TEST_KDF.p });
    expect(toHex(key)).toBe(docVector('key'));
    const decipher = createDecipheriv('aes-256-gcm', key, VECTOR.nonce);
    decipher.setAAD(file.subarray(0, V.body));
    decipher.setAuthTag(file.subarray(file.length - 16));
    const payload = Buffer.concat([decipher.update(file.subarray(V.body, file.length - 16)), decipher.final()]);
    expect(new Uint8Array(payload)).toEqual(VECTOR.payload);
    expect(docVector('payload')).toBe(toHex(VECTOR.payload));
  });
});

describe('backup file: refusals', () => {
  it('refuses a wrong passphrase clearly', async () => {
    const file = await sealedAndOpening();
    expect(await refusal(file, 'correct horse battery stapler')).toBe('wrong-passphrase-or-damaged');
    expect(await refusal(file, 'Correct horse battery staple')).toBe('wrong-passphrase-or-damaged');
    expect(await refusal(file, '')).toBe('wrong-passphrase-or-damaged');
  });

  it('refuses the file once any single header byte is changed (the header is authenticated)', async () => {
    const file = await sealedAndOpening();
    const codes: string[] = [];
    for (let offset = 0; offset < V.body; offset++) {
      codes.push(await refusal(withByte(file, offset, file[offset]! ^ 0x01), VECTOR.passphrase, `header byte ${offset}`));
    }
    const at = (from: number, to: number) => [...new Set(codes.slice(from, to))];
    expect(at(0, V.version)).toEqual(['not-a-backup']);
    expect(at(V.version, V.log2N)).toEqual(['unsupported-version']);
    // log2N 14 → 15 and r 8 → 9 are still allowed parameters: only the authentication catches them.
    expect(at(V.log2N, V.p)).toEqual(['wrong-passphrase-or-damaged']);
    expect(at(V.p, V.salt)).toEqual(['unsafe-parameters']); // p 1 → 0
    // Salt and nonce change the key and the counter; createdAt and the label change nothing but
    // the additional authenticated data, so these prove that the header is bound to the payload.
    expect(at(V.salt, V.labelLength)).toEqual(['wrong-passphrase-or-damaged']);
    expect(at(V.label, V.ciphertextLength)).toEqual(['wrong-passphrase-or-damaged']);
    // The lengths no longer add up to the file's length.
    expect(at(V.labelLength, V.label)).toEqual(['wrong-passphrase-or-damaged']);
    expect(at(V.ciphertextLength, V.body)).toEqual(['wrong-passphrase-or-damaged']);
  }, 120_000);

  it('refuses the file once any single ciphertext or tag byte is changed', async () => {
    const file = await sealedAndOpening();
    for (let offset = V.body; offset < file.length; offset++) {
      expect(await refusal(withByte(file, offset, file[offset]! ^ 0x80), VECTOR.passphrase, `body byte ${offset}`)).toBe(
        'wrong-passphrase-or-damaged',
      );
    }
  }, 120_000);

  it('refuses the file cut at every length up to 100 bytes, or with a byte appended, without deriving a key', async () => {
    const file = fromHex(VECTOR.file);
    expect(file.length).toBeGreaterThan(100);
    for (let length = 0; length <= 100; length++) {
      const code = await refusal(file.slice(0, length), VECTOR.passphrase, `first ${length} bytes`);
      expect(code, `first ${length} bytes`).toBe(length === 0 ? 'not-a-backup' : 'wrong-passphrase-or-damaged');
    }
    for (const length of [file.length - 16, file.length - 1]) {
      expect(await refusal(file.slice(0, length), VECTOR.passphrase)).toBe('wrong-passphrase-or-damaged');
    }
    const longer = new Uint8Array(file.length + 1);
    longer.set(file);
    expect(await refusal(longer, VECTOR.passphrase)).toBe('wrong-passphrase-or-damaged');
    expect(scryptSpy).not.toHaveBeenCalled();
  });

  it('refuses unsafe key-derivation parameters before deriving anything', async () => {
    const file = fromHex(VECTOR.file);
    const crafted = (log2N: number, r: number, p: number) => {
      const copy = new Uint8Array(file);
      copy.set([log2N, r, p], V.log2N);
      return copy;
    };
    const unsafe: [number, number, number, string][] = [
      [30, 8, 1, 'N = 2^30: 128 GiB'],
      [255, 8, 1, 'N = 2^255'],
      [21, 8, 1, 'N = 2^21'],
      [13, 8, 1, 'N = 2^13, below the minimum'],
      [0, 8, 1, 'N = 1'],
      [14, 0, 1, 'r = 0'],
      [14, 17, 1, 'r = 17'],
      [14, 255, 255, 'r = p = 255'],
      [14, 8, 0, 'p = 0'],
      [14, 8, 5, 'p = 5'],
      [20, 16, 1, 'N = 2^20, r = 16: 2 GiB although each is within its own bound'],
      [20, 4, 1, 'N = 2^20, r = 4: 512 MiB'],
      [18, 8, 4, 'N·r·p = 2^23: eight times the default work'],
    ];
    const started = performance.now();
    for (const [log2N, r, p, what] of unsafe) {
      expect(await refusal(crafted(log2N, r, p), VECTOR.passphrase, what), what).toBe('unsafe-parameters');
    }
    // Also when the file ends right after the parameters.
    expect(await refusal(crafted(30, 8, 1).slice(0, V.salt), VECTOR.passphrase)).toBe('unsafe-parameters');
    expect(scryptSpy).not.toHaveBeenCalled();
    // One scrypt at the smallest allowed N takes tens of milliseconds; all refusals together take far less.
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('accepts the parameters at the edges of the bounds (checked without running them)', async () => {
    // Sealing checks the same bounds as opening; scryptAsync refuses to run here so nothing big is allocated.
    for (const kdf of [
      { N: 2 ** 20, r: 2, p: 1 },
      { N: 2 ** 19, r: 4, p: 2 },
      { N: 2 ** 14, r: 16, p: 4 },
      { N: 2 ** 17, r: 8, p: 4 },
    ]) {
      scryptSpy.mockImplementationOnce(scryptReached);
      await expect(sealBackup(VECTOR.payload, VECTOR.passphrase, { kdf }), JSON.stringify(kdf)).rejects.toThrow('scrypt reached');
      const file = fromHex(VECTOR.file);
      file.set([Math.log2(kdf.N), kdf.r, kdf.p], V.log2N);
      scryptSpy.mockImplementationOnce(scryptReached);
      await expect(openBackup(file, VECTOR.passphrase), JSON.stringify(kdf)).rejects.toThrow('scrypt reached');
    }
  });

  it('refuses to seal with unsafe parameters', async () => {
    for (const kdf of [
      { N: 2 ** 13, r: 8, p: 1 },
      { N: 100_000, r: 8, p: 1 },
      { N: 2 ** 30, r: 8, p: 1 },
      { N: 2 ** 14, r: 1.5, p: 1 },
      { N: 2 ** 14, r: 8, p: 5 },
      { N: 2 ** 14, r: 8, p: Number.NaN },
      { N: 2 ** 20, r: 8, p: 1 },
    ]) {
      await expect(sealBackup(VECTOR.payload, VECTOR.passphrase, { kdf }), JSON.stringify(kdf)).rejects.toMatchObject({
        name: 'BackupError',
        code: 'unsafe-parameters',
      });
    }
    expect(scryptSpy).not.toHaveBeenCalled();
  });

  it('says what a file is not: not a backup, or a backup from a newer version', async () => {
    const png = fromHex('89504e470d0a1a0a0000000d49484452');
    expect(await refusal(png, VECTOR.passphrase)).toBe('not-a-backup');
    expect(await refusal(new TextEncoder().encode('SOUKBACKUX'), VECTOR.passphrase)).toBe('not-a-backup');
    const file = fromHex(VECTOR.file);
    expect(await refusal(withByte(file, V.version, 2), VECTOR.passphrase)).toBe('unsupported-version');
    expect(await refusal(withByte(file, V.version, 0), VECTOR.passphrase)).toBe('unsupported-version');
    // The version is looked at before the parameters: a future version may define them otherwise.
    expect(await refusal(withByte(withByte(file, V.version, 2), V.log2N, 40), VECTOR.passphrase)).toBe('unsupported-version');
    expect(scryptSpy).not.toHaveBeenCalled();
  });

  it('refuses a file over 64 MiB before looking at it', async () => {
    const huge = new Uint8Array(MAX_BACKUP_FILE_BYTES + 1);
    huge.set(fromHex(VECTOR.file));
    expect(await refusal(huge, VECTOR.passphrase)).toBe('too-large');
    expect(await refusal(new Uint8Array(MAX_BACKUP_FILE_BYTES + 1), VECTOR.passphrase)).toBe('too-large');
    expect(scryptSpy).not.toHaveBeenCalled();
  });

  it('refuses to seal a payload that would make the file over 64 MiB, or a label over 255 bytes', async () => {
    // With an empty label the header is 55 bytes and the tag 16.
    const largest = MAX_BACKUP_FILE_BYTES - 55 - 16;
    await expect(sealBackup(new Uint8Array(largest + 1), VECTOR.passphrase, { kdf: TEST_KDF })).rejects.toMatchObject({
      code: 'too-large',
    });
    expect(scryptSpy).not.toHaveBeenCalled();
    scryptSpy.mockImplementationOnce(scryptReached); // the largest payload passes the size check
    await expect(sealBackup(new Uint8Array(largest), VECTOR.passphrase, { kdf: TEST_KDF })).rejects.toThrow('scrypt reached');
    scryptSpy.mockClear();
    await expect(sealBackup(VECTOR.payload, VECTOR.passphrase, { kdf: TEST_KDF, label: 'é'.repeat(128) })).rejects.toMatchObject({
      code: 'too-large',
    });
    await expect(sealBackup(VECTOR.payload, VECTOR.passphrase, { kdf: TEST_KDF, createdAt: -1 })).rejects.toThrow(RangeError);
    await expect(sealBackup(VECTOR.payload, VECTOR.passphrase, { kdf: TEST_KDF, label: '\ud800' })).rejects.toThrow(TypeError);
    expect(scryptSpy).not.toHaveBeenCalled();
  });

  it('refuses a createdAt beyond 2^53 − 1 in a file before deriving', async () => {
    const file = fromHex(VECTOR.file);
    expect(await refusal(withByte(file, V.createdAt, 0xff), VECTOR.passphrase)).toBe('wrong-passphrase-or-damaged');
    expect(scryptSpy).not.toHaveBeenCalled();
  });
});

describe('backup file: passphrases', () => {
  it('refuses to seal with fewer than 10 characters, counted after NFKC', async () => {
    await expect(sealBackup(VECTOR.payload, 'ninechars', { kdf: TEST_KDF })).rejects.toMatchObject({
      name: 'BackupError',
      code: 'weak-passphrase',
    });
    // Ten UTF-16 units, but nine characters once "e" + combining acute is composed to "é".
    await expect(sealBackup(VECTOR.payload, 'abcdefghe\u0301', { kdf: TEST_KDF })).rejects.toMatchObject({ code: 'weak-passphrase' });
    // Ten characters, five of them outside the BMP (two UTF-16 units each) — enough.
    const file = await sealBackup(VECTOR.payload, 'abcde🐪🐪🐪🐪🐪', { kdf: TEST_KDF });
    expect((await openBackup(file, 'abcde🐪🐪🐪🐪🐪')).payload).toEqual(VECTOR.payload);
  });

  it('opens with the composed or the decomposed form of é, whichever was typed when sealing (NFKC)', async () => {
    const composed = 'caf\u00e9 au lait, sans sucre';
    const decomposed = 'cafe\u0301 au lait, sans sucre';
    expect(composed).not.toBe(decomposed);
    const sealedComposed = await sealBackup(VECTOR.payload, composed, { kdf: TEST_KDF });
    expect((await openBackup(sealedComposed, decomposed)).payload).toEqual(VECTOR.payload);
    const sealedDecomposed = await sealBackup(VECTOR.payload, decomposed, { kdf: TEST_KDF });
    expect((await openBackup(sealedDecomposed, composed)).payload).toEqual(VECTOR.payload);
    // Compatibility forms too: the "ﬁ" ligature and full-width digits.
    const sealedCompat = await sealBackup(VECTOR.payload, 'ﬁgues ２０２５ souk', { kdf: TEST_KDF });
    expect((await openBackup(sealedCompat, 'figues 2025 souk')).payload).toEqual(VECTOR.payload);
  });
});
