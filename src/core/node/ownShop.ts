import * as A from '@automerge/automerge';
import type { KeyPair } from '../crypto/ed25519';
import type { StorageAdapter, StorageWrite } from '../storage/storage';
import { syncOffer } from '../catalog/catalog';
import { DocumentLog } from '../vault/documentLog';
import { createShopKeys, decodeShopKeys, encodeShopKeys, type ShopKeys } from '../vault/shopKeys';
import { sameHeads, signHeads, type SignedHeads } from '../vault/signedHeads';
import type { PrivateVaultDoc, SharedVaultDoc } from '../vault/vaultDocuments';
import { readVaultContent, type VaultContent } from '../vault/vaultShape';
import { toHex } from '../wire/hex';
import { InputError } from '../inputError';
import { measureAutomerge, VAULT_LIMITS } from '../vault/automergeCost';
import { MAX_VAULT_BYTES } from '../vault/vaultLimits';

/**
 * The share of each vault limit the shop's own vault may use: peers refuse vaults over the
 * limits (and count it against whoever sends them), so the owner stops well short of them.
 */
const OWN_SHARE = 0.9;
export const OWN_VAULT_MAX_OPS = Math.floor(VAULT_LIMITS.maxOps * OWN_SHARE);
export const OWN_VAULT_MAX_EXPANDED = Math.floor(VAULT_LIMITS.maxExpandedBytes * OWN_SHARE);
export const OWN_VAULT_MAX_BYTES = Math.floor(MAX_VAULT_BYTES * OWN_SHARE);

const UNBOUNDED = { maxOps: Number.MAX_SAFE_INTEGER, maxChanges: Number.MAX_SAFE_INTEGER, maxExpandedBytes: Number.MAX_SAFE_INTEGER, maxActors: Number.MAX_SAFE_INTEGER };

/** What the shared vault costs a peer to take, as a peer measures it. */
export interface VaultCost {
  ops: number;
  expandedBytes: number;
  bytes: number;
}

function costOf(saved: Uint8Array): VaultCost {
  const { ops, expandedBytes } = measureAutomerge(saved, UNBOUNDED);
  return { ops, expandedBytes, bytes: saved.length };
}

/** Past this share of a limit (estimated from the changes since the last exact measure), an edit measures the whole vault. */
const MEASURE_EXACTLY_PAST = 0.5;
/** Growth (as a share of each limit) after which a vault near its limits is measured exactly again. */
const REMEASURE_STEP = 0.05;
export const shopKeysKey = ['keys', 'shop'];
export const privatePrefix = (id: string) => ['private', id];
export const ownSharedPrefix = (id: string) => ['vault', id, 'shared'];

/** A proposed new state of the shop: documents, signed heads and the writes that record them. */
export interface ShopEdit<T> {
  result: T;
  privateDoc: A.Doc<PrivateVaultDoc>;
  doc: A.Doc<SharedVaultDoc>;
  signedHeads: SignedHeads;
  content: VaultContent;
  /** True when the shared document moved (new signed heads to announce). */
  sharedChanged: boolean;
  cost: VaultCost;
  /** The last exact measure. */
  measured: VaultCost;
  writes: StorageWrite[];
}

/**
 * The shop this node owns: its keys (the device key is the node's own key), its private
 * catalog and its shared vault, each kept as a DocumentLog. An edit is computed here — both
 * documents changed, offers brought in line, heads signed, the shared content checked like
 * any peer's — and becomes the shop's state only once the node has written it (`commit`).
 */
export class OwnShop {
  private constructor(
    readonly keys: ShopKeys,
    readonly id: string,
    public privateDoc: A.Doc<PrivateVaultDoc>,
    readonly privateLog: DocumentLog,
    public doc: A.Doc<SharedVaultDoc>,
    readonly log: DocumentLog,
    public signedHeads: SignedHeads,
    public content: VaultContent,
    /** What the shared vault costs a peer (estimated from changes since the last exact measure). */
    public cost: VaultCost,
    /** The last exact measure. */
    public measured: VaultCost = cost,
  ) {}

  /** A new shop: keys certified by a fresh root key, both documents, and the writes that save them. */
  static create(
    device: KeyPair,
    profile: { name: string; area: string; currency: string },
    exactLocation: string,
    now: number,
  ): { shop: OwnShop; writes: StorageWrite[] } {
    const keys = createShopKeys(now, device);
    const id = toHex(keys.root.publicKey);
    const actor = toHex(device.publicKey).slice(0, 32);
    const doc = A.from<SharedVaultDoc>(
      {
        schema: 1,
        profile: { name: profile.name, area: profile.area, currency: profile.currency },
        devices: { [toHex(device.publicKey)]: { issuedAt: now } },
        offers: {},
      },
      { actor },
    );
    const privateDoc = A.from<PrivateVaultDoc>({ schema: 1, exactLocation, products: {} }, { actor });
    const signedHeads = signHeads(keys.device, keys.certificate, 1, A.getHeads(doc));
    const log = new DocumentLog(ownSharedPrefix(id));
    const privateLog = new DocumentLog(privatePrefix(id));
    const shop = new OwnShop(keys, id, privateDoc, privateLog, doc, log, signedHeads, readVaultContent(doc), costOf(A.save(doc)));
    return {
      shop,
      writes: [
        { op: 'put', key: shopKeysKey, data: encodeShopKeys(keys) },
        ...log.snapshotWrites(A.save(doc), doc),
        ...privateLog.snapshotWrites(A.save(privateDoc), privateDoc),
      ],
    };
  }

  /** The stored shop, or undefined if this node has none. Throws if what is stored is incomplete. */
  static async load(storage: StorageAdapter, signedHeadsOf: (id: string) => SignedHeads | undefined): Promise<OwnShop | undefined> {
    const keyBytes = await storage.load(shopKeysKey);
    if (!keyBytes) return undefined;
    const keys = decodeShopKeys(keyBytes);
    const id = toHex(keys.root.publicKey);
    const privateLog = new DocumentLog(privatePrefix(id));
    const log = new DocumentLog(ownSharedPrefix(id));
    const privateDoc = await privateLog.load<PrivateVaultDoc>(storage);
    const doc = await log.load<SharedVaultDoc>(storage);
    const signedHeads = signedHeadsOf(id);
    if (!privateDoc || !doc || !signedHeads) throw new Error('stored shop is incomplete: keys without its vault');
    if (!sameHeads(A.getHeads(doc), signedHeads.heads)) throw new Error('stored shop does not match its signed heads');
    return new OwnShop(keys, id, privateDoc, privateLog, doc, log, signedHeads, readVaultContent(doc), costOf(A.save(doc)));
  }

  /**
   * Computes an edit without making it the shop's state. Automerge marks the documents it
   * changed as outdated, so after a failed write the caller reloads the shop from storage.
   */
  edit<T>(
    edit: (draft: PrivateVaultDoc) => { result: T; touched: string[] },
    shareEdit: ((draft: SharedVaultDoc) => void) | undefined,
    now: number,
  ): ShopEdit<T> {
    let outcome: { result: T; touched: string[] } | undefined;
    const privateDoc = A.change(this.privateDoc, { time: Math.floor(now / 1000) }, (draft) => {
      outcome = edit(draft);
    });
    const { result, touched } = outcome!;
    const doc = A.change(this.doc, { time: Math.floor(now / 1000) }, (draft) => {
      shareEdit?.(draft);
      for (const productId of touched) syncOffer(draft, privateDoc, productId, now);
    });
    const writes = this.privateLog.writesFor(privateDoc);
    const heads = A.getHeads(doc);
    const sharedChanged = !sameHeads(heads, this.signedHeads.heads);
    let signedHeads = this.signedHeads;
    let content = this.content;
    let cost = this.cost;
    let measured = this.measured;
    if (sharedChanged) {
      for (const change of A.getChanges(this.doc, doc)) {
        const delta = costOf(change);
        cost = { ops: cost.ops + delta.ops, expandedBytes: cost.expandedBytes + delta.expandedBytes, bytes: cost.bytes + delta.bytes };
      }
      const past = (share: number, c: VaultCost) =>
        c.ops > VAULT_LIMITS.maxOps * share || c.expandedBytes > VAULT_LIMITS.maxExpandedBytes * share || c.bytes > MAX_VAULT_BYTES * share;
      const grown: VaultCost = {
        ops: cost.ops - this.measured.ops,
        expandedBytes: cost.expandedBytes - this.measured.expandedBytes,
        bytes: cost.bytes - this.measured.bytes,
      };
      // Near a limit the estimate is not enough: the vault is measured exactly as a peer will,
      // again each time it has grown by another step since (not on every edit).
      if (past(MEASURE_EXACTLY_PAST, cost) && (!past(MEASURE_EXACTLY_PAST, this.measured) || past(REMEASURE_STEP, grown))) {
        cost = costOf(A.save(doc));
        measured = cost;
      }
      if (cost.ops > OWN_VAULT_MAX_OPS || cost.expandedBytes > OWN_VAULT_MAX_EXPANDED || cost.bytes > OWN_VAULT_MAX_BYTES) {
        throw new InputError(
          'shop',
          `This change would make your shared offers larger than other shops accept (${cost.ops} operations, ${cost.expandedBytes} bytes expanded, ${cost.bytes} bytes saved); withdraw some offers or shorten their texts`,
        );
      }
      content = readVaultContent(doc);
      signedHeads = signHeads(this.keys.device, this.keys.certificate, this.signedHeads.counter + 1, heads);
      writes.push(...this.log.writesFor(doc));
    }
    return { result, privateDoc, doc, signedHeads, content, sharedChanged, writes, cost, measured };
  }

  commit(edit: ShopEdit<unknown>): void {
    this.privateDoc = edit.privateDoc;
    this.doc = edit.doc;
    this.signedHeads = edit.signedHeads;
    this.content = edit.content;
    this.cost = edit.cost;
    this.measured = edit.measured;
  }
}

