import { MAX_DEVICES_PER_VAULT } from './vaultLimits';
import { sameHeads, type SignedHeads } from './signedHeads';
import { bytesEqual, toHex } from '../wire/hex';

/**
 * A vault's version is the set of its devices' latest signed statements: each device signs the
 * heads it has with its own counter, and the vault's state is the union of what its certified,
 * unrevoked devices signed. Two devices writing while apart make two statements; a peer holding
 * both holds the merge. Kept sorted by device key, at most one statement per device.
 */
export const MAX_STATEMENTS = MAX_DEVICES_PER_VAULT;

export function deviceOf(statement: SignedHeads): string {
  return toHex(statement.certificate.devicePublicKey);
}

/** A single number that grows whenever any device's counter does: the sum of counters. */
export function versionNumber(statements: readonly SignedHeads[]): number {
  return statements.reduce((sum, s) => sum + s.counter, 0);
}

/** What `statements` would number if `statement` replaced its device's. */
export function versionWith(statements: readonly SignedHeads[], statement: SignedHeads): number {
  const device = deviceOf(statement);
  const held = statements.find((s) => deviceOf(s) === device)?.counter ?? 0;
  return versionNumber(statements) - held + Math.max(held, statement.counter);
}

export function statementOf(statements: readonly SignedHeads[], device: string): SignedHeads | undefined {
  return statements.find((s) => deviceOf(s) === device);
}

export interface MergedStatements {
  statements: SignedHeads[];
  /** Some device's counter rose. */
  newer: boolean;
  /** A device that signed two different versions under one counter (the first held is kept). */
  conflict?: SignedHeads;
}

/** The latest statement of every device in `held` and `incoming`. Undefined-free, sorted by device. */
export function mergeStatements(held: readonly SignedHeads[], incoming: readonly SignedHeads[]): MergedStatements {
  const byDevice = new Map<string, SignedHeads>();
  for (const s of held) byDevice.set(deviceOf(s), s);
  let newer = false;
  let conflict: SignedHeads | undefined;
  for (const s of incoming) {
    const device = deviceOf(s);
    const current = byDevice.get(device);
    if (!current || s.counter > current.counter) {
      byDevice.set(device, s);
      newer = true;
    } else if (s.counter === current.counter && !sameHeads(s.heads, current.heads)) conflict ??= s;
  }
  const statements = [...byDevice.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s);
  return { statements, newer, ...(conflict ? { conflict } : {}) };
}

/** Every head any statement names. */
export function coveredHeads(statements: readonly SignedHeads[]): Set<string> {
  const heads = new Set<string>();
  for (const s of statements) for (const h of s.heads) heads.add(h);
  return heads;
}

/** Why a list of statements cannot describe one vault version, if it cannot. */
export function checkStatementList(statements: readonly SignedHeads[]): string | undefined {
  if (statements.length === 0) return 'no statements';
  if (statements.length > MAX_STATEMENTS) return `over ${MAX_STATEMENTS} statements`;
  const devices = new Set<string>();
  for (const s of statements) {
    if (!bytesEqual(s.vaultId, statements[0]!.vaultId)) return 'statements for different vaults';
    const device = deviceOf(s);
    if (devices.has(device)) return 'two statements from one device';
    devices.add(device);
  }
  return undefined;
}
