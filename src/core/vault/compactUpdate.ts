import { sha256 } from '@noble/hashes/sha2.js';
import { SIGNATURE_BYTES } from '../crypto/ed25519';
import { bytesEqual, concatBytes, fromHex, toHex } from '../wire/hex';
import { checkSignedHeads, HEAD_BYTES, sortHeads, type SignedHeads } from './signedHeads';

/**
 * A compact signed update: one small change of a vault's shared document (a stock or price
 * edit: one map put) and its device's new signed statement, in at most 200 bytes, so it fits a
 * LoRa packet (233 bytes) with room for a radio envelope. Specified byte by byte in
 * docs/vault-format.md.
 *
 * It carries an Automerge change chunk with everything elided that a node holding the vault can
 * rebuild: the magic bytes, checksum, chunk type and length (the checksum is the first 4 bytes of
 * SHA-256 over type | length | body; the change hash is all 32), the dependencies when they are
 * the heads of the device's previous statement, and the actor when it is the device's own (the
 * first 16 bytes of its key, as deviceActor in ownShop.ts). The signature is the device's
 * signature over the ordinary signed-heads statement (signedHeads.ts) with heads [change hash],
 * so the statement the receiver rebuilds and stores is the very one full sync would carry, and
 * applying the change reaches the same heads.
 *
 * Wire layout:
 *   version 0x01 | vault id prefix (8) | device key prefix (4) | counter (uLEB128) | flags |
 *   [deps: count uLEB128, 32 each, unless flag 0x01] | [actor: length uLEB128, bytes, unless flag 0x02] |
 *   seq, startOp, time, message, other actors, op column metadata and data (as in the change) |
 *   Ed25519 signature (64)
 *
 * Pure and platform-free: SHA-256 and Ed25519 only, no Automerge.
 */
export const COMPACT_UPDATE_VERSION = 1;
/** The whole update; a LoRa packet carries 233 bytes, the rest is for the radio's envelope. */
export const MAX_COMPACT_UPDATE_BYTES = 200;
/** The change's deps are the heads of the device's previous statement (elided). */
export const FLAG_DEPS_ELIDED = 0x01;
/** The change's actor is the device's (the first 16 bytes of its key; elided). */
export const FLAG_ACTOR_ELIDED = 0x02;
const KNOWN_FLAGS = FLAG_DEPS_ELIDED | FLAG_ACTOR_ELIDED;
export const VAULT_PREFIX_BYTES = 8;
export const DEVICE_PREFIX_BYTES = 4;
export const DEVICE_ACTOR_BYTES = 16;
/** version, vault prefix, device prefix, counter (at least 1), flags. */
const MIN_HEADER_BYTES = 1 + VAULT_PREFIX_BYTES + DEVICE_PREFIX_BYTES + 1 + 1;

const MAGIC = Uint8Array.of(0x85, 0x6f, 0x4a, 0x83);
const CHUNK_CHANGE = 1;

/** A change that cannot travel as a compact update (the caller sends it by normal sync), or a bad argument. */
export class CompactUpdateError extends Error {
  override name = 'CompactUpdateError';
}

/** What a node holds of the vault an update names, found by the first 8 bytes of its id. */
export interface CompactUpdateLookup {
  vault(prefix: Uint8Array): { vaultId: Uint8Array; statements: readonly SignedHeads[] } | undefined;
}

export type DecodedCompactUpdate = { statement: SignedHeads; change: Uint8Array } | { error: string };

class ParseError extends Error {}

/** Bounds-checked LEB128 reader; refuses overlong (non-minimal) and over-53-bit numbers. */
class Reader {
  pos = 0;
  constructor(
    readonly bytes: Uint8Array,
    readonly end = bytes.length,
  ) {}

  get remaining(): number {
    return this.end - this.pos;
  }

  uleb(what: string): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) throw new ParseError(`${what} is truncated`);
      const byte = this.bytes[this.pos++]!;
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (byte === 0 && i > 0) throw new ParseError(`${what} is not minimally encoded`);
        if (!Number.isSafeInteger(value)) throw new ParseError(`${what} is over 2^53`);
        return value;
      }
      scale *= 128;
    }
    throw new ParseError(`${what} is over 2^53`);
  }

  /** Signed LEB128 (Automerge's time), skipped: its bytes are carried as they are. */
  skipSleb(what: string): void {
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ParseError(`${what} is truncated`);
      if ((this.bytes[this.pos++]! & 0x80) === 0) return;
    }
    throw new ParseError(`${what} is over 64 bits`);
  }

  take(length: number, what: string): Uint8Array {
    if (length > this.remaining) throw new ParseError(`${what} is truncated`);
    const out = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }
}

function uleb(value: number): Uint8Array {
  const out: number[] = [];
  do {
    const low = value % 128;
    value = Math.floor(value / 128);
    out.push(value > 0 ? low | 0x80 : low);
  } while (value > 0);
  return Uint8Array.from(out);
}

/**
 * The part of a change body after the actor, checked for shape: seq, startOp (not 0), time,
 * message, other actors, op column metadata, the columns' data, and nothing after (Automerge 3
 * writes no extra bytes; a change with some is not sent compact). Returns its bytes.
 */
function readTail(reader: Reader): Uint8Array {
  const start = reader.pos;
  reader.uleb('seq');
  if (reader.uleb('start op') === 0) throw new ParseError('change starts at op 0');
  reader.skipSleb('time');
  reader.take(reader.uleb('message length'), 'message');
  const actors = reader.uleb('other actor count');
  if (actors > reader.remaining) throw new ParseError('other actors are truncated');
  for (let i = 0; i < actors; i++) reader.take(reader.uleb('other actor length'), 'other actor');
  const columns = reader.uleb('column count');
  if (columns * 2 > reader.remaining) throw new ParseError('column metadata is truncated');
  let data = 0;
  for (let i = 0; i < columns; i++) {
    reader.uleb('column spec');
    data += reader.uleb('column length');
  }
  reader.take(data, 'column data');
  if (reader.remaining !== 0) throw new ParseError(`${reader.remaining} bytes after the change's columns`);
  return reader.bytes.subarray(start, reader.end);
}

/** A change chunk from its body: magic, checksum (first 4 bytes of SHA-256 over type | length | body), type, length, body. Also its hash. */
function changeChunk(body: Uint8Array): { change: Uint8Array; hash: Uint8Array } {
  const hashed = concatBytes(Uint8Array.of(CHUNK_CHANGE), uleb(body.length), body);
  const hash = sha256(hashed);
  return { change: concatBytes(MAGIC, hash.subarray(0, 4), hashed), hash };
}

function changeBody(deps: readonly Uint8Array[], actor: Uint8Array, tail: Uint8Array): Uint8Array {
  return concatBytes(uleb(deps.length), ...deps, uleb(actor.length), actor, tail);
}

function deviceKey(statement: SignedHeads): Uint8Array {
  return statement.certificate.devicePublicKey;
}

/**
 * The compact update carrying `change` (one Automerge change chunk, as A.getChanges returns it)
 * and `statement`, the device's statement made right after it (heads exactly [the change's
 * hash]). `previous` is that device's statement before, as the receivers hold it: when the
 * change's deps are its heads they are left out. Throws CompactUpdateError when the change
 * cannot travel compact (the caller sends it by normal sync): not a single uncompressed change,
 * a statement that is not exactly its hash, or over 200 bytes once encoded (deps that are not the
 * previous statement's heads, another actor's change, a long value or many operations).
 */
export function encodeCompactUpdate(change: Uint8Array, statement: SignedHeads, previous: SignedHeads | undefined): Uint8Array {
  const fail = (why: string) => new CompactUpdateError(`cannot send as a compact update: ${why}`);
  if (change.length < 10 || !bytesEqual(change.subarray(0, 4), MAGIC)) throw fail('not an Automerge chunk');
  if (change[8] !== CHUNK_CHANGE) throw fail(`chunk type ${change[8]} is not an uncompressed change`);
  const reader = new Reader(change);
  reader.pos = 9;
  let deps: Uint8Array[];
  let actor: Uint8Array;
  let tail: Uint8Array;
  try {
    const length = reader.uleb('chunk length');
    if (length !== reader.remaining) throw new ParseError('chunk length does not match its bytes (one change at a time)');
    const count = reader.uleb('dependency count');
    if (count * HEAD_BYTES > reader.remaining) throw new ParseError('dependencies are truncated');
    deps = Array.from({ length: count }, () => reader.take(HEAD_BYTES, 'dependency'));
    actor = reader.take(reader.uleb('actor length'), 'actor');
    tail = readTail(reader);
  } catch (error) {
    if (error instanceof ParseError) throw fail(error.message);
    throw error;
  }
  const rebuilt = changeChunk(changeBody(deps, actor, tail));
  if (!bytesEqual(rebuilt.change, change)) throw fail('the change is not in canonical form (checksum or encoding)');
  const hash = toHex(rebuilt.hash);
  if (statement.heads.length !== 1 || statement.heads[0] !== hash) throw fail("the statement's heads are not exactly this change's hash");
  if (statement.counter < 1 || !Number.isSafeInteger(statement.counter)) throw fail('counter out of range');
  if (statement.signature.length !== SIGNATURE_BYTES) throw fail('signature is not 64 bytes');
  const device = deviceKey(statement);
  if (previous) {
    if (!bytesEqual(deviceKey(previous), device)) throw fail('the previous statement is another device’s');
    if (!bytesEqual(previous.vaultId, statement.vaultId)) throw fail('the previous statement is for another vault');
    if (previous.counter >= statement.counter) throw fail('the counter did not rise past the previous statement');
  }
  const previousHeads = previous ? sortHeads(previous.heads) : undefined;
  const depsElided =
    previousHeads !== undefined && previousHeads.length === deps.length && deps.every((dep, i) => toHex(dep) === previousHeads[i]);
  const actorElided = bytesEqual(actor, device.subarray(0, DEVICE_ACTOR_BYTES));
  const flags = (depsElided ? FLAG_DEPS_ELIDED : 0) | (actorElided ? FLAG_ACTOR_ELIDED : 0);
  const update = concatBytes(
    Uint8Array.of(COMPACT_UPDATE_VERSION),
    statement.vaultId.subarray(0, VAULT_PREFIX_BYTES),
    device.subarray(0, DEVICE_PREFIX_BYTES),
    uleb(statement.counter),
    Uint8Array.of(flags),
    depsElided ? new Uint8Array(0) : concatBytes(uleb(deps.length), ...deps),
    actorElided ? new Uint8Array(0) : concatBytes(uleb(actor.length), actor),
    tail,
    statement.signature,
  );
  if (update.length > MAX_COMPACT_UPDATE_BYTES) {
    const why = [
      depsElided ? '' : `${deps.length} dependencies not the previous statement's heads`,
      actorElided ? '' : "an actor that is not the device's",
    ].filter(Boolean);
    throw fail(`${update.length} bytes, over ${MAX_COMPACT_UPDATE_BYTES}${why.length ? ` (${why.join('; ')})` : ''}`);
  }
  return update;
}

/**
 * A compact update, checked and rebuilt: the change (the exact chunk the device made) and the
 * device's statement (vault id and certificate from the statement this node holds for the
 * device; the signature verified with checkSignedHeads). Or why not: too long, unknown version
 * or flags, an unknown vault or device, a counter not above the one held, malformed or trailing
 * bytes, or a signature that does not verify the rebuilt hash (a change or a previous statement
 * other than the device's). Never throws. Apply the result with acceptBundle(current,
 * { statements: [statement], snapshot: false, changes: [change] }).
 */
export function decodeCompactUpdate(bytes: Uint8Array, lookup: CompactUpdateLookup): DecodedCompactUpdate {
  try {
    return decode(bytes, lookup);
  } catch (error) {
    return { error: `compact update refused: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function decode(bytes: Uint8Array, lookup: CompactUpdateLookup): DecodedCompactUpdate {
  const refuse = (why: string): DecodedCompactUpdate => ({ error: `compact update refused: ${why}` });
  if (bytes.length > MAX_COMPACT_UPDATE_BYTES) return refuse(`${bytes.length} bytes, over ${MAX_COMPACT_UPDATE_BYTES}`);
  if (bytes.length < MIN_HEADER_BYTES + SIGNATURE_BYTES) return refuse(`${bytes.length} bytes is too short`);
  if (bytes[0] !== COMPACT_UPDATE_VERSION) return refuse(`unknown version ${bytes[0]}`);
  const vaultPrefix = bytes.subarray(1, 1 + VAULT_PREFIX_BYTES);
  const devicePrefix = bytes.subarray(1 + VAULT_PREFIX_BYTES, 1 + VAULT_PREFIX_BYTES + DEVICE_PREFIX_BYTES);
  const signature = bytes.slice(bytes.length - SIGNATURE_BYTES);
  const reader = new Reader(bytes, bytes.length - SIGNATURE_BYTES);
  reader.pos = 1 + VAULT_PREFIX_BYTES + DEVICE_PREFIX_BYTES;
  let counter: number;
  let flags: number;
  let deps: Uint8Array[] | undefined;
  let actor: Uint8Array | undefined;
  let tail: Uint8Array;
  try {
    counter = reader.uleb('counter');
    if (counter < 1) return refuse('counter must be at least 1');
    flags = reader.take(1, 'flags')[0]!;
    if ((flags & ~KNOWN_FLAGS) !== 0) return refuse(`unknown flags 0x${flags.toString(16).padStart(2, '0')}`);
    if ((flags & FLAG_DEPS_ELIDED) === 0) {
      const count = reader.uleb('dependency count');
      if (count * HEAD_BYTES > reader.remaining) throw new ParseError('dependencies are truncated');
      deps = Array.from({ length: count }, () => reader.take(HEAD_BYTES, 'dependency').slice());
    }
    if ((flags & FLAG_ACTOR_ELIDED) === 0) actor = reader.take(reader.uleb('actor length'), 'actor').slice();
    tail = readTail(reader).slice();
  } catch (error) {
    if (error instanceof ParseError) return refuse(error.message);
    throw error;
  }

  const vault = lookup.vault(vaultPrefix.slice());
  if (!vault || !bytesEqual(vault.vaultId.subarray(0, VAULT_PREFIX_BYTES), vaultPrefix)) return refuse('unknown vault');
  // A 4-byte prefix may match more than one device of a vault: each is tried, the signature decides.
  const candidates = vault.statements.filter((s) => bytesEqual(deviceKey(s).subarray(0, DEVICE_PREFIX_BYTES), devicePrefix));
  if (candidates.length === 0) return refuse('unknown device (no statement held from it)');
  let first: string | undefined;
  for (const held of candidates) {
    if (counter <= held.counter) {
      first ??= `stale: counter ${counter}, already holding ${held.counter}`;
      continue;
    }
    const body = changeBody(
      deps ?? sortHeads(held.heads).map((h) => fromHex(h)),
      actor ?? deviceKey(held).subarray(0, DEVICE_ACTOR_BYTES),
      tail,
    );
    const { change, hash } = changeChunk(body);
    const statement: SignedHeads = { vaultId: vault.vaultId, counter, heads: [toHex(hash)], certificate: held.certificate, signature };
    const problem = checkSignedHeads(statement);
    if (problem === undefined) return { statement, change };
    // Elided deps rebuilt on the very statement before this one (counter + 1) leave nothing
    // unknown: a signature that fails there is forged. Further ahead, the device may have signed
    // versions in between that this node missed.
    const mayNotFollow = deps === undefined && counter > held.counter + 1;
    first ??=
      problem === 'heads signature does not verify'
        ? `signature does not verify the rebuilt change${mayNotFollow ? ' (it may not follow the statement held from the device)' : ''}`
        : problem;
  }
  return refuse(first!);
}
