import { describe, expect, it } from 'vitest';
import { CURRENCIES, currencyMinorUnits, formatAmount, isCurrencyCode, parseAmount, plainAmount, readAmount } from './currency';
import { MAX_MINOR_UNITS } from '../vault/vaultLimits';

describe('ISO 4217 currencies', () => {
  it('knows the minor units of the currencies shops price in', () => {
    expect(Object.fromEntries(['JPY', 'KRW', 'XOF', 'USD', 'EUR', 'KES', 'KWD', 'BHD', 'TND', 'IQD', 'CLF'].map((c) => [c, currencyMinorUnits(c)]))).toEqual({
      JPY: 0, KRW: 0, XOF: 0, USD: 2, EUR: 2, KES: 2, KWD: 3, BHD: 3, TND: 3, IQD: 3, CLF: 4,
    });
    expect(CURRENCIES.KES!.name).toBe('Kenyan Shilling');
  });

  it('lists only active codes, every one a currency Intl can format', () => {
    expect(Object.keys(CURRENCIES).length).toBeGreaterThan(150);
    for (const code of Object.keys(CURRENCIES)) {
      expect(code).toMatch(/^[A-Z]{3}$/);
      expect(() => formatAmount(1, code, 'en')).not.toThrow();
    }
    for (const gone of ['HRK', 'CUC', 'ZWL', 'XAU', 'XXX', 'usd']) expect(isCurrencyCode(gone)).toBe(false);
    expect(() => currencyMinorUnits('ABC')).toThrow('"ABC" is not an ISO 4217 currency code');
  });
});

describe('formatting amounts', () => {
  it('writes minor units with the currency’s decimals in the merchant’s language', () => {
    expect(formatAmount(123456, 'EUR', 'de-DE')).toBe('1.234,56\u00a0€');
    expect(formatAmount(123456, 'USD', 'en-US')).toBe('$1,234.56');
    expect(formatAmount(1234, 'JPY', 'en-US')).toBe('¥1,234');
    expect(formatAmount(1500, 'KWD', 'en-US')).toBe('KWD\u00a01.500');
  });

  it('writes plain amounts for files', () => {
    expect([plainAmount(150, 'USD'), plainAmount(5, 'USD'), plainAmount(5, 'JPY'), plainAmount(1500, 'KWD'), plainAmount(150, 'EUR', ',')]).toEqual(['1.50', '0.05', '5', '1.500', '1,50']);
  });
});

describe('reading typed amounts', () => {
  it('reads the locale’s decimal and group separators', () => {
    expect(parseAmount('1.234,56', 'EUR', 'de-DE')).toBe(123456);
    expect(parseAmount('1234,5', 'EUR', 'de-DE')).toBe(123450);
    expect(parseAmount('1,234.56', 'USD', 'en-US')).toBe(123456);
    expect(parseAmount('12', 'USD', 'en-US')).toBe(1200);
    expect(parseAmount('1\u202f234,56', 'EUR', 'fr-FR')).toBe(123456);
    expect(parseAmount('1\u00a0234,56', 'EUR', 'fr-FR')).toBe(123456);
    expect(parseAmount('1 234,56', 'EUR', 'fr-FR')).toBe(123456);
    expect(parseAmount('12,34,567.50', 'INR', 'en-IN')).toBe(123456750);
    expect(parseAmount("1'234.50", 'CHF', 'de-CH')).toBe(123450);
  });

  it('uses the currency’s minor units', () => {
    expect(parseAmount('1,234', 'JPY', 'en-US')).toBe(1234);
    expect(parseAmount('1.5', 'KWD', 'en-US')).toBe(1500);
    expect(parseAmount('1.234', 'KWD', 'en-US')).toBe(1234);
    expect(parseAmount('0.05', 'USD', 'en-US')).toBe(5);
  });

  it('refuses more decimals than the currency has', () => {
    expect(() => parseAmount('1.234', 'EUR', 'en-US')).toThrow('Amount "1.234" has 3 decimals, but EUR has 2');
    expect(() => parseAmount('5.5', 'JPY', 'en-US')).toThrow('Amount "5.5" has decimals, but JPY has none');
    expect(() => parseAmount('1,2345', 'KWD', 'de-DE')).toThrow('has 4 decimals, but KWD has 3');
  });

  it('refuses empty, negative, misplaced groups, letters and amounts over the limit', () => {
    expect(() => parseAmount('  ', 'EUR', 'de-DE', 'Price')).toThrow('Price is required');
    expect(() => parseAmount('-1,00', 'EUR', 'de-DE')).toThrow('is negative');
    expect(() => parseAmount('12.34,5', 'EUR', 'de-DE')).toThrow('thousands separators in the wrong places');
    expect(() => parseAmount('1,23', 'USD', 'en-US')).toThrow('thousands separators in the wrong places');
    expect(() => parseAmount('1.2.3', 'USD', 'en-US')).toThrow('is not an amount like 12.50');
    expect(() => parseAmount('12 USD', 'USD', 'en-US')).toThrow('is not an amount');
    expect(() => parseAmount('1e3', 'USD', 'en-US')).toThrow('is not an amount');
    expect(parseAmount('10000000000.00', 'USD', 'en-US')).toBe(MAX_MINOR_UNITS);
    expect(() => parseAmount('10000000000.01', 'USD', 'en-US')).toThrow('is more than the largest amount, 10000000000.00');
    expect(() => parseAmount('99999999999999999999', 'JPY', 'en-US')).toThrow('is more than the largest amount');
  });

  it('accepts Arabic-Indic digits with the locale’s own separators (ar-EG, fa-IR)', () => {
    expect(parseAmount('١٬٢٣٤٫٥٦', 'EGP', 'ar-EG')).toBe(123456);
    expect(parseAmount('\u200f١٢٫٥٠', 'EGP', 'ar-EG')).toBe(1250);
    expect(parseAmount('۱۲۳', 'IRR', 'fa-IR')).toBe(12300);
    expect(() => parseAmount('١٫٢٣٤', 'EGP', 'ar-EG')).toThrow('has 3 decimals, but EGP has 2');
  });

  it('reads what a file writes: one fixed decimal separator and no groups', () => {
    const file = { decimal: ',', groups: [] };
    expect(readAmount('1,50', 'EUR', file, 'Price')).toBe(150);
    expect(() => readAmount('1.234,50', 'EUR', file, 'Price')).toThrow('Price "1.234,50" is not an amount like 12,50');
  });
});
