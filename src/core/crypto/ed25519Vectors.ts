/**
 * Ed25519 verification vectors with Souk's verdict (`valid`) and what each underlying
 * implementation answers on its own (`native`):
 * - `nobleStrict`: @noble/ed25519 3.2 `verify(…, { zip215: false })`, the cofactored equation
 *   [8][S]B = [8]R + [8][k]A with strict decoding and small-order keys refused.
 * - `openssl`: WebCrypto Ed25519 in Node 20 (OpenSSL 3), the cofactorless equation, R compared
 *   byte for byte with the canonical encoding of [S]B − [k]A, S < L, no key checks. BoringSSL
 *   (Chromium) and CryptoKit (Safari) gave the same answers in the Taming study, bar vector 11's
 *   non-canonical key, which Souk refuses before any implementation sees it.
 *
 * Souk's rule (ed25519.ts verify, signatureVerifier.ts): the key is acceptable (canonical, not of
 * small order), S < L, R canonical, and the cofactorless equation holds.
 *
 * Sources: RFC 8032 §7.1 tests 1–3 and 1024; "Taming the many EdDSAs" (Chalkias, Garillot,
 * Nikolaenko, SSR 2020) vectors 0–11 (github.com/novifinancial/ed25519-speccheck cases.txt);
 * Souk's own, built for this file (see each note).
 */
export interface Ed25519Vector {
  name: string;
  /** Hex. */
  publicKey: string;
  /** Hex. */
  message: string;
  /** Hex, R ‖ S. */
  signature: string;
  /** Hex RFC 8032 secret key (seed), when the signature is the deterministic signature under it. */
  secretKey?: string;
  /** Souk's verdict. */
  valid: boolean;
  native: { nobleStrict: boolean; openssl: boolean };
  note: string;
}

const RFC_1024_MESSAGE =
  '08b8b2b733424243760fe426a4b54908632110a66c2f6591eabd3345e3e4eb98' +
  'fa6e264bf09efe12ee50f8f54e9f77b1e355f6c50544e23fb1433ddf73be84d8' +
  '79de7c0046dc4996d9e773f4bc9efe5738829adb26c81b37c93a1b270b20329d' +
  '658675fc6ea534e0810a4432826bf58c941efb65d57a338bbd2e26640f89ffbc' +
  '1a858efcb8550ee3a5e1998bd177e93a7363c344fe6b199ee5d02e82d522c4fe' +
  'ba15452f80288a821a579116ec6dad2b3b310da903401aa62100ab5d1a36553e' +
  '06203b33890cc9b832f79ef80560ccb9a39ce767967ed628c6ad573cb116dbef' +
  'fefd75499da96bd68a8a97b928a8bbc103b6621fcde2beca1231d206be6cd9ec' +
  '7aff6f6c94fcd7204ed3455c68c83f4a41da4af2b74ef5c53f1d8ac70bdcb7ed' +
  '185ce81bd84359d44254d95629e9855a94a7c1958d1f8ada5d0532ed8a5aa3fb' +
  '2d17ba70eb6248e594e1a2297acbbb39d502f1a8c6eb6f1ce22b3de1a1f40cc2' +
  '4554119a831a9aad6079cad88425de6bde1a9187ebb6092cf67bf2b13fd65f27' +
  '088d78b7e883c8759d2c4f5c65adb7553878ad575f9fad878e80a0c9ba63bcbc' +
  'c2732e69485bbc9c90bfbd62481d9089beccf80cfe2df16a2cf65bd92dd597b0' +
  '7e0917af48bbb75fed413d238f5555a7a569d80c3414a8d0859dc65a46128bab' +
  '27af87a71314f318c782b23ebfe808b82b0ce26401d2e22f04d83d1255dc51ad' +
  'dd3b75a2b1ae0784504df543af8969be3ea7082ff7fc9888c144da2af58429ec' +
  '96031dbcad3dad9af0dcbaaaf268cb8fcffead94f3c7ca495e056a9b47acdb75' +
  '1fb73e666c6c655ade8297297d07ad1ba5e43f1bca32301651339e22904cc8c4' +
  '2f58c30c04aafdb038dda0847dd988dcda6f3bfd15c4b4c4525004aa06eeff8c' +
  'a61783aacec57fb3d1f92b0fe2fd1a85f6724517b65e614ad6808d6f6ee34dff' +
  '7310fdc82aebfd904b01e1dc54b2927094b2db68d6f903b68401adebf5a7e08d' +
  '78ff4ef5d63653a65040cf9bfd4aca7984a74d37145986780fc0b16ac451649d' +
  'e6188a7dbdf191f64b5fc5e2ab47b57f7f7276cd419c17a3ca8e1b939ae49e48' +
  '8acba6b965610b5480109c8b17b80e1b7b750dfc7598d5d5011fd2dcc5600a32' +
  'ef5b52a1ecc820e308aa342721aac0943bf6686b64b2579376504ccc493d97e6' +
  'aed3fb0f9cd71a43dd497f01f17c0e2cb3797aa2a2f256656168e6c496afc5fb' +
  '93246f6b1116398a346f1a641f3b041e989f7914f90cc2c7fff357876e506b50' +
  'd334ba77c225bc307ba537152f3f1610e4eafe595f6d9d90d11faa933a15ef13' +
  '69546868a7f3a45a96768d40fd9d03412c091c6315cf4fde7cb68606937380db' +
  '2eaaa707b4c4185c32eddcdd306705e4dc1ffc872eeee475a64dfac86aba41c0' +
  '618983f8741c5ef68d3a101e8a3b8cac60c905c15fc910840b94c00a0b9d00';

const RFC_1 = {
  secretKey: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
  publicKey: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
  signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
};

const both = (value: boolean) => ({ nobleStrict: value, openssl: value });

export const RFC8032_VECTORS: readonly Ed25519Vector[] = [
  { name: 'RFC 8032 test 1', ...RFC_1, message: '', valid: true, native: both(true), note: 'empty message' },
  {
    name: 'RFC 8032 test 2',
    secretKey: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    publicKey: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    message: '72',
    signature: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
    valid: true,
    native: both(true),
    note: 'one-byte message',
  },
  {
    name: 'RFC 8032 test 3',
    secretKey: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    publicKey: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    message: 'af82',
    signature: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
    valid: true,
    native: both(true),
    note: 'two-byte message',
  },
  {
    name: 'RFC 8032 test 1024',
    secretKey: 'f5e5767cf153319517630f226876b86c8160cc583bc013744c6bf255f5cc0ee5',
    publicKey: '278117fc144c72340f67d0f2316e8386ceffbf2b2428c9c51fef7c597f1d426e',
    message: RFC_1024_MESSAGE,
    signature: 'd686294b743c6760c6a78a2c4c2fc76115c2600b8f083acde59e7cee32578c0f59ea4219ab9b5896795e4e2b87a30270aa0e3099eee944e9e67a1b22df41ff07',
    valid: true,
    native: both(true),
    note: '1023-byte message',
  },
];

const ORDER_8_KEY = 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa';
const MIXED_KEY = 'cdb267ce40c5cd45306fa5d2f29731459387dbf9eb933b7bd5aed9a765b88d4d';
const PRIME_KEY = 'f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43';
const PRIME_KEY_2 = '442aad9f089ad9e14647b1ef9099a1ff4798d78589e66f28eca69c11f582a623';
const NEGATIVE_ZERO_KEY = 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff';

export const TAMING_VECTORS: readonly Ed25519Vector[] = [
  {
    name: 'Taming 0',
    publicKey: ORDER_8_KEY,
    message: '8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6',
    signature: 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a0000000000000000000000000000000000000000000000000000000000000000',
    valid: false,
    native: { nobleStrict: false, openssl: true },
    note: 'S = 0, small-order A and R: anyone can "sign" for a small-order key. Refused up front: key not acceptable',
  },
  {
    name: 'Taming 1',
    publicKey: ORDER_8_KEY,
    message: '9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79',
    signature: 'f7badec5b8abeaf699583992219b7b223f1df3fbbea919844e3f7c554a43dd43a5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04',
    valid: false,
    native: { nobleStrict: false, openssl: true },
    note: '0 < S < L, small-order A, mixed-order R. Refused up front: key not acceptable',
  },
  {
    name: 'Taming 2',
    publicKey: PRIME_KEY,
    message: 'aebf3f2601a0c8c5d39cc7d8911642f740b78168218da8471772b35f9d35b9ab',
    signature: 'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa8c4bd45aecaca5b24fb97bc10ac27ac8751a7dfe1baff8b953ec9f5833ca260e',
    valid: true,
    native: both(true),
    note: '0 < S < L, mixed-order A, small-order R: holds with and without the cofactor; Souk allows a small-order R',
  },
  {
    name: 'Taming 3',
    publicKey: MIXED_KEY,
    message: '9bd9f44f4dcc75bd531b56b2cd280b0bb38fc1cd6d1230e14861d861de092e79',
    signature: '9046a64750444938de19f227bb80485e92b83fdb4b6506c160484c016cc1852f87909e14428a7a1d62e9f22f3d3ad7802db02eb2e688b6c52fcd6648a98bd009',
    valid: true,
    native: both(true),
    note: '0 < S < L, mixed-order A and R: holds with and without the cofactor',
  },
  {
    name: 'Taming 4',
    publicKey: MIXED_KEY,
    message: 'e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c',
    signature: '160a1cb0dc9c0258cd0a7d23e94d8fa878bcb1925f2c64246b2dee1796bed5125ec6bc982a269b723e0668e540911a9a6a58921d6925e434ab10aa7940551a09',
    valid: false,
    native: { nobleStrict: true, openssl: false },
    note: '0 < S < L, mixed-order A and R: holds only with the cofactor. Souk verifies cofactorless',
  },
  {
    name: 'Taming 5',
    publicKey: MIXED_KEY,
    message: 'e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec4011eaccd55b53f56c',
    signature: '21122a84e0b5fca4052f5b1235c80a537878b38f3142356b2c2384ebad4668b7e40bc836dac0f71076f9abe3a53f9c03c1ceeeddb658d0030494ace586687405',
    valid: false,
    native: { nobleStrict: true, openssl: false },
    note: 'mixed-order A, prime-order R: holds only with the cofactor (and only if k is not pre-reduced by 8). Souk verifies cofactorless',
  },
  {
    name: 'Taming 6',
    publicKey: PRIME_KEY_2,
    message: '85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40',
    signature: 'e96f66be976d82e60150baecff9906684aebb1ef181f67a7189ac78ea23b6c0e547f7690a0e2ddcd04d87dbc3490dc19b3b3052f7ff0538cb68afb369ba3a514',
    valid: false,
    native: both(false),
    note: 'S > L (S − L would verify): malleable. Refused up front: S ≥ L',
  },
  {
    name: 'Taming 7',
    publicKey: PRIME_KEY_2,
    message: '85e241a07d148b41e47d62c63f830dc7a6851a0b1f33ae4bb2f507fb6cffec40',
    signature: '8ce5b96c8f26d0ab6c47958c9e68b937104cd36e13c33566acd2fe8d38aa19427e71f98a473474f2f13f06f97c20d58cc3f54b8bd0d272f42b695dd7e89a8c22',
    valid: false,
    native: both(false),
    note: 'S ≫ L (S mod L would verify). Refused up front: S ≥ L',
  },
  {
    name: 'Taming 8',
    publicKey: PRIME_KEY,
    message: '9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41',
    signature: 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff03be9678ac102edcd92b0210bb34d7428d12ffc5df5f37e359941266a4e35f0f',
    valid: false,
    native: both(false),
    note: 'non-canonical R (x = 0 with the sign bit set; order 2). Refused up front: R not canonical',
  },
  {
    name: 'Taming 9',
    publicKey: PRIME_KEY,
    message: '9bedc267423725d473888631ebf45988bad3db83851ee85c85e241a07d148b41',
    signature: 'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffca8c5b64cd208982aa38d4936621a4775aa233aa0505711d8fdcfdaa943d4908',
    valid: false,
    native: both(false),
    note: 'non-canonical R, would verify if R were reduced before hashing. Refused up front: R not canonical',
  },
  {
    name: 'Taming 10',
    publicKey: NEGATIVE_ZERO_KEY,
    message: 'e96b7021eb39c1a163b6da4e3093dcd3f21387da4cc4572be588fafae23c155b',
    signature: 'a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dca5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04',
    valid: false,
    native: both(false),
    note: 'non-canonical, small-order A, would verify if A were reduced before hashing. Refused up front: key not acceptable',
  },
  {
    name: 'Taming 11',
    publicKey: NEGATIVE_ZERO_KEY,
    message: '39a591f5321bbe07fd5a23dc2f39d025d74526615746727ceefd6e82ae65c06f',
    signature: 'a9d55260f765261eb9b84e106f665e00b867287a761990d7135963ee0a7d59dca5bb704786be79fc476f91d3f3f89b03984d8068dcf1bb7dfc6637b45450ac04',
    valid: false,
    native: { nobleStrict: false, openssl: true },
    note: 'non-canonical, small-order A, verifies as given. Refused up front: key not acceptable',
  },
];

export const SOUK_VECTORS: readonly Ed25519Vector[] = [
  {
    name: 'Souk: mixed-order R under a prime-order key',
    publicKey: RFC_1.publicKey,
    message: '536f756b3a206d697865642d6f72646572205220756e6465722061207072696d652d6f72646572206b6579',
    signature: '06a4c297495863c223e5ea2929186053d0801aa8ea440bc7fd86304b31660dee9524b89b720d74ae74bfa5b0d66a76bf0cbaa2fd97b41fa716438345eacf490a',
    valid: false,
    native: { nobleStrict: true, openssl: false },
    note:
      "RFC 8032 test 1's honest key; R = rB + T (T of order 8), S = r + k·a. Holds only with the cofactor: no check on the key " +
      'can catch it, so Souk verifies cofactorless in every implementation',
  },
  {
    name: 'Souk: RFC 8032 test 1 with S + L',
    publicKey: RFC_1.publicKey,
    message: '',
    signature: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901554c8c7872aa064e049dbb3013fbf29380d25bf5f0595bbe24655141438e7a101b',
    valid: false,
    native: both(false),
    note: 'the same scalar modulo L: malleable. Refused up front: S ≥ L',
  },
  {
    name: 'Souk: RFC 8032 test 1 with R encoded as y = p',
    publicKey: RFC_1.publicKey,
    message: '',
    signature: 'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    valid: false,
    native: both(false),
    note: 'non-canonical R (y ≥ p). Refused up front: R not canonical',
  },
  {
    name: 'Souk: RFC 8032 test 1 on another message',
    publicKey: RFC_1.publicKey,
    message: '00',
    signature: RFC_1.signature,
    valid: false,
    native: both(false),
    note: 'an ordinary bad signature',
  },
  {
    name: 'Souk: RFC 8032 test 1 under the identity as key',
    publicKey: '0100000000000000000000000000000000000000000000000000000000000000',
    message: '',
    signature: RFC_1.signature,
    valid: false,
    native: both(false),
    note: 'small-order key. Refused up front: key not acceptable',
  },
];

export const ED25519_VECTORS: readonly Ed25519Vector[] = [...RFC8032_VECTORS, ...TAMING_VECTORS, ...SOUK_VECTORS];
