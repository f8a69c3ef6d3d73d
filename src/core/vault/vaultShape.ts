import * as A from '@automerge/automerge';
import type { SharedOffer, ShopProfile } from './vaultDocuments';
import {
  MAX_DEVICES_PER_VAULT,
  MAX_MINOR_UNITS,
  MAX_OFFERS_PER_VAULT,
  MAX_QUANTITY,
  TEXT_LIMITS,
  utf8Length,
} from './vaultLimits';

/**
 * The content of a vault, checked field by field: what every view reads. A vault document from
 * a peer is accepted only if `readVaultContent` returns; the views never touch the Automerge
 * document itself, so one malformed vault can never break them.
 */
export interface VaultContent {
  profile: ShopProfile;
  devices: { publicKey: string; issuedAt: number }[];
  offers: SharedOffer[];
}

export class VaultShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VaultShapeError';
  }
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const HEX_KEY = /^[0-9a-f]{64}$/;
const PRODUCT_ID = /^[0-9a-z_-]{1,64}$/i;
const TOP_LEVEL = new Set(['schema', 'profile', 'devices', 'offers']);
const OFFER_FIELDS = new Set(['productId', 'name', 'sku', 'unit', 'quantity', 'price', 'expiresOn', 'area', 'updatedAt']);

function fail(message: string): never {
  throw new VaultShapeError(message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !A.isImmutableString(value);
}

/** Text stored either as a collaborative string or as an ImmutableString, within a byte limit. */
function text(value: unknown, where: string, maxBytes: number, minBytes = 0): string {
  let plain: string;
  if (typeof value === 'string') plain = value;
  else if (A.isImmutableString(value)) plain = (value as A.ImmutableString).val;
  else fail(`${where} is not text`);
  if (typeof plain !== 'string') fail(`${where} is not text`);
  // Cheap bound first: a UTF-16 unit is at most 3 UTF-8 bytes.
  if (plain.length > maxBytes) fail(`${where} is longer than ${maxBytes} bytes`);
  const bytes = utf8Length(plain);
  if (bytes > maxBytes) fail(`${where} is ${bytes} bytes, limit ${maxBytes}`);
  if (bytes < minBytes) fail(`${where} is empty`);
  return plain;
}

function number(value: unknown, where: string, max: number, integer: boolean): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > max) fail(`${where} must be a number from 0 to ${max}`);
  if (integer && !Number.isInteger(value)) fail(`${where} must be a whole number`);
  return value;
}

function keysOf(record: Record<string, unknown>, where: string, max: number): string[] {
  const keys = Object.keys(record);
  if (keys.length > max) fail(`${where} has ${keys.length} entries, limit ${max}`);
  return keys;
}

function readOffer(key: string, value: unknown): SharedOffer {
  const where = `offer ${key.slice(0, 16)}`;
  if (!isRecord(value)) fail(`${where} is not a record`);
  for (const field of Object.keys(value)) if (!OFFER_FIELDS.has(field)) fail(`${where} has an unknown field`);
  const productId = text(value.productId, `${where} productId`, 64, 1);
  if (productId !== key) fail(`${where} is filed under another product id`);
  const expiresOn = value.expiresOn === null ? null : text(value.expiresOn, `${where} expiresOn`, 10, 10);
  if (expiresOn !== null && !DATE.test(expiresOn)) fail(`${where} expiresOn is not a date`);
  return {
    productId,
    name: text(value.name, `${where} name`, TEXT_LIMITS.productName, 1),
    sku: text(value.sku, `${where} sku`, TEXT_LIMITS.sku),
    unit: text(value.unit, `${where} unit`, TEXT_LIMITS.unit, 1),
    quantity: number(value.quantity, `${where} quantity`, MAX_QUANTITY, false),
    price: number(value.price, `${where} price`, MAX_MINOR_UNITS, true),
    expiresOn,
    area: text(value.area, `${where} area`, TEXT_LIMITS.area),
    updatedAt: number(value.updatedAt, `${where} updatedAt`, Number.MAX_SAFE_INTEGER, true),
  };
}

/** The checked content of a shared vault document, or a VaultShapeError saying what is wrong. */
export function readVaultContent(doc: unknown): VaultContent {
  if (!isRecord(doc)) fail('vault is not a record');
  for (const key of Object.keys(doc)) if (!TOP_LEVEL.has(key)) fail(`vault has an unknown field "${key.slice(0, 32)}"`);
  if (doc.schema !== 1) fail('vault schema is not 1');
  const profile = doc.profile;
  if (!isRecord(profile)) fail('vault has no profile');
  for (const key of Object.keys(profile)) if (!['name', 'area', 'currency'].includes(key)) fail('profile has an unknown field');
  const currency = text(profile.currency, 'profile currency', 3, 3);
  if (!/^[A-Z]{3}$/.test(currency)) fail('profile currency is not an ISO 4217 code');
  const checkedProfile: ShopProfile = {
    name: text(profile.name, 'profile name', TEXT_LIMITS.shopName, 1),
    area: text(profile.area, 'profile area', TEXT_LIMITS.area, 1),
    currency,
  };
  const devices = doc.devices;
  if (!isRecord(devices)) fail('vault has no device list');
  const checkedDevices = keysOf(devices, 'device list', MAX_DEVICES_PER_VAULT).map((publicKey) => {
    if (!HEX_KEY.test(publicKey)) fail('device key is not 64 hex digits');
    const entry = devices[publicKey];
    if (!isRecord(entry) || Object.keys(entry).length !== 1) fail('device entry is malformed');
    return { publicKey, issuedAt: number(entry.issuedAt, 'device issuedAt', Number.MAX_SAFE_INTEGER, true) };
  });
  const offers = doc.offers;
  if (!isRecord(offers)) fail('vault has no offer list');
  const checkedOffers = keysOf(offers, 'offer list', MAX_OFFERS_PER_VAULT).map((key) => {
    if (!PRODUCT_ID.test(key)) fail('offer key is not a product id');
    return readOffer(key, offers[key]);
  });
  return { profile: checkedProfile, devices: checkedDevices, offers: checkedOffers };
}
