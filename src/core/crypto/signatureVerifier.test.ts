import * as ed from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../wire/hex';
import { ED25519_ORDER, generateKeyPair, keyPairFromSecret, sign, verify } from './ed25519';
import { ED25519_VECTORS, type Ed25519Vector } from './ed25519Vectors';
import { createSignatureVerifier, isCanonicalSignature, webCryptoEd25519Usable, type SignedItem } from './signatureVerifier';

const subtle = globalThis.crypto.subtle;
const item = (v: Ed25519Vector): SignedItem => ({ signature: fromHex(v.signature), message: fromHex(v.message), publicKey: fromHex(v.publicKey) });

function numberLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}
function bytesLE(n: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++, n >>= 8n) out[i] = Number(n & 0xffn);
  return out;
}

/** A signature by an honest key whose R carries a small-order component: it holds only with the cofactor. */
function mixedOrderR(secretKey: Uint8Array, message: Uint8Array, torsion: ed.Point): SignedItem {
  const { scalar, pointBytes } = ed.utils.getExtendedPublicKey(secretKey);
  const r = numberLE(sha512(crypto.getRandomValues(new Uint8Array(32)))) % ED25519_ORDER;
  const R = ed.Point.BASE.multiply(r).add(torsion).toBytes();
  const k = numberLE(sha512(new Uint8Array([...R, ...pointBytes, ...message]))) % ED25519_ORDER;
  return { signature: new Uint8Array([...R, ...bytesLE((r + k * scalar) % ED25519_ORDER)]), message, publicKey: pointBytes };
}

async function nativeWebCrypto(v: SignedItem): Promise<boolean> {
  const key = await subtle.importKey('raw', new Uint8Array(v.publicKey), { name: 'Ed25519' }, false, ['verify']);
  return subtle.verify({ name: 'Ed25519' }, key, new Uint8Array(v.signature), new Uint8Array(v.message));
}

describe('Ed25519 vectors: one verdict from every implementation', () => {
  it('detects WebCrypto Ed25519 in Node and trusts it after its self-test', async () => {
    expect(await webCryptoEd25519Usable()).toBe(true);
    expect((await createSignatureVerifier()).kind).toBe('webcrypto');
    expect((await createSignatureVerifier({ backend: 'noble' })).kind).toBe('noble');
  });

  it('sync verify, the noble verifier and the WebCrypto verifier all give Souk’s verdict on every vector', async () => {
    const noble = await createSignatureVerifier({ backend: 'noble' });
    const webcrypto = await createSignatureVerifier({ backend: 'webcrypto' });
    for (const v of ED25519_VECTORS) {
      const { signature, message, publicKey } = item(v);
      expect(verify(signature, message, publicKey), `sync: ${v.name}`).toBe(v.valid);
      expect(await noble.verify(signature, message, publicKey), `noble: ${v.name}`).toBe(v.valid);
      expect(await webcrypto.verify(signature, message, publicKey), `webcrypto: ${v.name}`).toBe(v.valid);
    }
    const expected = ED25519_VECTORS.map((v) => v.valid);
    expect(await noble.verifyMany(ED25519_VECTORS.map(item))).toEqual(expected);
    expect(await webcrypto.verifyMany(ED25519_VECTORS.map(item))).toEqual(expected);
  });

  it('records what each implementation answers natively, where they differ and why', async () => {
    for (const v of ED25519_VECTORS) {
      const { signature, message, publicKey } = item(v);
      expect(ed.verify(signature, message, publicKey, { zip215: false }), `noble strict: ${v.name}`).toBe(v.native.nobleStrict);
      expect(await nativeWebCrypto(item(v)), `WebCrypto (OpenSSL): ${v.name}`).toBe(v.native.openssl);
    }
    const differing = ED25519_VECTORS.filter((v) => v.native.nobleStrict !== v.native.openssl).map((v) => v.name);
    expect(differing).toEqual(['Taming 0', 'Taming 1', 'Taming 4', 'Taming 5', 'Taming 11', 'Souk: mixed-order R under a prime-order key']);
  });

  it('RFC 8032 vectors are reproduced by signing', () => {
    for (const v of ED25519_VECTORS.filter((v) => v.secretKey)) {
      const keys = keyPairFromSecret(fromHex(v.secretKey!));
      expect(toHex(keys.publicKey), v.name).toBe(v.publicKey);
      expect(toHex(sign(fromHex(v.message), keys.secretKey)), v.name).toBe(v.signature);
    }
  });

  it('agrees with itself on random signatures, tamperings and mixed-order R', async () => {
    const noble = await createSignatureVerifier({ backend: 'noble' });
    const webcrypto = await createSignatureVerifier({ backend: 'webcrypto' });
    const torsion = ed.Point.fromBytes(fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a'));
    const items: SignedItem[] = [];
    const expected: boolean[] = [];
    for (let i = 0; i < 40; i++) {
      const keys = generateKeyPair();
      const message = crypto.getRandomValues(new Uint8Array(i * 7));
      const signature = sign(message, keys.secretKey);
      items.push({ signature, message, publicKey: keys.publicKey });
      expected.push(true);
      for (const part of ['signature', 'message', 'publicKey'] as const) {
        const tampered = { signature, message, publicKey: keys.publicKey };
        const bytes = tampered[part].slice();
        if (bytes.length === 0) continue;
        const bit = i * 37 + (part === 'signature' ? 0 : 5);
        bytes[Math.floor(bit / 8) % bytes.length]! ^= 1 << (bit % 8);
        items.push({ ...tampered, [part]: bytes });
        expected.push(false);
      }
      const mixed = mixedOrderR(keys.secretKey, message, torsion.multiply(BigInt(1 + (i % 7))));
      expect(ed.verify(mixed.signature, mixed.message, mixed.publicKey, { zip215: false })).toBe(true); // cofactored: holds
      items.push(mixed);
      expected.push(false);
    }
    const sync = items.map((x) => verify(x.signature, x.message, x.publicKey));
    expect(sync).toEqual(expected);
    expect(await noble.verifyMany(items)).toEqual(expected);
    expect(await webcrypto.verifyMany(items)).toEqual(expected);
    expect(await Promise.all(items.map(nativeWebCrypto))).toEqual(expected);
  });

  it('never throws on malformed input', async () => {
    const keys = generateKeyPair();
    const good = sign(new Uint8Array([1]), keys.secretKey);
    const bad: unknown[][] = [
      [undefined, new Uint8Array([1]), keys.publicKey],
      [good, undefined, keys.publicKey],
      [good, new Uint8Array([1]), undefined],
      ['not bytes', new Uint8Array([1]), keys.publicKey],
      [good.subarray(0, 63), new Uint8Array([1]), keys.publicKey],
      [new Uint8Array([...good, 0]), new Uint8Array([1]), keys.publicKey],
      [good, new Uint8Array([1]), keys.publicKey.subarray(0, 31)],
      [good, [1], keys.publicKey],
      [new Uint8Array(64).fill(0xff), new Uint8Array([1]), keys.publicKey],
      [good, new Uint8Array([1]), new Uint8Array(32).fill(0xff)],
    ];
    for (const backend of ['noble', 'webcrypto'] as const) {
      const verifier = await createSignatureVerifier({ backend });
      for (const args of bad) {
        expect(verify(...(args as [Uint8Array, Uint8Array, Uint8Array]))).toBe(false);
        expect(await verifier.verify(...(args as [Uint8Array, Uint8Array, Uint8Array])), `${backend} ${String(args[0])}`).toBe(false);
      }
      const items = [null, {}, { signature: good, message: new Uint8Array([1]), publicKey: keys.publicKey }] as unknown as SignedItem[];
      expect(await verifier.verifyMany(items)).toEqual([false, false, true]);
      expect(await verifier.verifyMany([])).toEqual([]);
    }
  });

  it('refuses non-canonical signatures by their bytes alone', () => {
    const rfc1 = ED25519_VECTORS[0]!;
    expect(isCanonicalSignature(fromHex(rfc1.signature))).toBe(true);
    for (const name of ['Taming 6', 'Taming 7', 'Taming 8', 'Taming 9', 'Souk: RFC 8032 test 1 with S + L', 'Souk: RFC 8032 test 1 with R encoded as y = p']) {
      expect(isCanonicalSignature(fromHex(ED25519_VECTORS.find((v) => v.name === name)!.signature)), name).toBe(false);
    }
    const s = fromHex(rfc1.signature).subarray(32);
    const withR = (r: string) => new Uint8Array([...fromHex(r), ...s]);
    expect(isCanonicalSignature(withR('0100000000000000000000000000000000000000000000000000000000000080'))).toBe(false); // identity, negative zero
    expect(isCanonicalSignature(withR('0100000000000000000000000000000000000000000000000000000000000000'))).toBe(true); // identity
    expect(isCanonicalSignature(withR('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'))).toBe(true); // y = p − 1
    expect(isCanonicalSignature(withR('eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff'))).toBe(false); // y = p + 1
  });
});

/** A SubtleCrypto that forwards to the real one, counting imports; `broken` makes verify throw. */
function spySubtle() {
  const spy = { imports: 0, broken: false };
  const fake = {
    importKey: (...args: Parameters<SubtleCrypto['importKey']>) => {
      spy.imports++;
      return (subtle.importKey as (...a: unknown[]) => Promise<CryptoKey>)(...args);
    },
    verify: (...args: Parameters<SubtleCrypto['verify']>) => {
      if (spy.broken) return Promise.reject(new Error('broken'));
      return subtle.verify(...args);
    },
  } as unknown as SubtleCrypto;
  return { spy, fake };
}

describe('WebCrypto detection, fallback and key cache', () => {
  it('falls back to noble when WebCrypto lacks Ed25519 or answers with the cofactor', async () => {
    const missing = { importKey: () => Promise.reject(new Error('NotSupportedError')) } as unknown as SubtleCrypto;
    expect((await createSignatureVerifier({ subtle: missing })).kind).toBe('noble');
    await expect(createSignatureVerifier({ subtle: missing, backend: 'webcrypto' })).rejects.toThrow();
    // A platform whose Ed25519 verifies with the cofactor (noble's strict mode) would disagree: not trusted.
    const cofactored = {
      importKey: async (_format: string, key: Uint8Array) => ({ key }),
      verify: async (_algorithm: unknown, key: { key: Uint8Array }, signature: Uint8Array, message: Uint8Array) =>
        ed.verify(signature, message, key.key, { zip215: false }),
    } as unknown as SubtleCrypto;
    expect(await webCryptoEd25519Usable(cofactored)).toBe(false);
    const verifier = await createSignatureVerifier({ subtle: cofactored });
    expect(verifier.kind).toBe('noble');
    for (const v of ED25519_VECTORS) expect(await verifier.verify(item(v).signature, item(v).message, item(v).publicKey), v.name).toBe(v.valid);
  });

  it('imports each key once and keeps at most keyCacheSize of them', async () => {
    const { spy, fake } = spySubtle();
    const verifier = await createSignatureVerifier({ subtle: fake, keyCacheSize: 2 });
    expect(verifier.kind).toBe('webcrypto');
    const keys = [generateKeyPair(), generateKeyPair(), generateKeyPair()];
    const signed = keys.map((k) => ({ signature: sign(new Uint8Array([7]), k.secretKey), message: new Uint8Array([7]), publicKey: k.publicKey }));
    const afterSelfTest = spy.imports;
    expect(await verifier.verifyMany([signed[0]!, signed[0]!, signed[0]!, signed[1]!, signed[1]!])).toEqual([true, true, true, true, true]);
    expect(spy.imports - afterSelfTest).toBe(2);
    await verifier.verify(signed[0]!.signature, signed[0]!.message, signed[0]!.publicKey); // 0 most recent: 1 goes next
    await verifier.verify(signed[2]!.signature, signed[2]!.message, signed[2]!.publicKey);
    expect(spy.imports - afterSelfTest).toBe(3);
    await verifier.verify(signed[0]!.signature, signed[0]!.message, signed[0]!.publicKey);
    expect(spy.imports - afterSelfTest).toBe(3);
    await verifier.verify(signed[1]!.signature, signed[1]!.message, signed[1]!.publicKey);
    expect(spy.imports - afterSelfTest).toBe(4);
    // An unacceptable key is never imported.
    const smallOrder = fromHex('0100000000000000000000000000000000000000000000000000000000000000');
    expect(await verifier.verify(new Uint8Array(64), new Uint8Array(), smallOrder)).toBe(false);
    expect(spy.imports - afterSelfTest).toBe(4);
  });

  it('answers with noble when WebCrypto fails on a well-formed input', async () => {
    const { spy, fake } = spySubtle();
    const verifier = await createSignatureVerifier({ subtle: fake });
    spy.broken = true;
    for (const v of ED25519_VECTORS) expect(await verifier.verify(item(v).signature, item(v).message, item(v).publicKey), v.name).toBe(v.valid);
  });
});
