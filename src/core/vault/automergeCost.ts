/**
 * What loading Automerge bytes from a peer will cost, measured before Automerge sees them.
 *
 * Automerge stores operations in columns, run-length encoded: a run "2,000,000 × the same value"
 * takes a few bytes, so 200 bytes can hold a document that blocks `A.load` for seconds. This module
 * reads the binary format (chunks → column metadata → column data) and adds up run lengths without
 * expanding any run, so its work is linear in the bytes it was given plus, at most, the limits.
 *
 * The bound, summed over chunks (a saved document, a change, a compressed change, or a concatenation):
 * - ops: for a change chunk, the largest row count of its op columns; for a document chunk, the
 *   largest of its op-column row counts and of the ops its change columns claim (per change, its
 *   maxOp minus the largest maxOp of its deps: what Automerge allocates room for while loading, and
 *   the real op count, deletions included, of an honest document).
 * - changes: one per change chunk; for a document chunk, the largest row count of its change columns.
 * - The entries of grouped lists (each op's pred or succ list, each change's deps), which loading also
 *   walks, are a group column's sum of values: they are held to maxOps and maxChanges too, so loading
 *   does work linear in at most 2 × maxOps + 2 × maxChanges entries.
 * - expandedBytes: the input's size with every deflated column and compressed change inflated.
 *   Inflating stops as soon as the total passes maxExpandedBytes.
 * - actors: distinct actor ids over all chunks.
 * Checksums are verified (first 4 bytes of SHA-256 over type, length and contents, as Automerge does).
 * Unknown chunk types (bundles included), bytes after the last chunk, bad lengths and anything that is
 * not the format throw AutomergeCostError; nothing else is thrown.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { Inflate } from 'fflate';

export interface AutomergeLimits {
  maxOps: number;
  maxChanges: number;
  maxExpandedBytes: number;
  maxActors: number;
}

export interface AutomergeCost {
  chunks: number;
  ops: number;
  changes: number;
  expandedBytes: number;
  actors: number;
}

/** Bytes refused before loading: malformed, or over a limit. The message is for people. */
export class AutomergeCostError extends Error {
  override name = 'AutomergeCostError';
}

export const VAULT_LIMITS: AutomergeLimits = {
  maxOps: 400_000,
  maxChanges: 100_000,
  maxExpandedBytes: 16 * 1024 * 1024,
  maxActors: 1024,
};

const MAGIC_BYTES = [0x85, 0x6f, 0x4a, 0x83] as const;
const CHUNK_DOCUMENT = 0;
const CHUNK_CHANGE = 1;
const CHUNK_COMPRESSED_CHANGE = 2;
/** magic (4) + checksum (4) + type (1) + length (at least 1) */
const MIN_CHUNK_HEADER = 10;

/**
 * Column types, the low 3 bits of a column spec: 0 group, 1 actor, 2 uLEB, 3 delta, 4 boolean,
 * 5 string, 6 value metadata, 7 value. All but boolean and value are run-length encoded; actor,
 * uLEB, group and value metadata runs carry uLEB values, which this module only skips.
 */
const GROUP = 0;
const DELTA = 3;
const BOOLEAN = 4;
const STRING = 5;
const VALUE = 7;
/** Bit 3 of a column spec: the column's data is deflate-compressed. */
const DEFLATE = 8;

/** Document change columns read to find the ops each change claims (spec = id << 4 | type). */
const MAX_OP_COLUMN = (1 << 4) | DELTA;
const DEPS_NUM_COLUMN = (4 << 4) | GROUP;
const DEPS_INDEX_COLUMN = (4 << 4) | DELTA;

/** Largest deflate expansion per input byte (a 258-byte match in two bits), to size inflate steps. */
const MAX_DEFLATE_RATIO = 1032;

function malformed(what: string): AutomergeCostError {
  return new AutomergeCostError(`not valid Automerge data: ${what}`);
}

function count(n: number): string {
  return n > Number.MAX_SAFE_INTEGER ? 'more than 2^53' : String(n);
}

/** Bounds-checked reader of LEB128 numbers and byte ranges. */
class Reader {
  pos = 0;
  constructor(
    private readonly bytes: Uint8Array,
    private readonly what: string,
  ) {}

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  done(): boolean {
    return this.pos >= this.bytes.length;
  }

  /** Unsigned LEB128, at most 64 bits; exact below 2^53 (larger values are over every limit). */
  uleb(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.bytes.length) throw malformed(`${this.what} ends inside a number`);
      const byte = this.bytes[this.pos++]!;
      if (i === 9 && byte > 1) throw malformed(`${this.what} has a number over 64 bits`);
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value;
      scale *= 128;
    }
    throw malformed(`${this.what} has a number over 64 bits`);
  }

  /** Signed LEB128, at most 64 bits. */
  sleb(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.bytes.length) throw malformed(`${this.what} ends inside a number`);
      const byte = this.bytes[this.pos++]!;
      value += (byte & 0x7f) * scale;
      scale *= 128;
      if ((byte & 0x80) === 0) return byte & 0x40 ? value - scale : value;
    }
    throw malformed(`${this.what} has a number over 64 bits`);
  }

  /** Skips one LEB128 number (its value does not matter to the caller). */
  skip(): void {
    const end = Math.min(this.bytes.length, this.pos + 10);
    while (this.pos < end) {
      if ((this.bytes[this.pos++]! & 0x80) === 0) return;
    }
    throw malformed(`${this.what} has a truncated or over-long number`);
  }

  take(length: number): Uint8Array {
    if (length > this.remaining) throw malformed(`${this.what} is truncated`);
    const out = this.bytes.subarray(this.pos, this.pos + length);
    this.pos += length;
    return out;
  }
}

interface ColumnMeta {
  spec: number;
  length: number;
}

interface Column {
  spec: number;
  data: Uint8Array;
}

interface ChunkSpan {
  type: number;
  checksum: Uint8Array;
  contents: Uint8Array;
}

interface Counts {
  changes: number;
  /** Entries of the changes' deps lists. */
  depRefs: number;
  ops: number;
  /** Entries of the ops' pred (change) or succ (document) lists. */
  opRefs: number;
}

/** Running totals over all chunks, checked against the limits before they grow. */
class Tally {
  readonly counts: Counts = { changes: 0, depRefs: 0, ops: 0, opRefs: 0 };
  expandedBytes = 0;
  readonly actors = new Set<string>();

  constructor(readonly limits: AutomergeLimits) {}

  /** Throws if adding `more` would pass a limit: changes and their deps under maxChanges, ops and their preds/succs under maxOps. */
  add(more: Counts, commit = true): void {
    const limits: Record<keyof Counts, [number, string]> = {
      changes: [this.limits.maxChanges, 'changes'],
      depRefs: [this.limits.maxChanges, 'dependency references'],
      ops: [this.limits.maxOps, 'operations'],
      opRefs: [this.limits.maxOps, 'pred/succ references'],
    };
    for (const key of Object.keys(limits) as (keyof Counts)[]) {
      const [limit, name] = limits[key];
      const total = this.counts[key] + more[key];
      if (total > limit) throw new AutomergeCostError(`Automerge data has ${count(total)} ${name}, over the limit of ${limit}`);
    }
    if (commit) for (const key of Object.keys(more) as (keyof Counts)[]) this.counts[key] += more[key];
  }

  /** Room left for inflating a deflated part of `compressedLength` bytes (already counted). */
  inflateCap(compressedLength: number): number {
    return this.limits.maxExpandedBytes - this.expandedBytes + compressedLength;
  }

  addActor(actor: Uint8Array): void {
    let key = '';
    for (const byte of actor) key += byte.toString(16).padStart(2, '0');
    this.actors.add(key);
    if (this.actors.size > this.limits.maxActors) {
      throw new AutomergeCostError(`Automerge data names over ${this.limits.maxActors} actors`);
    }
  }
}

/**
 * Measures a saved document (A.save output), a change (A.getChanges element) or a concatenation of
 * chunks, never doing work proportional to the expanded size beyond the limits. Throws
 * AutomergeCostError when malformed or over a limit.
 */
export function measureAutomerge(bytes: Uint8Array, limits: AutomergeLimits): AutomergeCost {
  const chunks = splitChunks(bytes);
  const tally = new Tally(limits);
  tally.expandedBytes = bytes.length;
  if (bytes.length > limits.maxExpandedBytes) {
    throw new AutomergeCostError(`Automerge data is ${bytes.length} bytes, over the limit of ${limits.maxExpandedBytes}`);
  }
  for (const chunk of chunks) {
    if (chunk.type === CHUNK_DOCUMENT) {
      verifyChecksum(chunk.type, chunk.contents, chunk.checksum);
      measureDocument(chunk.contents, tally);
    } else if (chunk.type === CHUNK_CHANGE) {
      verifyChecksum(chunk.type, chunk.contents, chunk.checksum);
      measureChange(chunk.contents, tally);
    } else {
      const inflated = inflateBounded(chunk.contents, tally.inflateCap(chunk.contents.length), 'compressed change');
      tally.expandedBytes += inflated.length - chunk.contents.length;
      // A compressed change carries the checksum of the change chunk it inflates to.
      verifyChecksum(CHUNK_CHANGE, inflated, chunk.checksum);
      measureChange(inflated, tally);
    }
  }
  return { chunks: chunks.length, ops: tally.counts.ops, changes: tally.counts.changes, expandedBytes: tally.expandedBytes, actors: tally.actors.size };
}

/** Chunk boundaries, from the headers alone: refuses padding, unknown types and truncation. */
function splitChunks(bytes: Uint8Array): ChunkSpan[] {
  const chunks: ChunkSpan[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    const hasMagic =
      bytes.length - pos >= MIN_CHUNK_HEADER && MAGIC_BYTES.every((byte, i) => bytes[pos + i] === byte);
    if (!hasMagic) {
      if (chunks.length === 0) throw malformed('no Automerge magic bytes');
      throw new AutomergeCostError(`Automerge data refused: ${bytes.length - pos} bytes of padding after the document`);
    }
    const type = bytes[pos + 8]!;
    if (type !== CHUNK_DOCUMENT && type !== CHUNK_CHANGE && type !== CHUNK_COMPRESSED_CHANGE) {
      throw new AutomergeCostError(`Automerge data refused: unknown chunk type ${type}`);
    }
    const header = new Reader(bytes.subarray(pos + 9), 'chunk header');
    const length = header.uleb();
    const start = pos + 9 + header.pos;
    if (length > bytes.length - start) throw malformed(`chunk ${chunks.length + 1} is truncated`);
    chunks.push({ type, checksum: bytes.subarray(pos + 4, pos + 8), contents: bytes.subarray(start, start + length) });
    pos = start + length;
  }
  return chunks;
}

function verifyChecksum(type: number, contents: Uint8Array, checksum: Uint8Array): void {
  const prefix = [type];
  let length = contents.length;
  do {
    prefix.push((length % 128) | (length >= 128 ? 0x80 : 0));
    length = Math.floor(length / 128);
  } while (length > 0);
  const hash = sha256.create().update(Uint8Array.from(prefix)).update(contents).digest();
  for (let i = 0; i < 4; i++) {
    if (hash[i] !== checksum[i]) throw malformed('checksum mismatch');
  }
}

function readActor(reader: Reader): Uint8Array {
  return reader.take(reader.uleb());
}

/** Column metadata: a count, then (spec, length) pairs in normalized order. */
function readColumnMetadata(reader: Reader): ColumnMeta[] {
  const n = reader.uleb();
  if (n * 2 > reader.remaining) throw malformed('column metadata is truncated');
  const columns: ColumnMeta[] = [];
  let previous = -1;
  for (let i = 0; i < n; i++) {
    const spec = reader.uleb();
    if (spec > 0xffffffff) throw malformed('column spec over 32 bits');
    const normalized = spec - (spec & DEFLATE);
    if (normalized < previous) throw malformed('columns out of order');
    previous = normalized;
    columns.push({ spec, length: reader.uleb() });
  }
  return columns;
}

function readColumnData(reader: Reader, metadata: ColumnMeta[]): Column[] {
  return metadata.map(({ spec, length }) => ({ spec, data: reader.take(length) }));
}

function inflateColumns(columns: Column[], tally: Tally): Column[] {
  return columns.map((column) => {
    if ((column.spec & DEFLATE) === 0) return column;
    const data = inflateBounded(column.data, tally.inflateCap(column.data.length), 'deflated column');
    tally.expandedBytes += data.length - column.data.length;
    return { spec: column.spec - DEFLATE, data };
  });
}

/** Raw DEFLATE with a hard cap on output, fed in steps so no step can overshoot the cap by much. */
function inflateBounded(deflated: Uint8Array, cap: number, what: string): Uint8Array {
  const parts: Uint8Array[] = [];
  let total = 0;
  const overCap = () =>
    new AutomergeCostError(`Automerge data inflates past the limit of ${count(cap)} more bytes (${what})`);
  const inflater = new Inflate((chunk) => {
    total += chunk.length;
    if (total > cap) throw overCap();
    if (chunk.length > 0) parts.push(chunk);
  });
  try {
    if (deflated.length === 0) throw malformed(`empty ${what}`);
    let pos = 0;
    while (pos < deflated.length) {
      const step = Math.max(256, Math.min(65536, Math.floor((cap - total) / MAX_DEFLATE_RATIO)));
      const end = Math.min(deflated.length, pos + step);
      inflater.push(deflated.subarray(pos, end), end === deflated.length);
      pos = end;
    }
  } catch (error) {
    if (error instanceof AutomergeCostError) throw error;
    throw malformed(`${what} does not inflate`);
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Row count of one column, and for a group column the sum of its values (rows of its members). */
interface ColumnRows {
  rows: number;
  groupSum: number;
}

/** Counts rows by adding run lengths; never expands a run. Value columns are raw bytes: 0 rows. */
function countRows(column: Column): ColumnRows {
  const type = column.spec & 7;
  if (type === VALUE) return { rows: 0, groupSum: 0 };
  const reader = new Reader(column.data, `column ${column.spec}`);
  let rows = 0;
  let groupSum = 0;
  if (type === BOOLEAN) {
    while (!reader.done()) rows += reader.uleb();
    return { rows, groupSum };
  }
  while (!reader.done()) {
    const runLength = reader.sleb();
    if (runLength === 0) {
      rows += reader.uleb(); // a run of nulls
      continue;
    }
    const values = runLength > 0 ? 1 : -runLength;
    if (values > reader.remaining) throw malformed(`column ${column.spec} is truncated`);
    for (let i = 0; i < values; i++) {
      if (type === GROUP) groupSum += (runLength > 0 ? runLength : 1) * reader.uleb();
      else if (type === STRING) reader.take(reader.uleb());
      else reader.skip();
    }
    rows += runLength > 0 ? runLength : values;
  }
  return { rows, groupSum };
}

/** Rows of a set of columns, and entries of the lists grouped under their group columns. */
interface Counted {
  /** Largest row count over the columns, except those grouped under a group column. */
  rows: number;
  /** Largest entry count of the grouped lists: a group column's sum, or a grouped column's rows. */
  entries: number;
}

function countColumns(columns: Column[]): Counted {
  const groups = new Set(columns.filter((column) => (column.spec & 7) === GROUP).map((column) => column.spec >>> 4));
  let rows = 0;
  let entries = 0;
  for (const column of columns) {
    const counted = countRows(column);
    if ((column.spec & 7) !== GROUP && groups.has(column.spec >>> 4)) {
      entries = Math.max(entries, counted.rows);
    } else {
      rows = Math.max(rows, counted.rows);
      entries = Math.max(entries, counted.groupSum);
    }
  }
  return { rows, entries };
}

/** Expands an RLE column of integers (delta-decoded if a delta column); only for counted, bounded columns. */
function decodeIntegers(column: Column | undefined, name: string): number[] {
  if (!column) return [];
  const type = column.spec & 7;
  const reader = new Reader(column.data, name);
  const read = () => (type === DELTA ? reader.sleb() : reader.uleb());
  const values: number[] = [];
  let absolute = 0;
  const push = (value: number) => {
    absolute = type === DELTA ? absolute + value : value;
    if (!(absolute >= 0 && absolute <= 0xffffffff)) throw malformed(`${name} out of range`);
    values.push(absolute);
  };
  while (!reader.done()) {
    const runLength = reader.sleb();
    if (runLength > 0) {
      const value = read();
      for (let i = 0; i < runLength; i++) push(value);
    } else if (runLength < 0) {
      for (let i = 0; i < -runLength; i++) push(read());
    } else {
      throw malformed(`${name} has nulls`);
    }
  }
  return values;
}

/**
 * Ops the change columns of a document claim, as Automerge computes them on load: for each change,
 * its maxOp minus the largest maxOp among its deps (its maxOp if it has none).
 */
function claimedOps(changeColumns: Column[]): number {
  const find = (spec: number) => changeColumns.find((column) => column.spec === spec);
  const maxOps = decodeIntegers(find(MAX_OP_COLUMN), 'max op column');
  const depsNum = decodeIntegers(find(DEPS_NUM_COLUMN), 'deps column');
  const depsIndex = decodeIntegers(find(DEPS_INDEX_COLUMN), 'deps index column');
  if (depsNum.length > maxOps.length) throw malformed('changes without a max op');
  let claimed = 0;
  let next = 0;
  for (let i = 0; i < maxOps.length; i++) {
    let depsMaxOp = 0;
    const deps = depsNum[i] ?? 0;
    for (let d = 0; d < deps; d++) {
      const dep = depsIndex[next++];
      if (dep === undefined || dep >= maxOps.length) throw malformed('change dependency out of range');
      depsMaxOp = Math.max(depsMaxOp, maxOps[dep]!);
    }
    if (depsMaxOp > maxOps[i]!) throw malformed("a change's max op is below its dependency's");
    claimed += maxOps[i]! - depsMaxOp;
  }
  return claimed;
}

/** Document chunk: actors, heads, change and op column metadata, column data, optional head indexes. */
function measureDocument(contents: Uint8Array, tally: Tally): void {
  const reader = new Reader(contents, 'document chunk');
  const actorCount = reader.uleb();
  if (actorCount > reader.remaining) throw malformed('document actors are truncated');
  const actors = new Set<string>();
  for (let i = 0; i < actorCount; i++) {
    const actor = readActor(reader);
    tally.addActor(actor);
    const key = actor.join(',');
    if (actors.has(key)) throw malformed('document lists an actor twice');
    actors.add(key);
  }
  const heads = reader.uleb();
  reader.take(heads * 32);
  const changeMetadata = readColumnMetadata(reader);
  const opMetadata = readColumnMetadata(reader);
  const changeColumns = inflateColumns(readColumnData(reader, changeMetadata), tally);
  const opColumns = inflateColumns(readColumnData(reader, opMetadata), tally);
  if (!reader.done()) {
    for (let i = 0; i < heads; i++) reader.uleb();
    if (!reader.done()) throw malformed('leftover bytes in a document chunk');
  }

  const changes = countColumns(changeColumns);
  const ops = countColumns(opColumns);
  tally.add({ changes: changes.rows, depRefs: changes.entries, ops: ops.rows, opRefs: ops.entries }, false);
  // Bounded now: the change columns have at most maxChanges rows and dependency references.
  const claimed = claimedOps(changeColumns);
  tally.add({ changes: changes.rows, depRefs: changes.entries, ops: Math.max(ops.rows, claimed), opRefs: ops.entries });
}

/** Change chunk: deps, actor, seq, startOp, time, message, other actors, op columns, extra bytes. */
function measureChange(contents: Uint8Array, tally: Tally): void {
  const reader = new Reader(contents, 'change chunk');
  const deps = reader.uleb();
  reader.take(deps * 32);
  tally.addActor(readActor(reader));
  reader.uleb(); // seq
  if (reader.uleb() === 0) throw malformed('change starts at op 0');
  reader.sleb(); // time
  reader.take(reader.uleb()); // message
  const otherActors = reader.uleb();
  if (otherActors > reader.remaining) throw malformed('change actors are truncated');
  for (let i = 0; i < otherActors; i++) tally.addActor(readActor(reader));
  const opMetadata = readColumnMetadata(reader);
  if (opMetadata.some((column) => column.spec & DEFLATE)) throw malformed('a change chunk has a deflated column');
  const ops = countColumns(readColumnData(reader, opMetadata));
  // The rest of the chunk is the change's extra bytes.
  tally.add({ changes: 1, depRefs: 0, ops: ops.rows, opRefs: ops.entries });
}
