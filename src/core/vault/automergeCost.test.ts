import * as A from '@automerge/automerge';
import { sha256 } from '@noble/hashes/sha2.js';
import { deflateSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { AutomergeCostError, measureAutomerge, VAULT_LIMITS, type AutomergeCost, type AutomergeLimits } from './automergeCost';
import { concatBytes } from '../wire/hex';

const UNLIMITED: AutomergeLimits = { maxOps: 1e15, maxChanges: 1e15, maxExpandedBytes: 1e15, maxActors: 1e9 };

const fromHex = (hex: string) => Uint8Array.from(hex.match(/../g)!.map((byte) => parseInt(byte, 16)));

const concat = concatBytes;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    out.push((n % 128) | (n >= 128 ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = ((n % 128) + 128) % 128;
    n = Math.floor(n / 128);
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

function readUleb(bytes: Uint8Array, pos: number): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (;;) {
    const byte = bytes[pos++]!;
    value += (byte & 0x7f) * scale;
    scale *= 128;
    if ((byte & 0x80) === 0) return [value, pos];
  }
}

/** A chunk with a correct checksum: magic, checksum of (checksumType, length, contents), type, length, contents. */
function chunk(type: number, contents: Uint8Array, checksumType = type): Uint8Array {
  const hash = sha256.create().update(Uint8Array.from([checksumType, ...uleb(contents.length)])).update(contents).digest();
  return Uint8Array.from([0x85, 0x6f, 0x4a, 0x83, ...hash.subarray(0, 4), type, ...uleb(contents.length), ...contents]);
}

/** A compressed change chunk (type 2): the checksum of the change chunk, then its contents deflated. */
function compressedChunk(changeContents: Uint8Array, deflated: Uint8Array = deflateSync(changeContents)): Uint8Array {
  const checksum = chunk(1, changeContents).subarray(4, 8);
  return Uint8Array.from([0x85, 0x6f, 0x4a, 0x83, ...checksum, 2, ...uleb(deflated.length), ...deflated]);
}

/** Type and contents of the first chunk in `bytes` (which must be well formed). */
function contentsOf(bytes: Uint8Array): { type: number; contents: Uint8Array } {
  const [length, start] = readUleb(bytes, 9);
  return { type: bytes[8]!, contents: bytes.subarray(start, start + length) };
}

/** A document chunk made by hand: one actor, no heads, the given change and op columns. */
function handmadeDocument(changeColumns: [number, number[]][], opColumns: [number, number[]][]): Uint8Array {
  const metadata = (columns: [number, number[]][]) => [
    ...uleb(columns.length),
    ...columns.flatMap(([spec, data]) => [...uleb(spec), ...uleb(data.length)]),
  ];
  const contents = [
    ...uleb(1), ...uleb(16), ...new Array<number>(16).fill(0xab), // actors
    ...uleb(0), // heads
    ...metadata(changeColumns),
    ...metadata(opColumns),
    ...changeColumns.flatMap(([, data]) => data),
    ...opColumns.flatMap(([, data]) => data),
  ];
  return chunk(0, Uint8Array.from(contents));
}

/** Operations Automerge itself reports for a document: every op of every change, deletions included. */
function realOps(doc: A.Doc<unknown>): number {
  return A.getAllChanges(doc).reduce((sum, change) => sum + A.decodeChange(change).ops.length, 0);
}

function realActors(doc: A.Doc<unknown>): number {
  return new Set(A.getAllChanges(doc).map((change) => A.decodeChange(change).actor)).size;
}

function refusal(bytes: Uint8Array, limits: AutomergeLimits): AutomergeCostError {
  try {
    measureAutomerge(bytes, limits);
  } catch (error) {
    expect(error).toBeInstanceOf(AutomergeCostError);
    return error as AutomergeCostError;
  }
  throw new Error('measureAutomerge accepted bytes it should refuse');
}

const actor = (n: number) => n.toString(16).padStart(32, '0');

// Saved by Automerge 3.5: A.save(A.from({ a: 1 }, { actor: '01' })), and its one change.
const TINY_DOCUMENT = fromHex(
  '856f4a83324d1f34006301010101b007f021e50e47301e526a3a983b9370381cd769eed5e00a04cd378591890a8506010203021302230640' +
    '0256020815032102230234014202560257018001027f007f017f017f84a696d8067f007f077f01617f007f01017f017f14017f0000',
);
const TINY_CHANGE = fromHex(
  '856f4a83b007f0210124000101010184a696d8060000061503340142025602570170027f0161017f017f14017f00',
);

// Saved by Automerge 3.5: A.save(A.from({ l: new Array(2_000_000).fill(null) })) — 188 bytes, 2,000,001 ops
// (A.load of it took 1.5 s on this machine) — and its one change, 115 bytes (A.load took 3.2 s).
const BOMB_DOCUMENT = fromHex(
  '856f4a8381e4910b00b10101108b1cecec63a6b15f866e8c07ad7d8773011e05823574efd12d310afbc6dc533844adca91c5d3423334e93b' +
    'e7efb18f8617060102030213052306400256020b010702071107130a1507210523053404420756058001057f007f017f8189fa007f84a696' +
    'd8067f007f0700018089fa000000018089fa00010002ff88fa000000017e0002fe88fa00017f016c0080897a8189fa00008189fa000101' +
    '80897a7f028089fa00018189fa00008189fa000000',
);
const BOMB_CHANGE = fromHex(
  '856f4a831e058235016900108b1cecec63a6b15f866e8c07ad7d8773010184a696d806000009010702071107130a1507340442075605700500' +
    '018089fa000000018089fa00010002ff88fa000000017e0002fe88fa00017f016c0080897a0180897a7f028089fa00018189fa00008189fa' +
    '0000',
);

describe('byte vectors', () => {
  it('measures a tiny document saved by Automerge 3.5 exactly', () => {
    expect(A.load(TINY_DOCUMENT)).toEqual({ a: 1 });
    expect(measureAutomerge(TINY_DOCUMENT, VAULT_LIMITS)).toEqual({ chunks: 1, ops: 1, changes: 1, expandedBytes: 109, actors: 1 });
  });

  it('measures its change, and the two concatenated', () => {
    expect(A.decodeChange(TINY_CHANGE).ops).toHaveLength(1);
    expect(measureAutomerge(TINY_CHANGE, VAULT_LIMITS)).toEqual({ chunks: 1, ops: 1, changes: 1, expandedBytes: 46, actors: 1 });
    expect(measureAutomerge(concat(TINY_DOCUMENT, TINY_CHANGE), VAULT_LIMITS)).toEqual({
      chunks: 2,
      ops: 2,
      changes: 2,
      expandedBytes: 155,
      actors: 1,
    });
  });

  it('measures empty input as nothing', () => {
    expect(measureAutomerge(new Uint8Array(0), VAULT_LIMITS)).toEqual({ chunks: 0, ops: 0, changes: 0, expandedBytes: 0, actors: 0 });
  });
});

type Sample = { name: string; doc: A.Doc<unknown> };

function sampleDocuments(): Sample[] {
  const samples: Sample[] = [];

  let maps = A.from<Record<string, unknown>>({ shop: { name: 'Dar', area: 'Old Market' }, n: 1, ok: true, nothing: null }, { actor: actor(1) });
  maps = A.change(maps, (d) => {
    d.nested = { deeper: { deepest: { x: 1.5, when: new Date(1_700_000_000_000), bytes: new Uint8Array([1, 2, 3]) } } };
    d.n = 2;
  });
  samples.push({ name: 'maps', doc: maps });

  let lists = A.from<{ l: unknown[] }>({ l: [1, 2, 3, 'four', { five: 5 }, [6, 7]] }, { actor: actor(2) });
  lists = A.change(lists, (d) => {
    d.l.push(8, 9);
    A.insertAt(d.l, 0, 0);
    d.l[3] = 'three';
  });
  samples.push({ name: 'lists', doc: lists });

  let text = A.from<{ t: string; s: A.ImmutableString }>({ t: 'hello world', s: new A.ImmutableString('not collaborative') }, { actor: actor(3) });
  text = A.change(text, (d) => {
    A.splice(d, ['t'], 5, 0, ', dear');
    A.mark(d, ['t'], { start: 0, end: 5, expand: 'both' }, 'bold', true);
  });
  text = A.change(text, (d) => A.splice(d, ['t'], 0, 5, 'HELLO'));
  samples.push({ name: 'text with a mark', doc: text });

  let counters = A.from({ stock: new A.Counter(10) }, { actor: actor(4) });
  for (let i = 0; i < 200; i++) counters = A.change(counters, (d) => d.stock.increment(i % 2 ? 1 : -2));
  samples.push({ name: '200 counter increments', doc: counters });

  // Twenty actors write the same keys concurrently; a final write resolves the conflicts (an op with 20 preds).
  const base = A.from<{ shared: number; notes: Record<string, string>; list: number[] }>({ shared: 0, notes: {}, list: [] }, { actor: actor(5) });
  let merged = base;
  for (let i = 0; i < 20; i++) {
    const fork = A.change(A.clone(base, { actor: actor(100 + i) }), (d) => {
      d.shared = i;
      d.notes[`n${i}`] = `note ${i}`;
      d.list.push(i);
    });
    merged = A.merge(merged, fork);
  }
  merged = A.change(merged, (d) => {
    d.shared = -1;
  });
  samples.push({ name: '20 actors merged', doc: merged });

  let deleted = A.from<{ text: string; list: number[]; map?: Record<string, number> }>(
    { text: 'The quick brown fox jumps over the lazy dog', list: Array.from({ length: 100 }, (_, i) => i), map: {} },
    { actor: actor(6) },
  );
  deleted = A.change(deleted, (d) => {
    for (let i = 0; i < 50; i++) d.map![`k${i}`] = i;
  });
  deleted = A.change(deleted, (d) => {
    A.splice(d, ['text'], 4, 16);
    d.list.splice(10, 80);
    for (let i = 0; i < 40; i++) delete d.map![`k${i}`];
  });
  deleted = A.change(deleted, (d) => {
    delete d.map;
    A.splice(d, ['text'], 0, 10);
  });
  samples.push({ name: 'deleted content', doc: deleted });

  let keys = A.from<Record<string, number>>({}, { actor: actor(7) });
  keys = A.change(keys, (d) => {
    for (let i = 0; i < 10_000; i++) d[`key-${i}`] = i;
  });
  samples.push({ name: '10,000 keys', doc: keys });

  return samples;
}

const SAMPLES = sampleDocuments();

describe('the measure is an upper bound of real cost, within a small factor', () => {
  for (const { name, doc } of SAMPLES) {
    it(name, () => {
      const ops = realOps(doc);
      const changes = A.getAllChanges(doc);
      const saved = A.save(doc);
      const check = (cost: AutomergeCost) => {
        expect(cost.ops).toBeGreaterThanOrEqual(ops);
        expect(cost.ops).toBeLessThanOrEqual(2 * ops + 8);
        expect(cost.changes).toBeGreaterThanOrEqual(changes.length);
        expect(cost.actors).toBeGreaterThanOrEqual(realActors(doc));
      };

      const asDocument = measureAutomerge(saved, VAULT_LIMITS);
      check(asDocument);
      expect(asDocument.chunks).toBe(1);

      const asChanges = measureAutomerge(concat(...changes), VAULT_LIMITS);
      check(asChanges);
      expect(asChanges.changes).toBe(changes.length);
      expect(asChanges.chunks).toBe(changes.length);

      for (const change of changes) {
        const cost = measureAutomerge(change, VAULT_LIMITS);
        expect(cost.ops).toBeGreaterThanOrEqual(A.decodeChange(change).ops.length);
        expect(cost.ops).toBeLessThanOrEqual(2 * A.decodeChange(change).ops.length + 8);
      }

      // The changes since the first one, as A.getChanges and A.saveSince give them to a peer.
      const first = A.load<unknown>(changes[0]!);
      const since = A.getChanges(first, doc);
      const sinceOps = since.reduce((sum, change) => sum + A.decodeChange(change).ops.length, 0);
      expect(measureAutomerge(concat(...since), VAULT_LIMITS).ops).toBeGreaterThanOrEqual(sinceOps);
      expect(measureAutomerge(A.saveSince(doc, A.getHeads(first)), VAULT_LIMITS).ops).toBeGreaterThanOrEqual(sinceOps);
    });
  }

  it('inflates deflated columns and counts them (the 10,000-key document has some)', () => {
    const saved = A.save(SAMPLES.find((s) => s.name === '10,000 keys')!.doc);
    const cost = measureAutomerge(saved, VAULT_LIMITS);
    expect(cost.expandedBytes).toBeGreaterThan(saved.length);
    expect(refusal(saved, { ...VAULT_LIMITS, maxExpandedBytes: saved.length + 10 }).message).toMatch(/inflates past the limit/);
  });

  it('measures a compressed change chunk (type 2) as the change it inflates to', () => {
    const [change] = A.getAllChanges(SAMPLES.find((s) => s.name === '10,000 keys')!.doc);
    const { contents } = contentsOf(change!);
    const deflated = deflateSync(contents);
    const compressed = compressedChunk(contents, deflated);
    expect(Object.keys(A.load<Record<string, number>>(compressed))).toHaveLength(10_000);
    const cost = measureAutomerge(compressed, VAULT_LIMITS);
    expect(cost).toEqual({ ...measureAutomerge(change!, VAULT_LIMITS), expandedBytes: compressed.length - deflated.length + contents.length });
    expect(cost.ops).toBe(10_000);
  });
});

describe('row counting, by column type and run kind', () => {
  // Each column: a run of 3, a literal run of 2, a null run of 4 (booleans: 2 false, 3 true, 4 false) = 9 rows.
  const value = (type: number, n: number): number[] =>
    type === 3 ? sleb(n - 2) : type === 5 ? [...uleb(n), ...new Array<number>(n).fill(0x61)] : uleb(n);
  const rle = (type: number) => [...sleb(3), ...value(type, 2), ...sleb(-2), ...value(type, 1), ...value(type, 4), ...sleb(0), ...uleb(4)];
  const types: [string, number][] = [['group', 0], ['actor', 1], ['uLEB', 2], ['delta', 3], ['string', 5], ['value metadata', 6]];
  for (const [name, type] of types) {
    it(`${name} column`, () => {
      expect(measureAutomerge(handmadeDocument([], [[(2 << 4) | type, rle(type)]]), VAULT_LIMITS).ops).toBe(9);
    });
  }

  it('boolean column', () => {
    expect(measureAutomerge(handmadeDocument([], [[(3 << 4) | 4, [2, 3, 4]]]), VAULT_LIMITS).ops).toBe(9);
  });

  it('value column: raw bytes, no rows', () => {
    expect(measureAutomerge(handmadeDocument([], [[(5 << 4) | 7, [1, 2, 3, 4, 5]]]), VAULT_LIMITS).ops).toBe(0);
  });

  it('a group column gives its members 3 × 2 + 1 + 4 = 11 entries', () => {
    const document = handmadeDocument([], [[(8 << 4) | 0, rle(0)]]);
    expect(measureAutomerge(document, { ...VAULT_LIMITS, maxOps: 11 }).ops).toBe(9);
    expect(refusal(document, { ...VAULT_LIMITS, maxOps: 10 }).message).toMatch(/11 pred\/succ references/);
  });

  it('the largest column sets the count', () => {
    const document = handmadeDocument([], [
      [0x21, [...sleb(5), ...uleb(0)]],
      [0x34, [...uleb(0), ...uleb(7)]],
      [0x42, [...sleb(0), ...uleb(6)]],
    ]);
    expect(measureAutomerge(document, VAULT_LIMITS).ops).toBe(7);
  });
});

describe('bombs', () => {
  it('refuses a 188-byte document of 2,000,001 ops built by Automerge, and its 115-byte change', () => {
    expect(BOMB_DOCUMENT.length).toBeLessThan(200);
    expect(BOMB_CHANGE.length).toBeLessThan(200);
    const limits = { ...VAULT_LIMITS, maxOps: 300_000 };
    expect(refusal(BOMB_DOCUMENT, limits).message).toMatch(/2000001 operations, over the limit of 300000/);
    expect(refusal(BOMB_CHANGE, limits).message).toMatch(/2000001 operations, over the limit of 300000/);
    expect(measureAutomerge(BOMB_DOCUMENT, UNLIMITED).ops).toBe(2_000_001);
    expect(measureAutomerge(BOMB_CHANGE, UNLIMITED).ops).toBe(2_000_001);
  });

  it('counts a run of 2^40 rows without expanding it', () => {
    const run = [...sleb(2 ** 40), ...uleb(0)];
    const document = handmadeDocument([], [[0x21, run]]); // id actor column: 2^40 × actor 0
    expect(document.length).toBeLessThan(100);
    expect(refusal(document, VAULT_LIMITS).message).toMatch(/1099511627776 operations/);
    expect(measureAutomerge(document, UNLIMITED).ops).toBe(2 ** 40);
  });

  it('counts the rows a group column gives its members (succ lists)', () => {
    // 1,000 ops whose succ count is 2,000 each: loading would walk two million successors.
    const document = handmadeDocument([], [[0x21, [...sleb(1000), ...uleb(0)]], [0x80, [...sleb(1000), ...uleb(2_000)]]]);
    expect(refusal(document, VAULT_LIMITS).message).toMatch(/2000000 pred\/succ references/);
    // The same list told by the succ actor column (2,000,000 rows) under a group column that says 1.
    const members = handmadeDocument([], [
      [0x21, [...sleb(1), ...uleb(0)]],
      [0x80, [...sleb(1), ...uleb(1)]],
      [0x81, [...sleb(2_000_000), ...uleb(0)]],
    ]);
    expect(refusal(members, VAULT_LIMITS).message).toMatch(/2000000 pred\/succ references/);
    expect(measureAutomerge(members, UNLIMITED).ops).toBe(1);
  });

  it('counts the ops change columns claim: a max op of 30,000,000 with no ops', () => {
    const changeColumns: [number, number[]][] = [
      [0x01, [...sleb(1), ...uleb(0)]], // actor
      [0x03, [...sleb(1), ...sleb(1)]], // seq
      [0x13, [...sleb(1), ...sleb(30_000_000)]], // max op
      [0x40, [...sleb(1), ...uleb(0)]], // no deps
    ];
    const document = handmadeDocument(changeColumns, []);
    expect(refusal(document, VAULT_LIMITS).message).toMatch(/30000000 operations/);
    expect(measureAutomerge(document, UNLIMITED)).toMatchObject({ ops: 30_000_000, changes: 1 });
  });

  it('refuses a change whose ops counter jumps once Automerge has saved it into a document', () => {
    // A change is cheap to apply whatever its startOp, but a saved document stores only each change's
    // max op, and loading allocates room for every op between it and its deps' max op.
    let doc = A.from({ a: 1 }, { actor: actor(8) });
    doc = A.change(doc, (d) => {
      d.a = 2;
    });
    const [first, second] = A.getAllChanges(doc);
    const { contents } = contentsOf(second!);
    let pos = readUleb(contents, 0)[1] + 32; // one dep
    pos = readUleb(contents, pos)[1] + 16; // actor
    pos = readUleb(contents, pos)[1]; // seq
    const startOpEnd = readUleb(contents, pos)[1];
    const jumped = chunk(1, concat(contents.subarray(0, pos), Uint8Array.from(uleb(30_000_000)), contents.subarray(startOpEnd)));
    expect(measureAutomerge(jumped, VAULT_LIMITS).ops).toBe(1);
    const [applied] = A.applyChanges(A.init<{ a: number }>(), [first!, jumped]);
    expect(applied.a).toBe(2);
    expect(refusal(A.save(applied), VAULT_LIMITS).message).toMatch(/30000000 operations/);
  });

  it('stops inflating a compressed change at the size limit', () => {
    const zeros = new Uint8Array(64 * 1024 * 1024);
    const deflated = deflateSync(zeros, { level: 9 });
    const bomb = compressedChunk(new Uint8Array(0), deflated);
    expect(bomb.length).toBeLessThan(128 * 1024);
    expect(refusal(bomb, VAULT_LIMITS).message).toMatch(/inflates past the limit/);
  });

  it('stops inflating a deflated document column at the size limit', () => {
    const deflated = Array.from(deflateSync(new Uint8Array(64 * 1024 * 1024), { level: 9 }));
    const document = handmadeDocument([], [[0x21 | 8, deflated]]);
    expect(refusal(document, VAULT_LIMITS).message).toMatch(/inflates past the limit/);
  });

  it('refuses over the change and actor limits', () => {
    const all = concat(...A.getAllChanges(SAMPLES.find((s) => s.name === '200 counter increments')!.doc));
    expect(refusal(all, { ...VAULT_LIMITS, maxChanges: 100 }).message).toMatch(/over the limit of 100/);
    const merged = A.save(SAMPLES.find((s) => s.name === '20 actors merged')!.doc);
    expect(refusal(merged, { ...VAULT_LIMITS, maxActors: 10 }).message).toMatch(/over 10 actors/);
  });
});

describe('padding and garbage', () => {
  it('refuses a valid document followed by 30 MiB of zeros', () => {
    const padded = concat(TINY_DOCUMENT, new Uint8Array(30 * 1024 * 1024));
    expect(refusal(padded, VAULT_LIMITS).message).toMatch(/31457280 bytes of padding after the document/);
    expect(refusal(padded, UNLIMITED).message).toMatch(/31457280 bytes of padding after the document/);
  });

  it('refuses a valid document followed by a garbage chunk', () => {
    const garbage = Uint8Array.from([0x85, 0x6f, 0x4a, 0x83, 1, 2, 3, 4, 0, 5, 9, 9, 9, 9, 9]);
    expect(refusal(concat(TINY_DOCUMENT, garbage), VAULT_LIMITS).message).toMatch(/checksum/);
    expect(refusal(concat(TINY_DOCUMENT, garbage.subarray(0, 12)), VAULT_LIMITS).message).toMatch(/truncated/);
    expect(refusal(concat(TINY_DOCUMENT, Uint8Array.from([1, 2, 3])), VAULT_LIMITS).message).toMatch(/3 bytes of padding/);
  });

  it('refuses unknown chunk types, bundles included', () => {
    for (const type of [3, 4, 255]) {
      expect(refusal(concat(TINY_DOCUMENT, chunk(type, Uint8Array.from([0]))), VAULT_LIMITS).message).toMatch(
        new RegExp(`unknown chunk type ${type}`),
      );
    }
  });

  it('refuses bad magic and bad checksums', () => {
    expect(refusal(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), VAULT_LIMITS).message).toMatch(/magic/);
    const flipped = TINY_DOCUMENT.slice();
    flipped[60]! ^= 1;
    expect(refusal(flipped, VAULT_LIMITS).message).toMatch(/checksum/);
  });

  it('refuses leftover bytes inside a document chunk', () => {
    const { contents } = contentsOf(TINY_DOCUMENT);
    expect(refusal(chunk(0, concat(contents, Uint8Array.from([7]))), VAULT_LIMITS).message).toMatch(/leftover/);
  });
});

/** Deterministic PRNG (xorshift32) so a failure can be replayed. */
function random(seed: number) {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state;
  };
  return { below: (n: number) => next() % Math.max(1, n), bytes: (n: number) => Uint8Array.from({ length: n }, () => next() & 0xff) };
}

describe('fuzz', () => {
  it('20,000 mutations of real documents and changes: returns or throws AutomergeCostError; A.load never takes more ops than measured', () => {
    const small = SAMPLES.filter((s) => s.name !== '10,000 keys').map((s) => s.doc);
    let wide = A.from<Record<string, string>>({}, { actor: actor(9) });
    wide = A.change(wide, (d) => {
      for (let i = 0; i < 300; i++) d[`field-${i}`] = `v${i % 7}`;
    });
    small.push(wide); // its saved form has deflated columns
    const corpus: Uint8Array[] = [TINY_DOCUMENT, TINY_CHANGE];
    for (const doc of small) {
      corpus.push(A.save(doc), ...A.getAllChanges(doc).slice(0, 5));
    }
    const bigChange = A.getAllChanges(wide)[0]!;
    corpus.push(compressedChunk(contentsOf(bigChange).contents));

    const limits: AutomergeLimits = { maxOps: 20_000, maxChanges: 2_000, maxExpandedBytes: 1 << 20, maxActors: 64 };
    const rng = random(0x5eed);
    const pick = () => corpus[rng.below(corpus.length)]!;
    const mutateBytes = (bytes: Uint8Array): Uint8Array => {
      const out = bytes.slice();
      switch (rng.below(4)) {
        case 0: // bit flips
          for (let i = 1 + rng.below(3); i > 0; i--) out[rng.below(out.length)]! ^= 1 << rng.below(8);
          return out;
        case 1: // truncation
          return out.subarray(0, rng.below(out.length));
        case 2: {
          // insertion
          const at = rng.below(out.length + 1);
          return concat(out.subarray(0, at), rng.bytes(1 + rng.below(8)), out.subarray(at));
        }
        default: {
          // splice of two
          const other = pick();
          return concat(out.subarray(0, rng.below(out.length + 1)), other.subarray(rng.below(other.length + 1)));
        }
      }
    };
    const mutate = (bytes: Uint8Array): Uint8Array => {
      const { type, contents } = contentsOf(bytes);
      switch (rng.below(4)) {
        case 0: // raw bytes, checksum left as it is
          return mutateBytes(bytes);
        case 1: // a mutated chunk given a correct checksum again, so the parser sees it
        case 2:
          if (type !== 2) return chunk(type, mutateBytes(contents));
          // Either the deflated bytes change under the old checksum, or the change changes and is compressed again.
          return rng.below(2) ? compressedChunk(contentsOf(bigChange).contents, mutateBytes(contents)) : compressedChunk(mutateBytes(contentsOf(bigChange).contents));
        default: // two chunks, one of them mutated
          return rng.below(2) ? concat(pick(), chunk(type === 2 ? 1 : type, mutateBytes(type === 2 ? contentsOf(bigChange).contents : contents))) : concat(pick(), pick());
      }
    };

    const stats = { measured: 0, refused: 0, loaded: 0, unreadable: 0 };
    for (let i = 0; i < 20_000; i++) {
      const bytes = mutate(pick());
      let cost: AutomergeCost;
      try {
        cost = measureAutomerge(bytes, limits);
      } catch (error) {
        if (!(error instanceof AutomergeCostError)) {
          throw new Error(`iteration ${i}: ${String(error)} for ${Buffer.from(bytes).toString('hex')}`);
        }
        stats.refused++;
        continue;
      }
      stats.measured++;
      expect(cost.ops).toBeLessThanOrEqual(limits.maxOps);
      let loaded: A.Doc<unknown>;
      try {
        loaded = A.load(bytes);
      } catch {
        continue; // Automerge refused it: fine.
      }
      stats.loaded++;
      const fail = (what: string) => new Error(`iteration ${i}: ${what}, measured ${JSON.stringify(cost)}: ${Buffer.from(bytes).toString('hex')}`);
      const held = A.stats(loaded);
      if (held.numOps > cost.ops || held.numChanges > cost.changes || held.numActors > cost.actors) {
        throw fail(`loaded ${JSON.stringify(held)}`);
      }
      let changes: Uint8Array[];
      try {
        changes = A.getAllChanges(loaded);
      } catch {
        stats.unreadable++; // Automerge loaded it but cannot rebuild its changes (it panics): nothing more to compare.
        continue;
      }
      const ops = changes.reduce((sum, change) => sum + A.decodeChange(change).ops.length, 0);
      if (ops > cost.ops || changes.length > cost.changes) throw fail(`loaded ${ops} ops in ${changes.length} changes`);
    }
    console.log('fuzz', stats);
    // The property was exercised, not vacuously true.
    expect(stats.loaded).toBeGreaterThan(500);
    expect(stats.refused).toBeGreaterThan(5_000);
  });
});

describe('a 10,000-offer document', () => {
  it('is measured far faster than it loads (printed, not asserted)', () => {
    let doc = A.from<{ schema: number; offers: Record<string, unknown> }>({ schema: 1, offers: {} }, { actor: actor(10) });
    for (let batch = 0; batch < 10; batch++) {
      doc = A.change(doc, (d) => {
        for (let i = batch * 1000; i < (batch + 1) * 1000; i++) {
          const id = `p${String(i).padStart(6, '0')}`;
          d.offers[id] = {
            productId: id,
            name: `Product number ${i}`,
            sku: `SKU-${i}`,
            unit: 'kg',
            quantity: i % 50,
            price: 100 + i,
            expiresOn: i % 3 ? '2026-09-01' : null,
            area: 'Old Market',
            updatedAt: 1_700_000_000_000 + i,
          };
        }
      });
    }
    const saved = A.save(doc);
    const limits = { ...VAULT_LIMITS, maxOps: 1_000_000 };
    let started = performance.now();
    const cost = measureAutomerge(saved, limits);
    const measureMs = performance.now() - started;
    started = performance.now();
    measureAutomerge(saved, limits);
    const warmMs = performance.now() - started;
    started = performance.now();
    A.load(saved);
    const loadMs = performance.now() - started;
    console.log(
      `10,000 offers, ${saved.length} bytes, ${JSON.stringify(cost)}: measure ${measureMs.toFixed(1)} ms (again ${warmMs.toFixed(1)} ms), A.load ${loadMs.toFixed(1)} ms`,
    );
    expect(cost.ops).toBeGreaterThanOrEqual(realOps(doc));
    expect(cost.changes).toBe(11);
  });
});
