/**
 * The pairing code a merchant carries from one device of their shop to another ("Add a device" on
 * the first, "Join a shop" on the new one), by QR code or typed by hand.
 *
 * A code is a 60-bit secret written as 12 characters of Crockford's base32 (digits and letters
 * without I, L, O and U), most significant first, followed by one check character, and shown in
 * groups: `XXXX-XXXX-XXXX-C`.
 *
 * Reading is forgiving where it cannot be wrong: lower case is upper case, I and L are 1, O is 0,
 * and spaces and hyphens are ignored. U is not a symbol at all.
 *
 * The check character (not Crockford's mod-37 symbol, whose extra symbols `*~$=U` are hard to type
 * on a phone and `~=` are outside the QR code's alphanumeric mode): the 13 symbol values c₀…c₁₂ (the
 * check last) are read as elements of GF(32) = GF(2)[x]/(x⁵ + x² + 1), and a code is valid when
 *
 *     c₀·α¹² ⊕ c₁·α¹¹ ⊕ … ⊕ c₁₁·α¹ ⊕ c₁₂·α⁰ = 0        (α = x, a generator of order 31)
 *
 * so the check is c₁₂ = c₀·α¹² ⊕ … ⊕ c₁₁·α¹. The weights are distinct and non-zero, so every single
 * wrong character is caught, and every swap of two neighbours (weights differ by the factor 1 ⊕ α ≠ 0)
 * or of two characters one apart (1 ⊕ α² ≠ 0) is caught too, the check character included.
 *
 * The QR code carries `SOUK-PAIR:` and the grouped code: all in the QR code's alphanumeric mode
 * (upper-case letters, digits, `-` and `:`), which keeps the symbol small.
 *
 * Platform-free: no DOM, no Node; the caller brings the random bytes.
 */

export interface PairingCode {
  /** The grouped code with its check character, as shown and as put in the QR code: `XXXX-XXXX-XXXX-C`. */
  text: string;
  /** The secret: 8 bytes, big-endian, the top 4 bits zero (60 bits). */
  secret: Uint8Array;
}

export interface PairingCodeProblem {
  /** What to tell the merchant. */
  error: string;
}

export type PairingCodeResult = PairingCode | PairingCodeProblem;

/** What the QR code's text starts with. */
export const PAIRING_QR_PREFIX = 'SOUK-PAIR:';
/** Characters of the secret, and of the whole code with its check character. */
export const PAIRING_SECRET_CHARS = 12;
export const PAIRING_CODE_CHARS = PAIRING_SECRET_CHARS + 1;
export const PAIRING_SECRET_BYTES = 8;

/** Messages the merchant may see; the typo one first of all. */
export const PAIRING_MESSAGES = {
  empty: 'Type the pairing code shown on your other device',
  typo: 'That code has a typo: check it against your other device',
  notSouk: 'That QR code is not a Souk pairing code',
  badSouk: 'That QR code says it is a Souk pairing code, but it cannot be read: show a new code on your other device',
} as const;

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** Symbol value of every character a merchant may type (both cases, and the look-alikes). */
const VALUE = new Map<string, number>();
for (let v = 0; v < ALPHABET.length; v++) {
  const ch = ALPHABET[v]!;
  VALUE.set(ch, v);
  VALUE.set(ch.toLowerCase(), v);
}
for (const ch of 'IiLl') VALUE.set(ch, 1);
for (const ch of 'Oo') VALUE.set(ch, 0);

/** Characters that separate groups and are ignored: whitespace and hyphens (also the typographic ones). */
const SEPARATOR = /[\s\-\u2010-\u2015\u2212]/u;

/** Multiplication in GF(32) with the reduction polynomial x⁵ + x² + 1. */
function gfMul(a: number, b: number): number {
  let product = 0;
  for (let i = 0; i < 5; i++) {
    if (b & (1 << i)) product ^= a;
    a <<= 1;
    if (a & 0x20) a ^= 0x25;
  }
  return product;
}

/** αᵏ for k = 0…12. */
const POWERS: number[] = [1];
for (let k = 1; k < PAIRING_CODE_CHARS; k++) POWERS.push(gfMul(POWERS[k - 1]!, 2));

/** The check symbol for the 12 symbol values of a secret. */
function checkValue(values: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < PAIRING_SECRET_CHARS; i++) sum ^= gfMul(values[i]!, POWERS[PAIRING_SECRET_CHARS - i]!);
  return sum;
}

function group(symbols: string): string {
  return `${symbols.slice(0, 4)}-${symbols.slice(4, 8)}-${symbols.slice(8, 12)}-${symbols.slice(12)}`;
}

function secretToValues(secret: Uint8Array): number[] {
  let n = 0n;
  for (const byte of secret) n = (n << 8n) | BigInt(byte);
  const values: number[] = [];
  for (let i = PAIRING_SECRET_CHARS - 1; i >= 0; i--) values.push(Number((n >> BigInt(5 * i)) & 31n));
  return values;
}

function valuesToSecret(values: readonly number[]): Uint8Array {
  let n = 0n;
  for (const v of values) n = (n << 5n) | BigInt(v);
  const secret = new Uint8Array(PAIRING_SECRET_BYTES);
  for (let i = PAIRING_SECRET_BYTES - 1; i >= 0; i--) {
    secret[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return secret;
}

/** The code for a secret of 8 bytes whose top 4 bits are zero. */
export function pairingCodeFromSecret(secret: Uint8Array): PairingCode {
  if (secret.length !== PAIRING_SECRET_BYTES || (secret[0]! & 0xf0) !== 0) {
    throw new RangeError('A pairing secret is 8 bytes with the top 4 bits zero');
  }
  const values = secretToValues(secret);
  const symbols = [...values, checkValue(values)].map((v) => ALPHABET[v]!).join('');
  return { text: group(symbols), secret: Uint8Array.from(secret) };
}

/** A fresh code: 8 random bytes with the top 4 bits cleared. */
export function newPairingCode(randomBytes: (n: number) => Uint8Array): PairingCode {
  const bytes = randomBytes(PAIRING_SECRET_BYTES);
  if (bytes.length !== PAIRING_SECRET_BYTES) throw new RangeError(`randomBytes gave ${bytes.length} bytes, not ${PAIRING_SECRET_BYTES}`);
  const secret = Uint8Array.from(bytes);
  secret[0] = secret[0]! & 0x0f;
  return pairingCodeFromSecret(secret);
}

export function isPairingCode(result: PairingCodeResult): result is PairingCode {
  return 'secret' in result;
}

/** A code as the merchant typed or pasted it, or what is wrong with it. */
export function parsePairingCode(input: string): PairingCodeResult {
  const values: number[] = [];
  for (const ch of input) {
    if (SEPARATOR.test(ch)) continue;
    const v = VALUE.get(ch);
    if (v === undefined) {
      if (ch === 'U' || ch === 'u') return { error: 'Pairing codes have no letter U: check that character' };
      return { error: `A pairing code has only letters and digits: “${ch}” is not one of them` };
    }
    values.push(v);
  }
  if (values.length === 0) return { error: PAIRING_MESSAGES.empty };
  if (values.length !== PAIRING_CODE_CHARS) {
    const side = values.length < PAIRING_CODE_CHARS ? 'short' : 'long';
    return {
      error: `That code is too ${side}: a pairing code has ${PAIRING_CODE_CHARS} letters and digits, this one has ${values.length}`,
    };
  }
  const secretValues = values.slice(0, PAIRING_SECRET_CHARS);
  if (checkValue(secretValues) !== values[PAIRING_SECRET_CHARS]) return { error: PAIRING_MESSAGES.typo };
  return pairingCodeFromSecret(valuesToSecret(secretValues));
}

/** What the QR code shown by "Add a device" says. */
export function pairingQrText(code: PairingCode): string {
  return PAIRING_QR_PREFIX + code.text;
}

/** The code in a scanned QR code's text, or why it is not one. */
export function parsePairingQr(text: string): PairingCodeResult {
  const trimmed = text.trim();
  if (trimmed.slice(0, PAIRING_QR_PREFIX.length).toUpperCase() !== PAIRING_QR_PREFIX) return { error: PAIRING_MESSAGES.notSouk };
  const code = parsePairingCode(trimmed.slice(PAIRING_QR_PREFIX.length));
  return isPairingCode(code) ? code : { error: PAIRING_MESSAGES.badSouk };
}
