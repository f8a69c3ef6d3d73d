import { InputError } from '../inputError';
import { MAX_MINOR_UNITS } from '../vault/vaultLimits';

/**
 * The active currencies of ISO 4217 (List One) with their minor units: how many decimals an
 * amount has (JPY 0, USD 2, KWD 3, CLF 4). Precious metals, special drawing rights and the
 * testing codes are left out: they have no minor unit and no shop sells in them.
 */
export const CURRENCIES: Readonly<Record<string, { name: string; minorUnits: number }>> = Object.freeze(
  Object.fromEntries(
    (
      [
        ['AED', 2, 'UAE Dirham'],
        ['AFN', 2, 'Afghani'],
        ['ALL', 2, 'Lek'],
        ['AMD', 2, 'Armenian Dram'],
        ['ANG', 2, 'Netherlands Antillean Guilder'],
        ['AOA', 2, 'Kwanza'],
        ['ARS', 2, 'Argentine Peso'],
        ['AUD', 2, 'Australian Dollar'],
        ['AWG', 2, 'Aruban Florin'],
        ['AZN', 2, 'Azerbaijan Manat'],
        ['BAM', 2, 'Convertible Mark'],
        ['BBD', 2, 'Barbados Dollar'],
        ['BDT', 2, 'Taka'],
        ['BGN', 2, 'Bulgarian Lev'],
        ['BHD', 3, 'Bahraini Dinar'],
        ['BIF', 0, 'Burundi Franc'],
        ['BMD', 2, 'Bermudian Dollar'],
        ['BND', 2, 'Brunei Dollar'],
        ['BOB', 2, 'Boliviano'],
        ['BOV', 2, 'Mvdol'],
        ['BRL', 2, 'Brazilian Real'],
        ['BSD', 2, 'Bahamian Dollar'],
        ['BTN', 2, 'Ngultrum'],
        ['BWP', 2, 'Pula'],
        ['BYN', 2, 'Belarusian Ruble'],
        ['BZD', 2, 'Belize Dollar'],
        ['CAD', 2, 'Canadian Dollar'],
        ['CDF', 2, 'Congolese Franc'],
        ['CHE', 2, 'WIR Euro'],
        ['CHF', 2, 'Swiss Franc'],
        ['CHW', 2, 'WIR Franc'],
        ['CLF', 4, 'Unidad de Fomento'],
        ['CLP', 0, 'Chilean Peso'],
        ['CNY', 2, 'Yuan Renminbi'],
        ['COP', 2, 'Colombian Peso'],
        ['COU', 2, 'Unidad de Valor Real'],
        ['CRC', 2, 'Costa Rican Colon'],
        ['CUP', 2, 'Cuban Peso'],
        ['CVE', 2, 'Cabo Verde Escudo'],
        ['CZK', 2, 'Czech Koruna'],
        ['DJF', 0, 'Djibouti Franc'],
        ['DKK', 2, 'Danish Krone'],
        ['DOP', 2, 'Dominican Peso'],
        ['DZD', 2, 'Algerian Dinar'],
        ['EGP', 2, 'Egyptian Pound'],
        ['ERN', 2, 'Nakfa'],
        ['ETB', 2, 'Ethiopian Birr'],
        ['EUR', 2, 'Euro'],
        ['FJD', 2, 'Fiji Dollar'],
        ['FKP', 2, 'Falkland Islands Pound'],
        ['GBP', 2, 'Pound Sterling'],
        ['GEL', 2, 'Lari'],
        ['GHS', 2, 'Ghana Cedi'],
        ['GIP', 2, 'Gibraltar Pound'],
        ['GMD', 2, 'Dalasi'],
        ['GNF', 0, 'Guinean Franc'],
        ['GTQ', 2, 'Quetzal'],
        ['GYD', 2, 'Guyana Dollar'],
        ['HKD', 2, 'Hong Kong Dollar'],
        ['HNL', 2, 'Lempira'],
        ['HTG', 2, 'Gourde'],
        ['HUF', 2, 'Forint'],
        ['IDR', 2, 'Rupiah'],
        ['ILS', 2, 'New Israeli Sheqel'],
        ['INR', 2, 'Indian Rupee'],
        ['IQD', 3, 'Iraqi Dinar'],
        ['IRR', 2, 'Iranian Rial'],
        ['ISK', 0, 'Iceland Krona'],
        ['JMD', 2, 'Jamaican Dollar'],
        ['JOD', 3, 'Jordanian Dinar'],
        ['JPY', 0, 'Yen'],
        ['KES', 2, 'Kenyan Shilling'],
        ['KGS', 2, 'Som'],
        ['KHR', 2, 'Riel'],
        ['KMF', 0, 'Comorian Franc'],
        ['KPW', 2, 'North Korean Won'],
        ['KRW', 0, 'Won'],
        ['KWD', 3, 'Kuwaiti Dinar'],
        ['KYD', 2, 'Cayman Islands Dollar'],
        ['KZT', 2, 'Tenge'],
        ['LAK', 2, 'Lao Kip'],
        ['LBP', 2, 'Lebanese Pound'],
        ['LKR', 2, 'Sri Lanka Rupee'],
        ['LRD', 2, 'Liberian Dollar'],
        ['LSL', 2, 'Loti'],
        ['LYD', 3, 'Libyan Dinar'],
        ['MAD', 2, 'Moroccan Dirham'],
        ['MDL', 2, 'Moldovan Leu'],
        ['MGA', 2, 'Malagasy Ariary'],
        ['MKD', 2, 'Denar'],
        ['MMK', 2, 'Kyat'],
        ['MNT', 2, 'Tugrik'],
        ['MOP', 2, 'Pataca'],
        ['MRU', 2, 'Ouguiya'],
        ['MUR', 2, 'Mauritius Rupee'],
        ['MVR', 2, 'Rufiyaa'],
        ['MWK', 2, 'Malawi Kwacha'],
        ['MXN', 2, 'Mexican Peso'],
        ['MXV', 2, 'Mexican Unidad de Inversion (UDI)'],
        ['MYR', 2, 'Malaysian Ringgit'],
        ['MZN', 2, 'Mozambique Metical'],
        ['NAD', 2, 'Namibia Dollar'],
        ['NGN', 2, 'Naira'],
        ['NIO', 2, 'Cordoba Oro'],
        ['NOK', 2, 'Norwegian Krone'],
        ['NPR', 2, 'Nepalese Rupee'],
        ['NZD', 2, 'New Zealand Dollar'],
        ['OMR', 3, 'Rial Omani'],
        ['PAB', 2, 'Balboa'],
        ['PEN', 2, 'Sol'],
        ['PGK', 2, 'Kina'],
        ['PHP', 2, 'Philippine Peso'],
        ['PKR', 2, 'Pakistan Rupee'],
        ['PLN', 2, 'Zloty'],
        ['PYG', 0, 'Guarani'],
        ['QAR', 2, 'Qatari Rial'],
        ['RON', 2, 'Romanian Leu'],
        ['RSD', 2, 'Serbian Dinar'],
        ['RUB', 2, 'Russian Ruble'],
        ['RWF', 0, 'Rwanda Franc'],
        ['SAR', 2, 'Saudi Riyal'],
        ['SBD', 2, 'Solomon Islands Dollar'],
        ['SCR', 2, 'Seychelles Rupee'],
        ['SDG', 2, 'Sudanese Pound'],
        ['SEK', 2, 'Swedish Krona'],
        ['SGD', 2, 'Singapore Dollar'],
        ['SHP', 2, 'Saint Helena Pound'],
        ['SLE', 2, 'Leone'],
        ['SOS', 2, 'Somali Shilling'],
        ['SRD', 2, 'Surinam Dollar'],
        ['SSP', 2, 'South Sudanese Pound'],
        ['STN', 2, 'Dobra'],
        ['SVC', 2, 'El Salvador Colon'],
        ['SYP', 2, 'Syrian Pound'],
        ['SZL', 2, 'Lilangeni'],
        ['THB', 2, 'Baht'],
        ['TJS', 2, 'Somoni'],
        ['TMT', 2, 'Turkmenistan New Manat'],
        ['TND', 3, 'Tunisian Dinar'],
        ['TOP', 2, 'Pa’anga'],
        ['TRY', 2, 'Turkish Lira'],
        ['TTD', 2, 'Trinidad and Tobago Dollar'],
        ['TWD', 2, 'New Taiwan Dollar'],
        ['TZS', 2, 'Tanzanian Shilling'],
        ['UAH', 2, 'Hryvnia'],
        ['UGX', 0, 'Uganda Shilling'],
        ['USD', 2, 'US Dollar'],
        ['USN', 2, 'US Dollar (Next day)'],
        ['UYI', 0, 'Uruguay Peso en Unidades Indexadas (UI)'],
        ['UYU', 2, 'Peso Uruguayo'],
        ['UYW', 4, 'Unidad Previsional'],
        ['UZS', 2, 'Uzbekistan Sum'],
        ['VED', 2, 'Bolívar Soberano'],
        ['VES', 2, 'Bolívar Soberano'],
        ['VND', 0, 'Dong'],
        ['VUV', 0, 'Vatu'],
        ['WST', 2, 'Tala'],
        ['XAF', 0, 'CFA Franc BEAC'],
        ['XCD', 2, 'East Caribbean Dollar'],
        ['XCG', 2, 'Caribbean Guilder'],
        ['XOF', 0, 'CFA Franc BCEAO'],
        ['XPF', 0, 'CFP Franc'],
        ['YER', 2, 'Yemeni Rial'],
        ['ZAR', 2, 'Rand'],
        ['ZMW', 2, 'Zambian Kwacha'],
        ['ZWG', 2, 'Zimbabwe Gold'],
      ] as const
    ).map(([code, minorUnits, name]) => [code, Object.freeze({ name, minorUnits })]),
  ),
);

/** Whether `code` is an active ISO 4217 currency code (upper case, as stored in a shop's profile). */
export function isCurrencyCode(code: string): boolean {
  return Object.hasOwn(CURRENCIES, code);
}

/** How many decimals an amount in `code` has (JPY 0, USD 2, KWD 3). Throws for an unknown code. */
export function currencyMinorUnits(code: string): number {
  if (!isCurrencyCode(code)) throw new InputError('Currency', `"${code}" is not an ISO 4217 currency code such as USD, EUR or KES`);
  return CURRENCIES[code]!.minorUnits;
}

/** The amount in minor units as money in the merchant's language: 123456 EUR in de-DE → "1.234,56 €". */
export function formatAmount(minor: number, code: string, locale?: string): string {
  const digits = currencyMinorUnits(code);
  return new Intl.NumberFormat(locale, {
    style: 'currency',
    currency: code,
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(minor / 10 ** digits);
}

/** The amount in minor units as plain decimal text, no grouping: 150 USD → "1.50", 5 JPY → "5", 1500 KWD → "1.500". */
export function plainAmount(minor: number, code: string, decimalSeparator = '.'): string {
  const digits = currencyMinorUnits(code);
  const text = String(minor).padStart(digits + 1, '0');
  return digits === 0 ? text : `${text.slice(0, -digits)}${decimalSeparator}${text.slice(-digits)}`;
}

/** How one amount is written: the decimal separator, and the group separators allowed (none for a file). */
export interface AmountNotation {
  decimal: string;
  /** The locale's group separator with the characters a keyboard types for it; empty when no grouping is allowed. */
  groups: readonly string[];
  /** Where groups go, as the locale writes them (`useGrouping: 'always'`), so "12.34,5" is refused in de-DE. */
  grouped?: (integer: number) => string;
}

const SPACES = [' ', '\u00a0', '\u202f'];
const APOSTROPHES = ["'", '’'];
/** Bidirectional marks Intl puts around Arabic and Hebrew amounts; they carry no value. */
const BIDI_MARKS = /[\u061c\u200e\u200f]/g;

/** How the merchant's language writes amounts, found from Intl.NumberFormat. */
export function localeNotation(locale?: string): AmountNotation {
  const parts = new Intl.NumberFormat(locale, { useGrouping: 'always' } as Intl.NumberFormatOptions).formatToParts(1234567.1);
  const decimal = parts.find((p) => p.type === 'decimal')?.value ?? '.';
  const group = parts.find((p) => p.type === 'group')?.value ?? '';
  const groups = SPACES.includes(group) ? SPACES : APOSTROPHES.includes(group) ? APOSTROPHES : group ? [group] : [];
  const whole = new Intl.NumberFormat(locale, { useGrouping: 'always', maximumFractionDigits: 0 } as Intl.NumberFormatOptions);
  return { decimal, groups, grouped: (integer) => latinDigits(whole.format(integer).replace(BIDI_MARKS, '')) };
}

/** Arabic-Indic (٠–٩) and Extended Arabic-Indic (۰–۹, Persian and Urdu) digits read as 0–9. */
function latinDigits(text: string): string {
  return text.replace(/[\u0660-\u0669\u06f0-\u06f9]/g, (d) => String(d.charCodeAt(0) & 0xf));
}

/**
 * Reads an amount written with `notation` into minor units of `code`. Refuses, with an InputError
 * naming `field`: an empty amount, a negative one, anything but digits and the notation's
 * separators, groups in the wrong places, more decimals than the currency has ("1.234" in EUR,
 * "5.5" in JPY) and more than MAX_MINOR_UNITS.
 */
export function readAmount(text: string, code: string, notation: AmountNotation, field = 'Amount'): number {
  const digits = currencyMinorUnits(code);
  const typed = latinDigits(text.replace(BIDI_MARKS, '').trim());
  const fail = (why: string): never => {
    throw new InputError(field, `${field} "${text.trim()}" ${why}`);
  };
  if (typed === '') throw new InputError(field, `${field} is required`);
  if (/^[-−‒–]/.test(typed) || /-$/.test(typed)) fail('is negative; amounts are never below zero');
  const decimalAt = typed.indexOf(notation.decimal);
  const integerText = decimalAt === -1 ? typed : typed.slice(0, decimalAt);
  const fraction = decimalAt === -1 ? '' : typed.slice(decimalAt + notation.decimal.length);
  if (decimalAt !== -1 && !/^\d+$/.test(fraction)) fail(`is not an amount like ${plainAmount(1250 * 10 ** Math.max(0, digits - 2), code, notation.decimal)}`);
  if (decimalAt !== -1 && fraction.length > digits) {
    fail(digits === 0 ? `has decimals, but ${code} has none` : `has ${fraction.length} decimals, but ${code} has ${digits}`);
  }
  let integer = integerText;
  if (notation.groups.some((g) => integerText.includes(g))) {
    integer = notation.groups.reduce((t, g) => t.split(g).join(''), integerText);
    const canonical = notation.groups.reduce((t, g) => t.split(g).join(notation.groups[0]!), integerText);
    const expected = /^\d{1,13}$/.test(integer) && notation.grouped ? notation.groups.reduce((t, g) => t.split(g).join(notation.groups[0]!), notation.grouped(Number(integer))) : '';
    if (canonical !== expected) fail('has its thousands separators in the wrong places');
  }
  if (!/^\d+$/.test(integer)) fail(`is not an amount like ${plainAmount(1250 * 10 ** Math.max(0, digits - 2), code, notation.decimal)}`);
  const all = (integer + fraction.padEnd(digits, '0')).replace(/^0+(?=\d)/, '');
  if (all.length > String(MAX_MINOR_UNITS).length || Number(all) > MAX_MINOR_UNITS) fail(`is more than the largest amount, ${plainAmount(MAX_MINOR_UNITS, code, notation.decimal)}`);
  return Number(all);
}

/**
 * Reads an amount the merchant typed in their language into minor units of `code`:
 * "1.234,56" in de-DE and "1,234.56" in en-US are both 123456 EUR cents; in fr-FR the groups are
 * spaces (narrow, no-break or typed). Arabic-Indic digits are accepted with the locale's own
 * separators ("١٬٢٣٤٫٥٦" in ar-EG). Throws an InputError naming `field` when it is not an amount.
 */
export function parseAmount(text: string, code: string, locale?: string, field = 'Amount'): number {
  return readAmount(text, code, localeNotation(locale), field);
}
