import { chosenTradeValue, tradeMaps, tradeValues } from '../vault/vaultShape';
import * as A from '@automerge/automerge';
import { acceptBundle } from '../vault/acceptBundle';
import { VAULT_LIMITS } from '../vault/automergeCost';
import { decodeDeviceRevocation, encodeDeviceRevocation } from '../vault/deviceRevocation';
import { decodeSignedHeads, encodeSignedHeads, type SignedHeads } from '../vault/signedHeads';
import { MAX_DEVICES_PER_VAULT, MAX_VAULT_BYTES } from '../vault/vaultLimits';
import type { SharedVaultDoc } from '../vault/vaultDocuments';
import type { VaultContent } from '../vault/vaultShape';
import { fromBase64, toBase64 } from '../wire/base64';
import { bytesEqual, fromHex, toHex } from '../wire/hex';
import {
  decodeTradeEvent,
  derivedFrom,
  encodeTradeEvent,
  isEventId,
  refKey,
  slotId,
  TRADE_EVENT_TYPES,
  vaultPrefix,
  type EventRef,
  type TradeEvent,
  type TradeEventType,
} from './tradeEvent';

/**
 * The audit trail: every trade event with who signed it (shop and device), when, what it derives
 * from and what derives from it; a walk back from any step to its origins (the offer, the batch
 * receipts, the request); and an export of a period that a third party verifies with the public
 * keys in it alone (docs/trade.md, "Audit trail export"). Pure and platform-free.
 */

export const TRAIL_FORMAT = 'souk-audit-trail';
export const TRAIL_VERSION = 1;
/** An export, as text, at most. */
export const MAX_TRAIL_EXPORT_BYTES = 64 * 1024 * 1024;
export const MAX_TRAIL_VAULTS = 256;
export const MAX_TRAIL_EVENTS = 200_000;
/** Steps a walk back visits at most. */
export const MAX_WALK_STEPS = 256;
/** Nesting of the export's JSON, counted outside strings, at most. */
const MAX_JSON_DEPTH = 8;
const MAX_PROBLEMS = 64;
const VAULT_ID = /^[0-9a-f]{64}$/;

export interface TrailVault {
  vaultId: string;
  content: VaultContent;
}

export interface TrailEntry {
  key: string;
  ref: EventRef;
  vaultId: string;
  shop: string;
  /** The device's 4-byte key prefix as written in the event, its full key and name where the vault lists one. */
  device: string;
  deviceKey: string | null;
  deviceName: string | null;
  time: number;
  type: TradeEventType;
  /** The trail name (TRADE_EVENT_TYPES[type].name). */
  name: string;
  event: TradeEvent;
  /** The events it names (derivedFrom), each marked held or missing. */
  derivesFrom: { ref: EventRef; key: string; held: boolean }[];
  /**
   * Origins the event does not name but belongs to, where held: for a step on a request (other
   * than the acceptance), the seller's acceptance of it (the batches held); for a request, the
   * seller's latest `offer.created` of its product at or before the request's time.
   */
  context: string[];
  /** Keys of the held events that name this one. */
  derivedBy: string[];
}

export interface WalkStep {
  key: string;
  ref: EventRef;
  depth: number;
  /** The event, or undefined when the trail does not hold it (missing). */
  entry?: TrailEntry;
  /** The key of the step this one was reached from. */
  from?: string;
}

export interface TrailIndex {
  entries: Map<string, TrailEntry>;
  /** Vault id by its 8-byte prefix. */
  vaults: Map<string, { vaultId: string; shop: string }>;
  get(ref: EventRef): TrailEntry | undefined;
  /** Origins first found from `ref`, breadth first, each once, at most `maxSteps` (cycle-safe). */
  walkBack(ref: EventRef, maxSteps?: number): { steps: WalkStep[]; truncated: boolean };
}

/** A trail index over the events of the given vaults (each vault's content as readVaultContent checked it). */
export function indexTrail(vaults: readonly TrailVault[]): TrailIndex {
  const entries = new Map<string, TrailEntry>();
  const byPrefix = new Map<string, { vaultId: string; shop: string }>();
  for (const { vaultId, content } of vaults) {
    const prefix = vaultPrefix(vaultId);
    byPrefix.set(prefix, { vaultId, shop: content.profile.name });
    for (const event of content.trade ?? []) {
      const device = content.devices.find((d) => d.publicKey.startsWith(event.device));
      const key = refKey({ vault: prefix, id: event.id });
      entries.set(key, {
        key,
        ref: { vault: prefix, id: event.id },
        vaultId,
        shop: content.profile.name,
        device: event.device,
        deviceKey: device?.publicKey ?? null,
        deviceName: device?.name ?? null,
        time: event.time,
        type: event.type,
        name: TRADE_EVENT_TYPES[event.type].name,
        event,
        derivesFrom: [],
        context: [],
        derivedBy: [],
      });
    }
  }
  // The offers each shop created, by product, oldest first: a request's context is the seller's offer of its product.
  const offers = new Map<string, TrailEntry[]>();
  for (const entry of entries.values()) {
    if (entry.event.type !== 'offerCreated') continue;
    const key = `${entry.ref.vault}:${entry.event.product}`;
    const list = offers.get(key);
    if (list) list.push(entry);
    else offers.set(key, [entry]);
  }
  for (const list of offers.values()) list.sort((a, b) => a.time - b.time);
  for (const entry of entries.values()) {
    const seen = new Set<string>();
    for (const ref of derivedFrom(entry.event, entry.ref.vault)) {
      const key = refKey(ref);
      if (seen.has(key)) continue;
      seen.add(key);
      const origin = entries.get(key);
      entry.derivesFrom.push({ ref, key, held: origin !== undefined });
      origin?.derivedBy.push(entry.key);
    }
    if (entry.event.type === 'reservationRequested') {
      const time = entry.time;
      const offer = (offers.get(`${entry.event.seller}:${entry.event.product}`) ?? []).filter((o) => o.time <= time).at(-1);
      if (offer) entry.context.push(offer.key);
    }
    if ('request' in entry.event && entry.type !== 'reservationAccepted') {
      const request = entry.event.request;
      const answer = slotId('answer', request);
      const sellers = [entry.ref.vault];
      const held = entries.get(refKey(request))?.event;
      if (held?.type === 'reservationRequested') sellers.push(held.seller);
      for (const vault of sellers) {
        const key = refKey({ vault, id: answer });
        if (!seen.has(key) && entries.get(key)?.type === 'reservationAccepted') {
          seen.add(key);
          entry.context.push(key);
        }
      }
    }
  }
  const get = (ref: EventRef) => entries.get(refKey(ref));
  return {
    entries,
    vaults: byPrefix,
    get,
    walkBack(ref, maxSteps = MAX_WALK_STEPS) {
      const steps: WalkStep[] = [];
      const visited = new Set<string>();
      const queue: WalkStep[] = [{ key: refKey(ref), ref, depth: 0 }];
      let truncated = false;
      while (queue.length > 0) {
        const step = queue.shift()!;
        if (visited.has(step.key)) continue;
        if (steps.length >= maxSteps) {
          truncated = true;
          break;
        }
        visited.add(step.key);
        const entry = entries.get(step.key);
        steps.push(entry ? { ...step, entry } : step);
        if (!entry) continue;
        for (const origin of entry.derivesFrom) if (!visited.has(origin.key)) queue.push({ key: origin.key, ref: origin.ref, depth: step.depth + 1, from: step.key });
        for (const key of entry.context) if (!visited.has(key)) queue.push({ key, ref: entries.get(key)!.ref, depth: step.depth + 1, from: step.key });
      }
      return { steps, truncated };
    },
  };
}

/** Every origin of the given events, transitively (what they derive from, and their context), held ones only. */
export function withOrigins(index: TrailIndex, keys: Iterable<string>): Set<string> {
  const out = new Set<string>();
  const stack = [...keys];
  while (stack.length > 0) {
    const key = stack.pop()!;
    if (out.has(key)) continue;
    const entry = index.entries.get(key);
    if (!entry) continue;
    out.add(key);
    for (const origin of entry.derivesFrom) if (origin.held) stack.push(origin.key);
    stack.push(...entry.context);
  }
  return out;
}

/** Whether an event involves the shop with this vault prefix: its own, or naming it (a ref, the seller, the driver, the supplier). */
export function involvesShop(entry: TrailEntry, prefix: string): boolean {
  if (entry.ref.vault === prefix || entry.derivesFrom.some((d) => d.ref.vault === prefix)) return true;
  const event = entry.event;
  return (
    (event.type === 'reservationRequested' && event.seller === prefix) ||
    (event.type === 'deliveryRequested' && event.driver === prefix) ||
    (event.type === 'batchReceipt' && event.supplier === prefix)
  );
}

/** What a shop's trail shows: the events that involve it, the steps that answer those, and everything they derive from. */
export function shopTrail(index: TrailIndex, prefix: string): Set<string> {
  const forward = new Set<string>();
  const stack = [...index.entries.values()].filter((e) => involvesShop(e, prefix)).map((e) => e.key);
  while (stack.length > 0) {
    const key = stack.pop()!;
    if (forward.has(key)) continue;
    forward.add(key);
    stack.push(...index.entries.get(key)!.derivedBy);
  }
  return withOrigins(index, forward);
}

/** One event as the Trail page shows it (plain data, cloneable). */
export interface TrailEntryView {
  key: string;
  ref: EventRef;
  vaultId: string;
  shop: string;
  own: boolean;
  device: string;
  deviceName: string | null;
  time: number;
  type: TradeEventType;
  name: string;
  /** The event's plain fields, in words ("product honey · quantity 3"). */
  summary: string;
  derivesFrom: { key: string; ref: EventRef; held: boolean; name: string | null; shop: string | null }[];
  context: { key: string; ref: EventRef; name: string }[];
  derivedBy: { key: string; ref: EventRef; name: string }[];
}

const SUMMARY_FIELDS = ['product', 'quantity', 'price', 'holdUntil', 'expiresOn', 'receivedOn', 'area', 'load', 'reason', 'note', 'text'];

export function trailEntryView(index: TrailIndex, entry: TrailEntry, ownVaultId?: string): TrailEntryView {
  const fields = entry.event as unknown as Record<string, unknown>;
  const summary = SUMMARY_FIELDS.filter((f) => fields[f] !== undefined && fields[f] !== null && fields[f] !== '')
    .map((f) => `${f} ${String(fields[f])}`)
    .join(' · ');
  const link = (key: string) => {
    const other = index.entries.get(key)!;
    return { key, ref: other.ref, name: other.name };
  };
  return {
    key: entry.key,
    ref: entry.ref,
    vaultId: entry.vaultId,
    shop: entry.shop,
    own: entry.vaultId === ownVaultId,
    device: entry.device,
    deviceName: entry.deviceName,
    time: entry.time,
    type: entry.type,
    name: entry.name,
    summary,
    derivesFrom: entry.derivesFrom.map((d) => {
      const other = index.entries.get(d.key);
      return { key: d.key, ref: d.ref, held: d.held, name: other?.name ?? null, shop: other?.shop ?? index.vaults.get(d.ref.vault)?.shop ?? null };
    }),
    context: entry.context.map(link),
    derivedBy: entry.derivedBy.map(link),
  };
}

// ------------------------------------------------------------------------------------ export

/** A vault as the exporting node holds it: its checked content, canonical document, statements and revocations. */
export interface TrailSource extends TrailVault {
  /** The canonical encoding (A.save) of the shared document at exactly `statements`' heads. */
  document: Uint8Array;
  statements: readonly SignedHeads[];
  /** Every root-signed revocation known for the vault, encoded, as hex. */
  revocations: readonly string[];
}

export interface TrailPeriod {
  /** Seconds since 1970 (UTC), inclusive. */
  from: number;
  /** Seconds since 1970 (UTC), exclusive. */
  to: number;
}

export interface ExportOptions {
  /** The exporting shop's vault id: its every event in the period is listed (a verifier checks it). */
  shop?: string;
  /** Seconds. */
  exportedAt?: number;
  /** Which events of the period to list (all by default); their origins are always added. */
  include?: (entry: TrailEntry) => boolean;
}

function fieldsOf(event: TradeEvent): Record<string, unknown> {
  const { type: _type, id: _id, time: _time, device: _device, ...fields } = event;
  return fields;
}

/**
 * The trail of a period as JSON (format "souk-audit-trail", version 1): the events whose time is
 * in the period, every event they derive from (even outside it), and each vault involved with
 * its document, statements and revocations, so the file proves itself. Throws when it would be
 * over MAX_TRAIL_EXPORT_BYTES.
 */
export function exportTrail(period: TrailPeriod, sources: readonly TrailSource[], options: ExportOptions = {}): string {
  if (!Number.isFinite(period.from) || !Number.isFinite(period.to) || period.from > period.to) throw new Error('The period must start before it ends');
  const index = indexTrail(sources);
  const picked: string[] = [];
  for (const entry of index.entries.values()) {
    if (entry.time >= period.from && entry.time < period.to && (options.include?.(entry) ?? true)) picked.push(entry.key);
  }
  const keys = withOrigins(index, picked);
  if (keys.size > MAX_TRAIL_EVENTS) throw new Error(`The trail of this period holds ${keys.size} events, more than ${MAX_TRAIL_EVENTS} in one file: export a shorter period`);
  const entries = [...keys].map((key) => index.entries.get(key)!).sort((a, b) => a.time - b.time || (a.key < b.key ? -1 : 1));
  const involved = new Set(entries.map((e) => e.vaultId));
  if (options.shop) involved.add(options.shop);
  const vaults = sources.filter((s) => involved.has(s.vaultId));
  let bytes = 0;
  const vaultRecords = vaults.map((source) => {
    const record = {
      vaultId: source.vaultId,
      shop: source.content.profile.name,
      document: toBase64(source.document),
      statements: source.statements.map((s) => toBase64(encodeSignedHeads(s))),
      revocations: source.revocations.map((hex) => toBase64(fromHex(hex))),
    };
    bytes += record.document.length + record.statements.reduce((n, s) => n + s.length, 0);
    if (bytes > MAX_TRAIL_EXPORT_BYTES) throw new Error(`The trail of this period is over ${MAX_TRAIL_EXPORT_BYTES / 1024 / 1024} MiB: export a shorter period`);
    return record;
  });
  const json = JSON.stringify({
    format: TRAIL_FORMAT,
    version: TRAIL_VERSION,
    shop: options.shop ?? null,
    period: { from: period.from, to: period.to },
    exportedAt: options.exportedAt ?? Math.floor(Date.now() / 1000),
    events: entries.map((entry) => ({
      vault: entry.vaultId,
      id: entry.ref.id,
      type: entry.type,
      name: entry.name,
      time: entry.time,
      device: entry.device,
      bytes: toHex(encodeTradeEvent(entry.event)),
      fields: fieldsOf(entry.event),
    })),
    vaults: vaultRecords,
  });
  if (json.length > MAX_TRAIL_EXPORT_BYTES) throw new Error(`The trail of this period is over ${MAX_TRAIL_EXPORT_BYTES / 1024 / 1024} MiB: export a shorter period`);
  return json;
}

// ------------------------------------------------------------------------------------ verify

export interface VerifiedTrailEvent {
  vaultId: string;
  shop: string;
  id: string;
  type: TradeEventType;
  name: string;
  time: number;
  device: string;
  deviceKey: string;
  deviceName: string;
  inPeriod: boolean;
  derivesFrom: EventRef[];
  event: TradeEvent;
}

export interface TrailVerdict {
  valid: boolean;
  /** The listed events that passed every check (all of them when valid). */
  events: VerifiedTrailEvent[];
  /** The vaults whose documents and statements passed. */
  vaults: { vaultId: string; shop: string }[];
  problems: string[];
  period?: TrailPeriod;
  shop?: string | null;
}

/** Deepest nesting of arrays and objects outside strings, stopping once past `limit`. */
function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && sameJson(a[k], b[k]));
  }
  return false;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const short = (hex: string) => hex.slice(0, 8);

/** The Automerge actor of a device key (hex): its first 16 bytes, as ownShop.ts's deviceActor writes changes. */
export function actorOfDevice(deviceKey: string): string {
  return deviceKey.slice(0, 32);
}

interface CheckedVault {
  vaultId: string;
  doc: A.Doc<SharedVaultDoc>;
  content: VaultContent;
}

function checkVault(raw: unknown, problems: string[]): CheckedVault | undefined {
  if (!isRecord(raw)) return void problems.push('a vault entry is not an object');
  const vaultId = raw.vaultId;
  if (typeof vaultId !== 'string' || !VAULT_ID.test(vaultId)) return void problems.push('a vault entry has no vault id (64 lowercase hex digits)');
  const where = `vault ${short(vaultId)}`;
  if (!Array.isArray(raw.statements) || !Array.isArray(raw.revocations) || typeof raw.document !== 'string') {
    return void problems.push(`${where}: document, statements or revocations missing`);
  }
  if (raw.statements.length === 0 || raw.statements.length > MAX_DEVICES_PER_VAULT) return void problems.push(`${where}: ${raw.statements.length} statements (1 to ${MAX_DEVICES_PER_VAULT})`);
  if (raw.revocations.length > MAX_DEVICES_PER_VAULT) return void problems.push(`${where}: over ${MAX_DEVICES_PER_VAULT} revocations`);
  // Base64 is 4 characters for 3 bytes: the size is known before decoding.
  if (raw.document.length > Math.ceil(MAX_VAULT_BYTES / 3) * 4) return void problems.push(`${where}: document over ${MAX_VAULT_BYTES} bytes`);
  const document = fromBase64(raw.document);
  if (!document) return void problems.push(`${where}: document is not base64`);
  const statements: SignedHeads[] = [];
  for (const text of raw.statements) {
    const bytes = typeof text === 'string' && text.length <= 8192 ? fromBase64(text) : undefined;
    if (!bytes) return void problems.push(`${where}: a statement is not base64`);
    try {
      statements.push(decodeSignedHeads(bytes));
    } catch (error) {
      return void problems.push(`${where}: a statement does not decode: ${describe(error)}`);
    }
  }
  const revocations: Uint8Array[] = [];
  for (const text of raw.revocations) {
    const bytes = typeof text === 'string' && text.length <= 512 ? fromBase64(text) : undefined;
    if (!bytes) return void problems.push(`${where}: a revocation is not base64`);
    try {
      revocations.push(encodeDeviceRevocation(decodeDeviceRevocation(bytes)));
    } catch (error) {
      return void problems.push(`${where}: a revocation does not decode: ${describe(error)}`);
    }
  }
  const other = statements.find((s) => toHex(s.vaultId) !== vaultId);
  if (other) return void problems.push(`${where}: a statement is for another vault (${short(toHex(other.vaultId))})`);
  // Acceptance as any node runs it on a peer's whole vault: statements signed by devices the root
  // key (the vault id) certified, revocations root-signed and applied, cost measured before
  // Automerge expands anything, no pending changes, every head signed by a statement that stands
  // and every signed head present, the content's shape, the certificates' root signatures.
  const accepted = acceptBundle(undefined, { statements, revocations, snapshot: true, changes: [document] }, { limits: VAULT_LIMITS });
  if (!accepted.accepted) return void problems.push(`${where}: ${accepted.reason}`);
  if (raw.shop !== undefined && raw.shop !== accepted.vault.content.profile.name) return void problems.push(`${where}: the shop name listed is not the signed profile's`);
  return { vaultId, doc: accepted.vault.doc, content: accepted.vault.content };
}

/**
 * Verifies an exported trail using only the file and the public keys in it (a vault id is its
 * shop's root public key). Never throws: any failure makes it invalid, with the reason.
 * `expectedVaultIds`: the shops the reader expects the trail to be of (each must be in it).
 */
export function verifyTrailExport(json: string, expectedVaultIds?: readonly string[]): TrailVerdict {
  const problems: string[] = [];
  const verdict = (events: VerifiedTrailEvent[], vaults: TrailVerdict['vaults'], extra: Partial<TrailVerdict> = {}): TrailVerdict => ({
    valid: problems.length === 0,
    events: events,
    vaults,
    problems: problems.length > MAX_PROBLEMS ? [...problems.slice(0, MAX_PROBLEMS), `… and ${problems.length - MAX_PROBLEMS} more`] : problems,
    ...extra,
  });
  try {
    if (typeof json !== 'string') return (problems.push('the trail is not text'), verdict([], []));
    if (json.length > MAX_TRAIL_EXPORT_BYTES) return (problems.push(`the file is over ${MAX_TRAIL_EXPORT_BYTES / 1024 / 1024} MiB`), verdict([], []));
    if (jsonDepth(json, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) return (problems.push(`the file nests deeper than ${MAX_JSON_DEPTH} levels`), verdict([], []));
    let file: unknown;
    try {
      file = JSON.parse(json);
    } catch {
      return (problems.push('the file is not JSON'), verdict([], []));
    }
    if (!isRecord(file) || file.format !== TRAIL_FORMAT) return (problems.push(`the file is not a ${TRAIL_FORMAT}`), verdict([], []));
    if (file.version !== TRAIL_VERSION) return (problems.push(`trail version ${String(file.version).slice(0, 16)} is not ${TRAIL_VERSION}`), verdict([], []));
    const period = file.period;
    if (!isRecord(period) || typeof period.from !== 'number' || typeof period.to !== 'number' || !Number.isFinite(period.from) || !Number.isFinite(period.to)) {
      return (problems.push('the file has no period'), verdict([], []));
    }
    const shop = file.shop;
    if (shop !== null && (typeof shop !== 'string' || !VAULT_ID.test(shop))) return (problems.push('the file names no shop (a vault id or null)'), verdict([], []));
    if (!Array.isArray(file.vaults) || !Array.isArray(file.events)) return (problems.push('the file has no vaults or events list'), verdict([], []));
    if (file.vaults.length > MAX_TRAIL_VAULTS) return (problems.push(`the file lists ${file.vaults.length} vaults, over ${MAX_TRAIL_VAULTS}`), verdict([], []));
    if (file.events.length > MAX_TRAIL_EVENTS) return (problems.push(`the file lists ${file.events.length} events, over ${MAX_TRAIL_EVENTS}`), verdict([], []));
    if (period.from > period.to) return (problems.push('the period ends before it starts'), verdict([], []));
    const trailPeriod = { from: period.from, to: period.to };

    const vaults = new Map<string, CheckedVault>();
    const prefixes = new Map<string, string>();
    const listedVaults = new Set<string>();
    for (const raw of file.vaults) {
      const id = isRecord(raw) && typeof raw.vaultId === 'string' ? raw.vaultId : undefined;
      if (id !== undefined) {
        if (listedVaults.has(id)) {
          problems.push(`vault ${short(id)} is listed twice`);
          continue;
        }
        listedVaults.add(id);
      }
      const checked = checkVault(raw, problems);
      if (!checked) continue;
      if (prefixes.has(vaultPrefix(checked.vaultId))) {
        problems.push(`two vaults share the prefix ${vaultPrefix(checked.vaultId)}`);
        continue;
      }
      vaults.set(checked.vaultId, checked);
      prefixes.set(vaultPrefix(checked.vaultId), checked.vaultId);
    }
    for (const expected of expectedVaultIds ?? []) if (!listedVaults.has(expected.toLowerCase())) problems.push(`vault ${short(expected)} you expected is not in the file`);
    if (shop && !listedVaults.has(shop)) problems.push(`the exporting shop's vault ${short(shop)} is not in the file`);

    const events: VerifiedTrailEvent[] = [];
    const listed = new Set<string>();
    for (const raw of file.events) {
      const event = checkEvent(raw, vaults, trailPeriod, problems);
      if (!event) continue;
      const key = refKey({ vault: vaultPrefix(event.vaultId), id: event.id });
      if (listed.has(key)) {
        problems.push(`event ${event.id} of vault ${short(event.vaultId)} is listed twice`);
        continue;
      }
      listed.add(key);
      events.push(event);
    }
    // Every ref resolves within the export.
    for (const event of events) {
      for (const ref of event.derivesFrom) {
        if (!listed.has(refKey(ref))) problems.push(`${event.name} ${event.id} (vault ${short(event.vaultId)}) derives from ${ref.id} of vault ${ref.vault.slice(0, 8)}, which the file does not hold`);
      }
    }
    // Every event in the period of the exporting shop, and of each shop the reader expects, is listed: nothing of theirs is left out.
    const whole = new Set([...(shop ? [shop] : []), ...(expectedVaultIds ?? []).map((id) => id.toLowerCase())]);
    for (const vaultId of whole) {
      for (const event of vaults.get(vaultId)?.content.trade ?? []) {
        if (event.time >= trailPeriod.from && event.time < trailPeriod.to && !listed.has(refKey({ vault: vaultPrefix(vaultId), id: event.id }))) {
          problems.push(`${vaultId === shop ? "the exporting shop's" : `shop ${short(vaultId)}'s`} ${TRADE_EVENT_TYPES[event.type].name} ${event.id} is in the period but not listed`);
        }
      }
    }
    return verdict(events, [...vaults.values()].map((v) => ({ vaultId: v.vaultId, shop: v.content.profile.name })), { period: trailPeriod, shop });
  } catch (error) {
    problems.push(`the trail could not be checked: ${describe(error)}`);
    return verdict([], []);
  }
}

function checkEvent(raw: unknown, vaults: ReadonlyMap<string, CheckedVault>, period: TrailPeriod, problems: string[]): VerifiedTrailEvent | undefined {
  if (!isRecord(raw)) return void problems.push('an event entry is not an object');
  const { vault: vaultId, id } = raw;
  if (typeof vaultId !== 'string' || !VAULT_ID.test(vaultId) || typeof id !== 'string' || !isEventId(id)) return void problems.push('an event entry has no vault id or event id');
  const where = `event ${id} of vault ${short(vaultId)}`;
  const vault = vaults.get(vaultId);
  if (!vault) return void problems.push(`${where}: its vault is not in the file or did not verify`);
  // The value every node reads: of several written concurrently, the smallest bytes (vaultShape.ts readTrade).
  const stored = chosenTradeValue(tradeValues(vault.doc, id));
  if (!(stored instanceof Uint8Array)) return void problems.push(`${where}: the vault's signed document holds no such event`);
  if (typeof raw.bytes !== 'string' || raw.bytes.length > 2048 || !/^(?:[0-9a-f]{2})*$/.test(raw.bytes) || !bytesEqual(fromHex(raw.bytes), stored)) {
    return void problems.push(`${where}: its bytes differ from the signed document's`);
  }
  let event: TradeEvent;
  try {
    event = decodeTradeEvent(id, stored);
  } catch (error) {
    return void problems.push(`${where}: ${describe(error)}`);
  }
  const name = TRADE_EVENT_TYPES[event.type].name;
  if (raw.type !== event.type || raw.name !== name || raw.time !== event.time || raw.device !== event.device || !sameJson(raw.fields, fieldsOf(event))) {
    return void problems.push(`${where}: its listed fields differ from the signed event`);
  }
  // The change that wrote it must be the device's own (its Automerge actor), not another's in its name.
  const devices = vault.content.devices.filter((d) => d.publicKey.startsWith(event.device));
  // Every value at this key (one, or several written concurrently) with the id of the operation that wrote it, "counter@actor".
  const values = (tradeMaps(vault.doc) ?? []).flatMap((map) => {
    const objectId = A.getObjectId(map as never);
    return objectId ? (A.getBackend(vault.doc).getAll(objectId, id) as unknown[][]) : [];
  });
  const writers = values
    .filter(([kind, value]) => kind === 'bytes' && value instanceof Uint8Array && bytesEqual(value, stored))
    .map((entry) => String(entry[2]))
    .map((opId) => opId.slice(opId.indexOf('@') + 1));
  const device = devices.find((d) => writers.includes(actorOfDevice(d.publicKey)));
  if (!device) return void problems.push(`${where}: written by ${writers.map(short).join(', ') || 'nobody'}, not by the device ${event.device} it names`);
  const revoked = vault.content.revocations.find((r) => r.publicKey === device.publicKey);
  if (revoked && event.time * 1000 > revoked.revokedAt) return void problems.push(`${where}: dated after its device ${event.device} was removed from the shop`);
  return {
    vaultId,
    shop: vault.content.profile.name,
    id,
    type: event.type,
    name,
    time: event.time,
    device: event.device,
    deviceKey: device.publicKey,
    deviceName: device.name,
    inPeriod: event.time >= period.from && event.time < period.to,
    derivesFrom: derivedFrom(event, vaultPrefix(vaultId)),
    event,
  };
}
