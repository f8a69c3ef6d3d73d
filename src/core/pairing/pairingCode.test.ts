import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  isPairingCode,
  newPairingCode,
  PAIRING_MESSAGES,
  pairingCodeFromSecret,
  pairingQrText,
  parsePairingCode,
  parsePairingQr,
  type PairingCode,
  type PairingCodeResult,
} from './pairingCode';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function bytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g)!.map((h) => parseInt(h, 16)));
}

function code(result: PairingCodeResult): PairingCode {
  if (!isPairingCode(result)) throw new Error(`expected a code, got: ${result.error}`);
  return result;
}

/** Secrets and their codes; the check characters were computed by a separate implementation (Python). */
const VECTORS: [string, string][] = [
  ['0000000000000000', '0000-0000-0000-0'],
  ['0000000000000001', '0000-0000-0001-2'],
  ['0800000000000000', 'G000-0000-0000-V'],
  ['0fffffffffffffff', 'ZZZZ-ZZZZ-ZZZZ-R'],
  ['0123456789abcdef', '28T5-CY4T-QKFF-4'],
  ['0a5a5a5a5a5a5a5a', 'MPJT-B9D5-MPJT-Y'],
];

describe('pairing code vectors', () => {
  it.each(VECTORS)('secret %s is %s', (hex, text) => {
    expect(pairingCodeFromSecret(bytes(hex)).text).toBe(text);
    const parsed = code(parsePairingCode(text));
    expect(parsed.text).toBe(text);
    expect(parsed.secret).toEqual(bytes(hex));
  });

  it('newPairingCode takes 8 random bytes and clears the top 4 bits', () => {
    const made = newPairingCode((n) => {
      expect(n).toBe(8);
      return bytes('f123456789abcdef');
    });
    expect(made.text).toBe('28T5-CY4T-QKFF-4');
    expect(made.secret).toEqual(bytes('0123456789abcdef'));
    expect(() => newPairingCode(() => new Uint8Array(7))).toThrow(RangeError);
  });

  it('refuses a secret with more than 60 bits or the wrong length', () => {
    expect(() => pairingCodeFromSecret(bytes('1000000000000000'))).toThrow(RangeError);
    expect(() => pairingCodeFromSecret(bytes('00000000000000'))).toThrow(RangeError);
  });

  it('does not keep the caller’s buffer', () => {
    const secret = bytes('0123456789abcdef');
    const made = pairingCodeFromSecret(secret);
    secret[7] = 0;
    expect(made.secret[7]).toBe(0xef);
  });
});

describe('reading a typed code', () => {
  it('ignores case, spaces and hyphens, and reads I and L as 1, O as 0', () => {
    for (const typed of ['28t5cy4tqkff4', ' 28T5 CY4T QKFF 4 ', '28T5–CY4T—QKFF-4', '28t5-cy4t-qkff-4']) {
      expect(code(parsePairingCode(typed)).text).toBe('28T5-CY4T-QKFF-4');
    }
    expect(code(parsePairingCode('oooo-OOOO-oooo-o')).text).toBe('0000-0000-0000-0');
    expect(code(parsePairingCode('0000 0000 000I 2')).text).toBe('0000-0000-0001-2');
    expect(code(parsePairingCode('0000 0000 000l 2')).text).toBe('0000-0000-0001-2');
    expect(code(parsePairingCode('0000 0000 000L 2')).text).toBe('0000-0000-0001-2');
  });

  it('catches every single wrong character in every vector, check character included', () => {
    for (const [, text] of VECTORS) {
      const symbols = text.replaceAll('-', '');
      for (let i = 0; i < symbols.length; i++) {
        for (const other of ALPHABET) {
          if (other === symbols[i]) continue;
          const typo = symbols.slice(0, i) + other + symbols.slice(i + 1);
          expect(parsePairingCode(typo), typo).toEqual({ error: PAIRING_MESSAGES.typo });
        }
      }
    }
  });

  it('catches two neighbouring characters swapped, and two one apart', () => {
    for (const [, text] of VECTORS) {
      const symbols = text.replaceAll('-', '');
      for (const gap of [1, 2]) {
        for (let i = 0; i + gap < symbols.length; i++) {
          if (symbols[i] === symbols[i + gap]) continue;
          const s = [...symbols];
          [s[i], s[i + gap]] = [s[i + gap]!, s[i]!];
          expect(parsePairingCode(s.join('')), s.join('')).toEqual({ error: PAIRING_MESSAGES.typo });
        }
      }
    }
  });

  it('says what is wrong with a code that is not one', () => {
    expect(parsePairingCode('')).toEqual({ error: PAIRING_MESSAGES.empty });
    expect(parsePairingCode(' - ')).toEqual({ error: PAIRING_MESSAGES.empty });
    expect(parsePairingCode('28T5-CY4T-QKFF')).toEqual({
      error: 'That code is too short: a pairing code has 13 letters and digits, this one has 12',
    });
    expect(parsePairingCode('28T5-CY4T-QKFF-44')).toEqual({
      error: 'That code is too long: a pairing code has 13 letters and digits, this one has 14',
    });
    expect(parsePairingCode('28T5-CY4T-QKFU-4')).toEqual({ error: 'Pairing codes have no letter U: check that character' });
    expect(parsePairingCode('28T5.CY4T-QKFF-4')).toEqual({
      error: 'A pairing code has only letters and digits: “.” is not one of them',
    });
    expect(PAIRING_MESSAGES.typo.startsWith('That code has a typo')).toBe(true);
  });
});

describe('round trips', () => {
  it('1000 random codes read back to the same secret and text, typed loosely or from the QR code', () => {
    for (let i = 0; i < 1000; i++) {
      const made = newPairingCode((n) => new Uint8Array(randomBytes(n)));
      expect(made.text).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]$/);
      expect(made.secret[0]! & 0xf0).toBe(0);
      const typed = code(parsePairingCode(made.text.toLowerCase().replaceAll('-', ' ')));
      expect(typed).toEqual(made);
      const scanned = code(parsePairingQr(pairingQrText(made)));
      expect(scanned).toEqual(made);
    }
  });
});

describe('the QR code text', () => {
  const made = pairingCodeFromSecret(bytes('0123456789abcdef'));

  it('is SOUK-PAIR: and the grouped code, all in the alphanumeric mode of QR codes', () => {
    const text = pairingQrText(made);
    expect(text).toBe('SOUK-PAIR:28T5-CY4T-QKFF-4');
    expect(text).toMatch(/^[0-9A-Z $%*+\-./:]+$/);
  });

  it('is told apart from other QR codes and from a damaged Souk one', () => {
    expect(parsePairingQr('https://example.com/')).toEqual({ error: PAIRING_MESSAGES.notSouk });
    expect(parsePairingQr('28T5-CY4T-QKFF-4')).toEqual({ error: PAIRING_MESSAGES.notSouk });
    expect(parsePairingQr('SOUK-PAIR:28T5-CY4T-QKFF-5')).toEqual({ error: PAIRING_MESSAGES.badSouk });
    expect(parsePairingQr('SOUK-PAIR:')).toEqual({ error: PAIRING_MESSAGES.badSouk });
    expect(code(parsePairingQr(' souk-pair:28t5-cy4t-qkff-4\n'))).toEqual(made);
  });
});
