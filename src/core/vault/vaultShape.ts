import { readAttachments } from '../packages/attachmentRecord';
import { decodeTradeEvent, requiredId, type TradeEvent } from '../trade/tradeEvent';
import * as A from '@automerge/automerge';
import type { SharedOffer, ShopProfile } from './vaultDocuments';
import { rawOffers } from '../catalog/sharedOffers';
import { DEVICE_CERTIFICATE_BYTES, readDeviceCertificate } from './deviceCertificate';
import { DEVICE_REVOCATION_BYTES, decodeDeviceRevocation } from './deviceRevocation';
import { BinaryReader } from '../wire/binary';
import { bytesEqual, compareBytes, toHex } from '../wire/hex';
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
 * document itself, so one malformed vault can never break them. Signatures (device certificates,
 * revocations) are checked by acceptance, not here: this is shape only.
 */
export interface VaultContent {
  profile: ShopProfile;
  devices: { publicKey: string; name: string; issuedAt: number; certificate: string }[];
  revocations: { publicKey: string; revokedAt: number; lastCounter: number; encoded: string }[];
  offers: SharedOffer[];
  /** Files the shop shares, attached to its products: each record's bytes as hex (attachmentRecord.ts), JSON-safe. */
  files?: string[];
  /** The shop's signed trade events (tradeEvent.ts), each checked; absent until the first. */
  trade?: TradeEvent[];
  /** Bytes of packed offer sets decoded to read this content: the work a version costs to check. */
  packedBytes: number;
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
const TOP_LEVEL = new Set(['schema', 'profile', 'devices', 'revocations', 'offerSets', 'offerFields', 'files', 'trade']);
const EVENT_KEY = /^[0-9a-f]{16}$/;
/** Trade events one vault may hold, and their bytes in all. */
export const MAX_TRADE_EVENTS = 20_000;
export const MAX_TRADE_BYTES = 4 * 1024 * 1024;
export const ROLES = ['shop', 'supplier', 'driver'] as const;
const SET_ID = /^[0-9a-z_-]{1,32}$/i;
const OFFER_KEY = /^([0-9a-zA-Z_-]{1,64})\/([nsuqpex])$/;
/** The packed offer sets of one vault, in bytes, before any is decoded. */
const MAX_OFFER_SET_BYTES = 8 * 1024 * 1024;
export const MAX_OFFER_SETS = 256;
export const MAX_DEVICE_NAME_BYTES = 64;

function fail(message: string): never {
  throw new VaultShapeError(message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !A.isImmutableString(value) && !(value instanceof Uint8Array);
}

/** Text stored either as a collaborative string or as an ImmutableString, within a byte limit. */
function text(value: unknown, where: string, maxBytes: number, minBytes = 0): string {
  let plain: string;
  if (typeof value === 'string') plain = value;
  else if (A.isImmutableString(value)) plain = (value as A.ImmutableString).val;
  else fail(`${where} is not text`);
  if (typeof plain !== 'string') fail(`${where} is not text`);
  // Cheap bounds first: a UTF-16 unit is at least 1 and at most 3 UTF-8 bytes.
  if (plain.length > maxBytes) fail(`${where} is longer than ${maxBytes} bytes`);
  if (plain.length * 3 <= maxBytes && (minBytes === 0 || (minBytes === 1 && plain.length > 0))) return plain;
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

function bytesValue(value: unknown, where: string, length?: number): Uint8Array {
  if (!(value instanceof Uint8Array)) fail(`${where} is not bytes`);
  if (length !== undefined && value.length !== length) fail(`${where} is ${value.length} bytes, expected ${length}`);
  return value;
}

function readOffer(key: string, value: Record<string, unknown>, area: string): SharedOffer {
  const where = `offer ${key.slice(0, 16)}`;
  const expiresOn = value.expiresOn === null ? null : text(value.expiresOn, `${where} expiresOn`, 10, 10);
  if (expiresOn !== null && !DATE.test(expiresOn)) fail(`${where} expiresOn is not a date`);
  return {
    productId: key,
    name: text(value.name, `${where} name`, TEXT_LIMITS.productName, 1),
    sku: text(value.sku, `${where} sku`, TEXT_LIMITS.sku),
    unit: text(value.unit, `${where} unit`, TEXT_LIMITS.unit, 1),
    quantity: number(value.quantity, `${where} quantity`, MAX_QUANTITY, false),
    price: number(value.price, `${where} price`, MAX_MINOR_UNITS, true),
    expiresOn,
    area,
  };
}

function decodeOfferSet(bytes: Uint8Array): unknown[] {
  let rows: unknown;
  try {
    rows = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    fail('an offer set is not JSON');
  }
  if (!Array.isArray(rows)) fail('an offer set is not a list');
  if (rows.length > MAX_OFFERS_PER_VAULT) fail(`an offer set has ${rows.length} rows, limit ${MAX_OFFERS_PER_VAULT}`);
  for (const row of rows) {
    if (!Array.isArray(row) || row.length !== 7) fail('an offer row is not 7 values');
    if (typeof row[0] !== 'string' || !PRODUCT_ID.test(row[0])) fail('an offer row has no product id');
  }
  return rows;
}

/** The checked content of a shared vault document, or a VaultShapeError saying what is wrong. */
export function readVaultContent(doc: unknown, vaultId?: Uint8Array): VaultContent {
  if (!isRecord(doc)) fail('vault is not a record');
  for (const key of Object.keys(doc)) if (!TOP_LEVEL.has(key)) fail(`vault has an unknown field "${key.slice(0, 32)}"`);
  if (doc.schema !== 2) fail('vault schema is not 2');
  const profile = doc.profile;
  if (!isRecord(profile)) fail('vault has no profile');
  for (const key of Object.keys(profile)) if (!['name', 'area', 'currency', 'role'].includes(key)) fail('profile has an unknown field');
  let role: string | undefined;
  if (profile.role !== undefined) {
    const value = text(profile.role, 'profile role', 16, 1);
    if (!(ROLES as readonly string[]).includes(value)) fail('profile role is not shop, supplier or driver');
    role = value;
  }
  const currency = text(profile.currency, 'profile currency', 3, 3);
  if (!/^[A-Z]{3}$/.test(currency)) fail('profile currency is not an ISO 4217 code');
  const checkedProfile: ShopProfile = {
    name: text(profile.name, 'profile name', TEXT_LIMITS.shopName, 1),
    area: text(profile.area, 'profile area', TEXT_LIMITS.area, 1),
    currency,
    ...(role && role !== 'shop' ? { role: role as 'supplier' | 'driver' } : {}),
  };
  const devices = doc.devices;
  if (!isRecord(devices)) fail('vault has no device list');
  const checkedDevices = keysOf(devices, 'device list', MAX_DEVICES_PER_VAULT).map((publicKey) => {
    if (!HEX_KEY.test(publicKey)) fail('device key is not 64 hex digits');
    const entry = devices[publicKey];
    if (!isRecord(entry) || Object.keys(entry).length !== 2) fail('device entry is malformed');
    const certificateBytes = bytesValue(entry.certificate, 'device certificate', DEVICE_CERTIFICATE_BYTES);
    const certificate = readDeviceCertificate(new BinaryReader(certificateBytes));
    if (toHex(certificate.devicePublicKey) !== publicKey) fail('device certificate is filed under another key');
    if (vaultId && !bytesEqual(certificate.vaultId, vaultId)) fail('device certificate is for another vault');
    return { publicKey, name: text(entry.name, 'device name', MAX_DEVICE_NAME_BYTES), issuedAt: certificate.issuedAt, certificate: toHex(certificateBytes) };
  });
  const revocations = doc.revocations;
  if (!isRecord(revocations)) fail('vault has no revocation list');
  const checkedRevocations = keysOf(revocations, 'revocation list', MAX_DEVICES_PER_VAULT).map((publicKey) => {
    if (!HEX_KEY.test(publicKey)) fail('revoked device key is not 64 hex digits');
    const bytes = bytesValue(revocations[publicKey], 'revocation', DEVICE_REVOCATION_BYTES);
    const revocation = decodeDeviceRevocation(bytes);
    if (toHex(revocation.devicePublicKey) !== publicKey) fail('revocation is filed under another key');
    if (vaultId && !bytesEqual(revocation.vaultId, vaultId)) fail('revocation is for another vault');
    return { publicKey, revokedAt: revocation.revokedAt, lastCounter: revocation.lastCounter, encoded: toHex(bytes) };
  });
  const sets = doc.offerSets;
  if (!isRecord(sets)) fail('vault has no offer sets');
  let setBytes = 0;
  for (const setId of keysOf(sets, 'offer sets', MAX_OFFER_SETS)) {
    if (!SET_ID.test(setId)) fail('offer set id is malformed');
    setBytes += bytesValue(sets[setId], 'offer set').length;
    if (setBytes > MAX_OFFER_SET_BYTES) fail(`offer sets are over ${MAX_OFFER_SET_BYTES} bytes`);
  }
  const fields = doc.offerFields;
  if (!isRecord(fields)) fail('vault has no offer fields');
  for (const key of keysOf(fields, 'offer fields', MAX_OFFERS_PER_VAULT * 7)) {
    if (!OFFER_KEY.test(key)) fail('offer field key is malformed');
    const value = fields[key];
    if (!(value === null || typeof value === 'number' || typeof value === 'string' || A.isImmutableString(value))) fail('offer field value is not a number, text or null');
    if (key.endsWith('/x') && value !== 0 && value !== 1) fail('offer withdrawn flag is not 0 or 1');
  }
  const raw = rawOffers(doc as never, decodeOfferSet);
  const offers: SharedOffer[] = [];
  if (raw.size > MAX_OFFERS_PER_VAULT) fail(`vault has over ${MAX_OFFERS_PER_VAULT} offers`);
  for (const [id, offer] of raw) {
    // Withdrawn offers are checked too: nothing unchecked is kept or served.
    const checked = readOffer(id, offer, checkedProfile.area);
    if (offer.x !== 1) offers.push(checked);
  }
  let files: string[];
  try {
    readAttachments(doc.files, true);
    files = Object.values((doc.files ?? {}) as Record<string, Uint8Array>).map((bytes) => toHex(bytes));
  } catch (error) {
    fail(`vault ${error instanceof Error ? error.message : String(error)}`);
  }
  const trade = readTrade(tradeMaps(doc), new Set(checkedDevices.map((d) => d.publicKey.slice(0, 8))));
  return { profile: checkedProfile, devices: checkedDevices, revocations: checkedRevocations, offers, files, ...(trade ? { trade } : {}), packedBytes: setBytes };
}

/** Every value an Automerge map holds under `key` (several when devices wrote it concurrently), or the one a plain object holds. */
function valuesAt(map: Record<string, unknown>, key: string): unknown[] {
  let conflicts: Record<string, unknown> | undefined;
  try {
    conflicts = A.getConflicts(map as never, key) as Record<string, unknown> | undefined;
  } catch {
    conflicts = undefined; // Not an Automerge object (a plain record): one value.
  }
  return conflicts && Object.keys(conflicts).length > 1 ? Object.values(conflicts) : [map[key]];
}

/**
 * The vault's trade maps: one, or several when devices of a shop made before trade created the
 * map while apart (each its own map object under `trade`). Events are read from all of them, so
 * none written into the map Automerge does not pick is lost. Undefined when there is none.
 */
export function tradeMaps(doc: unknown): unknown[] | undefined {
  if (!isRecord(doc) || doc.trade === undefined) return undefined;
  const maps = valuesAt(doc, 'trade');
  if (maps.length > 4) fail(`vault has ${maps.length} trade maps`);
  return maps;
}

/** The bytes of every value held under a trade event id (one, or several written concurrently), in every trade map. */
export function tradeValues(doc: unknown, id: string): Uint8Array[] {
  let maps: unknown[] | undefined;
  try {
    maps = tradeMaps(doc);
  } catch {
    return [];
  }
  return (maps ?? []).flatMap((map) => (isRecord(map) && id in map ? valuesAt(map, id) : [])).filter((v): v is Uint8Array => v instanceof Uint8Array);
}

/** Of the values held under a trade event id, the one every node reads: the smallest bytes (one rule, here). */
export function chosenTradeValue(values: readonly Uint8Array[]): Uint8Array | undefined {
  let chosen: Uint8Array | undefined;
  for (const value of values) if (!chosen || compareBytes(value, chosen) < 0) chosen = value;
  return chosen;
}

/**
 * The trade map: ids as 16 hex digits, each event decoded and checked, signed by a listed device,
 * derived steps at their derived id. Two devices of one shop may write the same derived step
 * while apart: its values are kept side by side and the one with the smallest bytes is read, the
 * same on every node. Any other event id with two values (a step written under an id its author
 * made, written again) makes the vault invalid.
 */
function readTrade(maps: unknown[] | undefined, devicePrefixes: ReadonlySet<string>): TradeEvent[] | undefined {
  if (maps === undefined) return undefined;
  for (const map of maps) if (!isRecord(map)) fail('vault trade events are not a map');
  const records = maps as Record<string, unknown>[];
  const ids = new Set<string>();
  for (const map of records) for (const id of keysOf(map, 'trade events', MAX_TRADE_EVENTS)) ids.add(id);
  if (ids.size > MAX_TRADE_EVENTS) fail(`vault has ${ids.size} trade events, limit ${MAX_TRADE_EVENTS}`);
  const events: TradeEvent[] = [];
  let bytes = 0;
  for (const id of ids) {
    if (!EVENT_KEY.test(id)) fail('trade event id is not 16 hex digits');
    const values = records.flatMap((map) => (id in map ? valuesAt(map, id) : []));
    if (values.length > 4) fail(`trade event ${id} has ${values.length} values`);
    const decoded = new Map<Uint8Array, TradeEvent>();
    const distinct = new Set<string>();
    for (const raw of values) {
      const encoded = bytesValue(raw, 'trade event');
      bytes += encoded.length;
      if (bytes > MAX_TRADE_BYTES) fail(`trade events are over ${MAX_TRADE_BYTES} bytes`);
      let event: TradeEvent;
      try {
        event = decodeTradeEvent(id, encoded);
      } catch (error) {
        fail(`trade event ${id}: ${error instanceof Error ? error.message : String(error)}`);
      }
      if (!devicePrefixes.has(event.device)) fail(`trade event ${id} names a device the vault does not list`);
      const required = requiredId(event);
      if (required !== undefined && required !== id) fail(`trade event ${id} (${event.type}) is not at its derived id`);
      distinct.add(toHex(encoded));
      if (distinct.size > 1 && required === undefined) fail(`trade event ${id} was written twice with different values`);
      decoded.set(encoded, event);
    }
    events.push(decoded.get(chosenTradeValue([...decoded.keys()])!)!);
  }
  return events;
}

