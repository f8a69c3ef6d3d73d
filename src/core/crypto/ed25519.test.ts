import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../wire/hex';
import { generateKeyPair, isAcceptablePublicKey, keyPairFromSecret, sign, verify } from './ed25519';
import { ED25519_VECTORS } from './ed25519Vectors';

// The eight small-order points of edwards25519 in their canonical encodings (the torsion subgroup).
const SMALL_ORDER = [
  '0100000000000000000000000000000000000000000000000000000000000000', // identity
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // order 2
  '0000000000000000000000000000000000000000000000000000000000000000', // order 4
  '0000000000000000000000000000000000000000000000000000000000000080', // order 4, negative zero: also non-canonical
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85', // order 8
];

describe('Ed25519 identities', () => {
  it('RFC 8032 test 1: key, signature and verification by bytes', () => {
    const keys = keyPairFromSecret(fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'));
    expect(toHex(keys.publicKey)).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const signature = sign(new Uint8Array(), keys.secretKey);
    expect(toHex(signature)).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
    expect(verify(signature, new Uint8Array(), keys.publicKey)).toBe(true);
    expect(verify(signature, new Uint8Array([0]), keys.publicKey)).toBe(false);
  });

  it('refuses every small-order key, so nobody can sign for it', () => {
    for (const hex of SMALL_ORDER) {
      expect(isAcceptablePublicKey(fromHex(hex)), hex).toBe(false);
      // A signature (R = identity, S = 0) that verifies under a small-order key in permissive verifiers.
      const forged = new Uint8Array(64);
      forged[0] = 1;
      expect(verify(forged, new TextEncoder().encode('anything'), fromHex(hex)), hex).toBe(false);
    }
  });

  it('refuses non-canonical encodings (y ≥ p) and wrong lengths', () => {
    // y = p (2^255 - 19) encodes the same point as y = 0, non-canonically.
    const yIsP = fromHex('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
    expect(isAcceptablePublicKey(yIsP)).toBe(false);
    expect(isAcceptablePublicKey(new Uint8Array(31))).toBe(false);
    expect(isAcceptablePublicKey(generateKeyPair().publicKey)).toBe(true);
  });

  it('refuses a signature whose S is not reduced (malleability)', () => {
    const keys = generateKeyPair();
    const message = new TextEncoder().encode('souk');
    const signature = sign(message, keys.secretKey);
    // S + L is the same scalar modulo L: permissive verifiers accept it, RFC 8032 does not.
    const L = (1n << 252n) + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(signature[i]!);
    let t = s + L;
    const malleated = signature.slice();
    for (let i = 32; i < 64; i++) {
      malleated[i] = Number(t & 0xffn);
      t >>= 8n;
    }
    expect(verify(signature, message, keys.publicKey)).toBe(true);
    expect(verify(malleated, message, keys.publicKey)).toBe(false);
  });

  it('verifies without the cofactor, as native WebCrypto does: a signature that only holds with it is refused', () => {
    // noble's own strict verify (cofactored) accepts these three; OpenSSL, BoringSSL and Souk refuse them.
    for (const name of ['Taming 4', 'Taming 5', 'Souk: mixed-order R under a prime-order key']) {
      const v = ED25519_VECTORS.find((vector) => vector.name === name)!;
      expect(v.native).toEqual({ nobleStrict: true, openssl: false });
      expect(verify(fromHex(v.signature), fromHex(v.message), fromHex(v.publicKey)), name).toBe(false);
    }
  });
});
