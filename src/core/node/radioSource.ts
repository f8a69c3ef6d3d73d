import { TRADE_EVENT_TYPES } from '../trade/tradeEvent';
import { CompactUpdateError, decodeCompactUpdate, encodeCompactUpdate, VAULT_PREFIX_BYTES } from '../vault/compactUpdate';
import type { SignedHeads } from '../vault/signedHeads';
import type { SharedOffer } from '../vault/vaultDocuments';
import type { VaultContent } from '../vault/vaultShape';
import { deviceOf } from '../vault/vaultVersion';
import { bytesEqual, fromHex, toHex } from '../wire/hex';
import { decodeRadioBundle, encodeRadioBundle, RadioBundleError, type ChangesMessage } from '../radio/radioBundle';
import type { RadioItem, RadioTakeOutcome, RadioUpdate, RadioVaultSource } from '../radio/radioVaultSource';
import type { RadioClass } from '../radio/radioView';

/** Streams (vault × device) whose recent compact updates are kept for catch-up, least recently used dropped. */
export const MAX_LOGGED_STREAMS = 2048;
/** Compact updates kept per stream: a neighbour that many versions behind catches up one packet at a time. */
export const MAX_LOGGED_PER_STREAM = 8;
/** Items offered to reconciliation: own shop first, then partners, then the most recently taken. */
export const MAX_RADIO_ITEMS = 4096;
/**
 * Compact updates heard before the one they build on (loss, or a higher class sent first) are
 * parked, at most this many in all and a quarter of them per vault, and tried again when their
 * vault moves; the oldest go first when full.
 */
export const MAX_PARKED = 64;
export const MAX_PARKED_PER_COUNTER = 2;

/** The device prefix and counter a compact update names (header: version, vault 8, device 4, counter uLEB128). */
function streamSlotOf(bytes: Uint8Array): { device: string; counter: number } | undefined {
  let counter = 0;
  let scale = 1;
  for (let i = 13; i < Math.min(bytes.length, 13 + 8); i++) {
    counter += (bytes[i]! & 0x7f) * scale;
    if ((bytes[i]! & 0x80) === 0) return { device: toHex(bytes.subarray(9, 13)), counter };
    scale *= 128;
  }
  return undefined;
}

/** What the radio source needs of the node. */
export interface RadioNodeAccess {
  /** Every vault held: id, its statements, and its standing. */
  vaults(): Iterable<{ id: string; statements: readonly SignedHeads[]; revocations: readonly string[]; standing: 'own' | 'partner' | 'other'; asOf: number }>;
  vault(id: string): { statements: readonly SignedHeads[]; revocations: readonly string[] } | undefined;
  /** The vault's canonical encoding (a snapshot), read from storage when needed. */
  encoding(id: string): Promise<{ bytes: Uint8Array; statements: SignedHeads[] } | undefined>;
  /** Takes a vault version heard on the radio, with the acceptance every version goes through. */
  take(message: ChangesMessage, from: string): Promise<{ taken: true } | { taken: false; reason: string; offence: boolean; stale?: boolean }>;
}

interface LoggedUpdate {
  counter: number;
  bytes: Uint8Array;
  cls: RadioClass;
  label: string;
}

/**
 * The node's side of radio sync (RadioVaultSource): own edits as compact updates (one packet)
 * or radio bundles, updates heard on the radio taken through the node's acceptance, and
 * catch-ups from a bounded log of recent compact updates, else a whole small vault.
 */
export class NodeRadioSource implements RadioVaultSource {
  private readonly listeners = new Set<(update: RadioUpdate) => void>();
  /** `${vault}/${device}` → its recent compact updates, in counter order (our own canonical bytes). */
  private readonly log = new Map<string, LoggedUpdate[]>();
  /** Parked compact updates, oldest first: vault prefix (hex) and the bytes heard. */
  private parked: { vault: string; bytes: Uint8Array; from: string; slot: { device: string; counter: number } }[] = [];

  constructor(private readonly node: RadioNodeAccess) {}

  radioItems(): RadioItem[] {
    const rank = { own: 0, partner: 1, other: 2 } as const;
    const vaults = [...this.node.vaults()].sort((a, b) => rank[a.standing] - rank[b.standing] || b.asOf - a.asOf);
    const items: RadioItem[] = [];
    for (const vault of vaults) {
      for (const statement of vault.statements) {
        if (items.length >= MAX_RADIO_ITEMS) return items;
        items.push({ vaultId: statement.vaultId, deviceKey: statement.certificate.devicePublicKey, counter: statement.counter });
      }
    }
    return items;
  }

  async radioCatchUp(item: RadioItem, fromCounter: number): Promise<RadioUpdate[]> {
    const id = toHex(item.vaultId);
    const device = toHex(item.deviceKey);
    const vault = this.node.vault(id);
    const held = vault?.statements.find((s) => deviceOf(s) === device);
    if (!vault || !held) return [];
    const logged = this.log.get(`${id}/${device}`) ?? [];
    const wanted = logged.filter((u) => u.counter > fromCounter);
    // One packet per version when every version since theirs is logged and the last is the one held.
    if (fromCounter > 0 && wanted.length === held.counter - fromCounter && wanted[0]?.counter === fromCounter + 1 && wanted.at(-1)!.counter === held.counter) {
      return wanted.map((u) => ({ kind: 'compact', bytes: u.bytes, cls: 'catchUp', label: u.label, item: { ...item, counter: u.counter } }));
    }
    // Else the whole vault, if it is small enough for the radio.
    const encoding = await this.node.encoding(id);
    if (!encoding) return [];
    try {
      const bytes = encodeRadioBundle({
        type: 'changes',
        statements: encoding.statements,
        revocations: (this.node.vault(id)?.revocations ?? []).map(fromHex),
        snapshot: true,
        changes: [encoding.bytes],
      });
      return [{ kind: 'bundle', bytes, cls: 'catchUp', label: `shop ${id.slice(0, 8)}: whole version`, item: { ...item, counter: held.counter } }];
    } catch (error) {
      if (error instanceof RadioBundleError) return [];
      throw error;
    }
  }

  onOwnUpdate(listener: (update: RadioUpdate) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The node signed a new version of its own shop: `changes` are the changes the edit made,
   * `statement` the device's new statement, `previous` its one before. Sent compact when it fits
   * one packet, else as a bundle with every statement of the shop.
   */
  ownEdit(changes: Uint8Array[], statement: SignedHeads, previous: SignedHeads | undefined, statements: SignedHeads[], revocations: readonly string[], before: VaultContent, after: VaultContent): void {
    if (this.listeners.size === 0 && changes.length !== 1) return;
    const { cls, label } = describeEdit(before, after);
    const item: RadioItem = { vaultId: statement.vaultId, deviceKey: statement.certificate.devicePublicKey, counter: statement.counter };
    let update: RadioUpdate | undefined;
    if (changes.length === 1) {
      try {
        const bytes = encodeCompactUpdate(changes[0]!, statement, previous);
        this.remember(toHex(statement.vaultId), deviceOf(statement), { counter: statement.counter, bytes, cls, label });
        update = { kind: 'compact', bytes, cls, label, item };
      } catch (error) {
        if (!(error instanceof CompactUpdateError)) throw error;
      }
    }
    if (!update) {
      try {
        const bytes = encodeRadioBundle({ type: 'changes', statements, revocations: revocations.map(fromHex), snapshot: false, changes });
        update = { kind: 'bundle', bytes, cls, label, item };
      } catch (error) {
        if (!(error instanceof RadioBundleError)) throw error;
        return; // Too large for the radio: it waits for another link (reconciliation will say so).
      }
    }
    for (const listener of this.listeners) listener(update);
  }

  async takeCompact(bytes: Uint8Array, from: string): Promise<RadioTakeOutcome> {
    const outcome = await this.takeCompactOnce(bytes, from);
    const vault = toHex(bytes.subarray(1, 1 + VAULT_PREFIX_BYTES));
    if (outcome.taken) await this.retryParked(vault);
    // Only what follows a stream this node holds is parked: an unknown vault or device waits for reconciliation.
    else if (outcome.behind && !/unknown (vault|device)/.test(outcome.reason)) this.park(vault, bytes, from);
    return outcome;
  }

  /**
   * Parks an update heard too early. What cannot be verified yet may be junk under a spoofed
   * number, so: at most MAX_PARKED_PER_COUNTER for one (vault, device, counter), the first heard
   * kept; per vault, the counters farthest ahead go first when full; in all, the oldest.
   */
  private park(vault: string, bytes: Uint8Array, from: string): void {
    const slot = streamSlotOf(bytes);
    if (!slot || this.parked.some((p) => bytesEqual(p.bytes, bytes))) return;
    if (this.parked.filter((p) => p.vault === vault && p.slot.device === slot.device && p.slot.counter === slot.counter).length >= MAX_PARKED_PER_COUNTER) return;
    const sameVault = this.parked.filter((p) => p.vault === vault);
    if (sameVault.length >= MAX_PARKED / 4) {
      const farthest = sameVault.reduce((a, b) => (b.slot.counter >= a.slot.counter ? b : a));
      if (farthest.slot.counter < slot.counter) return;
      this.parked.splice(this.parked.indexOf(farthest), 1);
    }
    this.parked.push({ vault, bytes: bytes.slice(), from, slot });
    if (this.parked.length > MAX_PARKED) this.parked.shift();
  }

  /** Tries the vault's parked updates again until none more is taken (each at most once per pass). */
  private async retryParked(vault: string): Promise<void> {
    for (let progress = true; progress; ) {
      progress = false;
      for (const waiting of this.parked.filter((p) => p.vault === vault)) {
        const outcome = await this.takeCompactOnce(waiting.bytes, waiting.from);
        if (outcome.taken || !outcome.behind) this.parked = this.parked.filter((p) => p !== waiting);
        if (outcome.taken) progress = true;
      }
    }
  }

  private async takeCompactOnce(bytes: Uint8Array, from: string): Promise<RadioTakeOutcome> {
    let heldFor: { id: string; statements: readonly SignedHeads[] } | undefined;
    const decoded = decodeCompactUpdate(bytes, {
      vault: (prefix) => {
        for (const vault of this.node.vaults()) {
          const first = vault.statements[0];
          if (first && bytesEqual(first.vaultId.subarray(0, VAULT_PREFIX_BYTES), prefix)) {
            heldFor = vault;
            return { vaultId: first.vaultId, statements: vault.statements };
          }
        }
        return undefined;
      },
    });
    if ('error' in decoded) {
      if (/unknown vault|unknown device/.test(decoded.error)) return { taken: false, reason: decoded.error, offence: false, behind: true };
      if (/stale/.test(decoded.error)) return { taken: false, reason: decoded.error, offence: false, stale: true };
      // A signature that does not verify the change rebuilt on the statement held: forged, or
      // built on a version this node has not got (reconciliation settles which).
      if (/may not follow/.test(decoded.error)) return { taken: false, reason: decoded.error, offence: false, behind: true };
      return { taken: false, reason: decoded.error, offence: true };
    }
    const previous = heldFor?.statements.find((s) => deviceOf(s) === deviceOf(decoded.statement));
    const outcome = await this.node.take({ type: 'changes', statements: [decoded.statement], snapshot: false, changes: [decoded.change] }, from);
    if (!outcome.taken) return { ...outcome, behind: /dependencies are missing/.test(outcome.reason) };
    const label = 'an update';
    // Kept for neighbours behind: re-encoded from what was verified, never the bytes heard.
    try {
      const canonical = encodeCompactUpdate(decoded.change, decoded.statement, previous);
      this.remember(toHex(decoded.statement.vaultId), deviceOf(decoded.statement), { counter: decoded.statement.counter, bytes: canonical, cls: 'catchUp', label });
    } catch {
      // Not compact under the statement held before: catch-ups send the whole version.
    }
    return { taken: true, label };
  }

  async takeBundle(bytes: Uint8Array, from: string): Promise<RadioTakeOutcome> {
    const message = decodeRadioBundle(bytes);
    if ('error' in message) return { taken: false, reason: message.error, offence: true };
    const outcome = await this.node.take(message, from);
    if (!outcome.taken) return { ...outcome, behind: /dependencies are missing/.test(outcome.reason) };
    await this.retryParked(toHex(message.statements[0]!.vaultId.subarray(0, VAULT_PREFIX_BYTES)));
    return { taken: true, label: 'a shop version' };
  }

  private remember(vault: string, device: string, update: LoggedUpdate): void {
    const key = `${vault}/${device}`;
    const list = (this.log.get(key) ?? []).filter((u) => u.counter < update.counter);
    list.push(update);
    if (list.length > MAX_LOGGED_PER_STREAM) list.splice(0, list.length - MAX_LOGGED_PER_STREAM);
    this.log.delete(key);
    this.log.set(key, list);
    while (this.log.size > MAX_LOGGED_STREAMS) this.log.delete(this.log.keys().next().value!);
  }
}

/** The queue class and the merchant's words for a shop edit, from the offers before and after. */
export function describeEdit(before: VaultContent, after: VaultContent): { cls: RadioClass; label: string } {
  // A trade step (a reservation's request or answer, a delivery step) goes first, in its own lane.
  const had = new Set((before.trade ?? []).map((e) => e.id));
  const added = (after.trade ?? []).filter((e) => !had.has(e.id));
  if (added.length) {
    const more = added.length > 1 ? ` and ${added.length - 1} more` : '';
    return { cls: 'trade', label: `${TRADE_EVENT_TYPES[added[0]!.type].name}${more}` };
  }
  const was = new Map(before.offers.map((o) => [o.productId, o]));
  const now = new Map(after.offers.map((o) => [o.productId, o]));
  const moved: { before?: SharedOffer; after?: SharedOffer }[] = [];
  for (const [id, offer] of now) {
    const old = was.get(id);
    if (!old || JSON.stringify(old) !== JSON.stringify(offer)) moved.push({ before: old, after: offer });
  }
  for (const [id, offer] of was) if (!now.has(id)) moved.push({ before: offer });
  if (moved.length === 0) return { cls: 'offer', label: 'shop details' };
  const stockOrPrice = moved.every(({ before: b, after: a }) => b && a && JSON.stringify({ ...b, quantity: 0, price: 0 }) === JSON.stringify({ ...a, quantity: 0, price: 0 }));
  const first = moved[0]!;
  const name = (first.after ?? first.before)!.name;
  const more = moved.length > 1 ? ` and ${moved.length - 1} more` : '';
  if (stockOrPrice) return { cls: 'stock', label: `${name}: ${first.after!.quantity} ${first.after!.unit} at ${first.after!.price}${more}` };
  if (!first.after) return { cls: 'offer', label: `${name}: withdrawn${more}` };
  return { cls: 'offer', label: `${name}: offered${more}` };
}

