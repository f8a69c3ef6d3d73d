import { CURRENCIES, currencyMinorUnits, formatAmount, isCurrencyCode, localeNotation, plainAmount } from '../core/catalog/currency';

/** The merchant's language, as the browser reports it (amounts are shown and typed in it). */
export function userLocale(): string | undefined {
  return typeof navigator === 'undefined' ? undefined : navigator.language || undefined;
}

/**
 * An amount in minor units as money in the merchant's language, with the currency's own decimals:
 * 1250 USD "$12.50", 1250 JPY "¥1,250", 1250 KWD "KWD 1.250". A code that is not ISO 4217 (a
 * peer's bad offer) shows the bare figure with the code rather than a guess.
 */
export function money(minorUnits: number, currency: string): string {
  if (!isCurrencyCode(currency) || !Number.isSafeInteger(minorUnits)) return `${minorUnits} ${currency || '(no currency)'} minor units`;
  try {
    return formatAmount(minorUnits, currency, userLocale());
  } catch {
    return `${plainAmount(minorUnits, currency)} ${currency}`;
  }
}

/** The decimal separator the merchant types ("," in de-DE, "." in en-US). */
export function decimalSeparator(): string {
  try {
    return localeNotation(userLocale()).decimal;
  } catch {
    return '.';
  }
}

/** An amount as the text an amount field starts with: no grouping, the locale's separator ("12,50" in de-DE). */
export function amountInput(minorUnits: number | null | undefined, currency: string): string {
  if (minorUnits == null || !isCurrencyCode(currency)) return '';
  return plainAmount(minorUnits, currency, decimalSeparator());
}

/** "KWD — Kuwaiti Dinar". */
export function currencyName(code: string): string {
  return isCurrencyCode(code) ? `${code} — ${CURRENCIES[code]!.name}` : code;
}

/** How amounts in `code` are typed here: "In JPY, whole amounts (no decimals), like 1250" / "In EUR, up to 2 decimals, like 12,50". */
export function amountHint(code: string): string {
  if (!isCurrencyCode(code)) return `In ${code}`;
  const digits = currencyMinorUnits(code);
  const example = plainAmount(1250 * 10 ** Math.max(0, digits - 2), code, decimalSeparator());
  return digits === 0
    ? `In ${code}, whole amounts (no decimals), like ${example}`
    : `In ${code}, up to ${digits} decimals, like ${example}`;
}

export function clock(time: number): string {
  return new Date(time).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

export function bytes(count: number): string {
  if (count < 1024) return `${count} B`;
  if (count < 1024 * 1024) return `${(count / 1024).toFixed(1)} KiB`;
  return `${(count / 1024 / 1024).toFixed(1)} MiB`;
}

export function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/^(InputError|StorageError|Error):\s*/, '');
}
