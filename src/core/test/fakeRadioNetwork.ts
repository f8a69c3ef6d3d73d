/**
 * A radio network for engine tests: RadioSync engines over a MemoryRadioMedium with a fake
 * vault source (opaque "compact updates" and "bundles" with a hash as their signature). Used by
 * the radio attacks suite.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { ManualClock } from './manualClock';
import { bytesEqual, toHex } from '../wire/hex';
import { MemoryRadioMedium } from '../radio/memoryRadioMedium';
import { decodeEnvelope } from '../radio/radioEnvelope';
import { RadioSync } from '../radio/radioSync';
import type { RadioItem, RadioTakeOutcome, RadioUpdate, RadioVaultSource } from '../radio/radioVaultSource';
import { seededRandom } from '../seededRandom';

/** The radio tests' seeded generator (mulberry32, src/core/seededRandom.ts). */
export const seeded = seededRandom;

export const key = (n: number) => new Uint8Array(32).fill(n & 0xff).map((b, i) => (i === 0 ? n >> 8 : b));
const streamOf = (vault: number) => toHex(key(vault));

/**
 * A node's vaults as the engine sees them: streams (vault n, device n+1000) with counters. A
 * compact update is opaque bytes: 1 | vault | counter | padding | 4-byte "signature" (a hash only
 * honest test nodes make); a bundle: 2 | vault | from | to | filler | signature.
 */
export class FakeSource implements RadioVaultSource {
  readonly held = new Map<string, { vault: number; counter: number }>();
  private readonly listeners = new Set<(u: RadioUpdate) => void>();
  takes = 0;

  constructor(private readonly compactBytes = 80) {}

  hold(vault: number, counter: number): void {
    this.held.set(streamOf(vault), { vault, counter });
  }

  counter(vault: number): number {
    return this.held.get(streamOf(vault))?.counter ?? 0;
  }

  /** The merchant edits vault `vault` (an own update). */
  edit(vault: number, asBundle = false): void {
    const counter = this.counter(vault) + 1;
    this.hold(vault, counter);
    const update = asBundle ? this.bundle(vault, 0, counter) : this.compact(vault, counter);
    update.cls = 'stock';
    for (const l of this.listeners) l(update);
  }

  item(vault: number, counter: number): RadioItem {
    return { vaultId: key(vault), deviceKey: key(vault + 1000), counter };
  }

  compact(vault: number, counter: number): RadioUpdate {
    const body = new Uint8Array(this.compactBytes - 4);
    body[0] = 1;
    body[1] = vault >> 8;
    body[2] = vault & 0xff;
    new DataView(body.buffer).setUint32(3, counter);
    return { kind: 'compact', bytes: signed(body), cls: 'catchUp', label: `vault ${vault}: ${counter}`, item: this.item(vault, counter) };
  }

  bundle(vault: number, from: number, to: number): RadioUpdate {
    const body = new Uint8Array(Math.min(11 + 300 * (to - from), 16_000));
    body[0] = 2;
    body[1] = vault >> 8;
    body[2] = vault & 0xff;
    new DataView(body.buffer).setUint32(3, from);
    new DataView(body.buffer).setUint32(7, to);
    return { kind: 'bundle', bytes: signed(body), cls: 'catchUp', label: `vault ${vault}: ${from}→${to}`, item: this.item(vault, to) };
  }

  radioItems(): RadioItem[] {
    return [...this.held.values()].map((h) => this.item(h.vault, h.counter));
  }

  async radioCatchUp(item: RadioItem, fromCounter: number): Promise<RadioUpdate[]> {
    const vault = (item.vaultId[0]! << 8) | item.vaultId[1]!;
    const held = this.counter(vault);
    if (held <= fromCounter) return [];
    if (fromCounter === 0) return [this.bundle(vault, 0, held)];
    return Array.from({ length: held - fromCounter }, (_, i) => this.compact(vault, fromCounter + 1 + i));
  }

  onOwnUpdate(listener: (update: RadioUpdate) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async takeCompact(bytes: Uint8Array): Promise<RadioTakeOutcome> {
    this.takes += 1;
    const body = verified(bytes);
    if (!body || body[0] !== 1 || body.length < 7) return { taken: false, reason: 'bad signature', offence: true };
    const vault = (body[1]! << 8) | body[2]!;
    const counter = new DataView(body.buffer, body.byteOffset).getUint32(3);
    const held = this.counter(vault);
    if (counter <= held) return { taken: false, reason: 'stale', offence: false, stale: true };
    if (counter > held + 1) return { taken: false, reason: 'behind', offence: false, behind: true };
    this.hold(vault, counter);
    return { taken: true, label: `vault ${vault}` };
  }

  async takeBundle(bytes: Uint8Array): Promise<RadioTakeOutcome> {
    this.takes += 1;
    const body = verified(bytes);
    if (!body || body[0] !== 2 || body.length < 11) return { taken: false, reason: 'bad signature', offence: true };
    const view = new DataView(body.buffer, body.byteOffset);
    const vault = (body[1]! << 8) | body[2]!;
    const [from, to] = [view.getUint32(3), view.getUint32(7)];
    const held = this.counter(vault);
    if (to <= held) return { taken: false, reason: 'stale', offence: false, stale: true };
    if (from > held) return { taken: false, reason: 'behind', offence: false, behind: true };
    this.hold(vault, to);
    return { taken: true, label: `vault ${vault}` };
  }
}

function signature(body: Uint8Array): Uint8Array {
  return sha256(Uint8Array.of(0x5a, ...body)).subarray(0, 4);
}
function signed(body: Uint8Array): Uint8Array {
  return Uint8Array.of(...body, ...signature(body));
}
function verified(bytes: Uint8Array): Uint8Array | undefined {
  if (bytes.length < 5) return undefined;
  const body = bytes.subarray(0, -4);
  return bytesEqual(signature(body), bytes.subarray(-4)) ? body : undefined;
}

export async function settle(): Promise<void> {
  for (let i = 0; i < 30; i++) await Promise.resolve();
}

export function network(count: number, options: { loss?: number; seed?: number; region?: number; compactBytes?: number } = {}) {
  const clock = new ManualClock();
  const seed = options.seed ?? 1;
  const medium = new MemoryRadioMedium({ clock, random: seeded(seed), loss: options.loss ?? 0 });
  const nodes = Array.from({ length: count }, (_, i) => {
    const source = new FakeSource(options.compactBytes);
    const sync = new RadioSync({ source, clock, random: seeded(seed * 100 + i), region: options.region ?? 0 });
    sync.attach(medium.attach(i + 1));
    return { source, sync, address: i + 1 };
  });
  const run = async (ms: number, until?: () => boolean, step = 250) => {
    for (let t = 0; t < ms; t += step) {
      clock.advance(step);
      await settle();
      if (until && t % 10_000 === 0 && until()) return true;
    }
    return until ? until() : true;
  };
  return { clock, medium, nodes, run };
}

export const kindOf = (payload: Uint8Array) => {
  const d = decodeEnvelope(payload);
  return 'envelope' in d ? d.envelope.kind : 'refused';
};

function converged(nodes: { source: FakeSource }[]): boolean {
  const latest = new Map<string, number>();
  for (const n of nodes) for (const [s, h] of n.source.held) latest.set(s, Math.max(latest.get(s) ?? 0, h.counter));
  return nodes.every((n) => [...latest].every(([s, c]) => n.source.held.get(s)?.counter === c));
}

