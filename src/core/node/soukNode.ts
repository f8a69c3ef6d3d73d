import * as A from '@automerge/automerge';
import { systemClock, type Clock } from '../clock';
import { generateKeyPair, keyPairFromSecret, type KeyPair } from '../crypto/ed25519';
import type { Link } from '../link/link';
import { proveSignalingJoin } from '../mesh/signalingJoin';
import { PeerPolicy } from '../mesh/peerPolicy';
import { StorageError, type StorageAdapter, type StorageWrite } from '../storage/storage';
import {
  plainValue,
  productFromRow,
  sharedText,
  validateExactLocation,
  validateOffer,
  validateProduct,
  validateShopProfile,
  type ProductInput,
} from '../catalog/catalog';
import { InputError } from '../inputError';
import type { CatalogRow } from '../catalog/catalogCsv';
import { proveLink } from '../sync/linkProof';
import { MAX_CHANGES_PER_FRAME, RefusalCode, type SyncMessage } from '../sync/syncMessages';
import { SyncSession, type SyncHost } from '../sync/syncSession';
import { acceptBundle, type VerifiedVault } from '../vault/acceptBundle';
import { VAULT_LIMITS } from '../vault/automergeCost';
import { encodeDeviceCertificate, type DeviceCertificate } from '../vault/deviceCertificate';
import { checkSignedHeads, encodeSignedHeads, sameHeads, type SignedHeads } from '../vault/signedHeads';
import type { PrivateVaultDoc, Product } from '../vault/vaultDocuments';
import { toHex } from '../wire/hex';
import { OwnShop, type ShopEdit } from './ownShop';
import { PriorityWork } from './priorityWork';
import { MAX_REQUESTS, VaultRequests } from './vaultRequests';
import { lookAlikes, shopFingerprint } from './shopIdentity';
import { DEFAULT_VAULT_BUDGET, VaultStore, type VaultBudget, type VaultStanding } from './vaultStore';
import {
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_NETWORK,
  MAX_TRUSTED_SHOPS,
  type MarketplaceView,
  type MarketOffer,
  type NodeSettings,
  type NodeView,
  type PeerView,
} from './nodeView';

export { OFFENCES_BEFORE_BLOCK } from '../mesh/peerPolicy';

const MAX_REFUSALS_KEPT = 100;
const MAX_VERIFIED_KEPT = 4096;
/** Statements this node announces on a new link: its own, partners', then others' most recent. */
const MAX_ANNOUNCED_ON_LINK = 2_000;
/** Bytes queued for a link's vault-sync lane past which this node answers "busy". */
const SYNC_QUEUE_BUSY_BYTES = 8 * 1024 * 1024;
const RETRY_EVERY_MS = 2_000;
/** Recent versions of each vault kept in memory, so a peer a version or two behind gets only the changes. */
const RECENT_VERSIONS = 8;
/** Above this, an answer of changes is sent as a whole document instead. */
const MAX_INCREMENTAL_BYTES = 1024 * 1024;

export interface SoukNodeOptions {
  storage: StorageAdapter;
  clock?: Clock;
  randomBytes?: (n: number) => Uint8Array;
  /** How many others' vaults this node keeps (defaults: DEFAULT_VAULT_BUDGET). */
  vaultBudget?: Partial<VaultBudget>;
}

export interface ShopInput {
  name: string;
  area: string;
  currency?: string;
  exactLocation?: string;
}

const settingsKey = ['node', 'settings'];
/** The node's Ed25519 secret key: its public key is the node id, proven on every link. */
const nodeKeyKey = ['node', 'key'];

function defaultRandomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function readSettings(bytes: Uint8Array | undefined): NodeSettings {
  const defaults: NodeSettings = { networkName: DEFAULT_NETWORK, maxConnections: DEFAULT_MAX_CONNECTIONS, trustedShops: [] };
  if (!bytes) return defaults;
  try {
    const stored = JSON.parse(new TextDecoder().decode(bytes)) as Partial<NodeSettings>;
    return {
      networkName: typeof stored.networkName === 'string' ? stored.networkName : defaults.networkName,
      maxConnections: typeof stored.maxConnections === 'number' ? stored.maxConnections : defaults.maxConnections,
      trustedShops: Array.isArray(stored.trustedShops) ? stored.trustedShops.filter((id) => /^[0-9a-f]{64}$/.test(id)).slice(0, MAX_TRUSTED_SHOPS) : [],
    };
  } catch {
    return defaults;
  }
}

/**
 * A full Souk node: the shop it owns (if any), the vaults of others it carries, and sync
 * sessions over whatever links it is given. Platform-free: storage, links and time come in
 * through ports. Parts, each small enough to test alone: OwnShop (the merchant's edits),
 * acceptBundle (whether to take a peer's vault version: a pure function), VaultStore (what is
 * kept, the index, eviction), PeerPolicy (offences, blocks and per-peer budgets) and SyncSession
 * (one link), VaultRequests (whom to ask for what). This class composes them: gossip of signed
 * heads; the merchant's edits through one queue, peers' versions through a priority queue of
 * their own. Serving never waits on a link: answers go into that link's own bounded queue.
 */
export class SoukNode implements SyncHost {
  readonly clock: Clock;
  readonly nodeId: Uint8Array;
  private readonly nodeKey: KeyPair;
  settings: NodeSettings;
  /** `settings.trustedShops` as a set, for the checks on every vault and statement. */
  private trustedShops: Set<string>;
  private readonly storage: StorageAdapter;
  private readonly random: (n: number) => Uint8Array;
  private shop: OwnShop | undefined;
  private store!: VaultStore;
  readonly policy: PeerPolicy;
  private readonly sessions = new Set<SyncSession>();
  private readonly requests: VaultRequests;
  /** Who first brought each vault (bounded): a peer's deliveries of vaults it brought itself do not make it established. */
  private readonly introducedBy = new Map<string, string>();
  private readonly recent = new Map<string, string[][]>();
  private readonly refusals: { at: number; peer: string; reason: string }[] = [];
  private readonly listeners = new Set<() => void>();
  /** Vault versions (id:counter) already called out as signed twice (bounded). */
  private readonly equivocations = new Set<string>();
  /** Signed statements already verified, least recently used first (bounded). */
  private readonly verified = new Map<string, true>();
  /** The merchant's own edits, one after another. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Peers' vault versions, taken one at a time by priority; never behind the merchant's edits, nor they behind it. */
  private readonly acceptance = new PriorityWork(3);
  private cancelRetry: (() => void) | undefined;
  private changedAt: number;
  private closedTraffic = { bytesIn: 0, bytesOut: 0 };
  private closed = false;
  private contentLoading: Promise<void> = Promise.resolve();

  private constructor(options: SoukNodeOptions, nodeKey: KeyPair, settings: NodeSettings) {
    this.storage = options.storage;
    this.clock = options.clock ?? systemClock;
    this.random = options.randomBytes ?? defaultRandomBytes;
    this.nodeKey = nodeKey;
    this.nodeId = nodeKey.publicKey;
    this.settings = settings;
    this.trustedShops = new Set(settings.trustedShops);
    this.changedAt = this.clock.now();
    this.policy = new PeerPolicy(this.clock);
    this.requests = new VaultRequests({
      clock: this.clock,
      policy: this.policy,
      randomBytes: (n) => this.random(n),
      held: (vault) => {
        const record = this.store.get(vault);
        return record && { counter: record.signedHeads.counter, heads: record.signedHeads.heads };
      },
      standingOf: (vault) => this.standingOf(vault),
      mayAsk: (vault) => !this.closed && vault !== this.shop?.id,
    });
  }

  /** Opens the node kept in `storage`, creating its identity on first use. Reads the vault index, not every vault. */
  static async open(options: SoukNodeOptions): Promise<SoukNode> {
    const { storage } = options;
    const storedKey = await storage.load(nodeKeyKey);
    let nodeKey: KeyPair;
    if (storedKey?.length === 32) nodeKey = keyPairFromSecret(storedKey);
    else {
      nodeKey = generateKeyPair();
      await storage.write([{ op: 'put', key: nodeKeyKey, data: nodeKey.secretKey }]);
    }
    const node = new SoukNode(options, nodeKey, readSettings(await storage.load(settingsKey)));
    node.store = await VaultStore.open(storage, (id) => node.standingOf(id), { ...DEFAULT_VAULT_BUDGET, ...options.vaultBudget }, (problem) =>
      node.refuse('storage', problem),
    );
    node.shop = await OwnShop.load(storage, (id) => node.store.get(id)?.signedHeads);
    const ownRecord = node.shop && node.store.get(node.shop.id);
    if (node.shop && ownRecord) node.store.commitOwn(ownRecord, node.shop.content, node.shop.doc);
    node.contentLoading = node.loadContentInBackground();
    node.scheduleRetry();
    return node;
  }

  /** Loads the checked content of every carried vault, a few at a time, so views fill in without blocking the node. */
  private async loadContentInBackground(): Promise<void> {
    // Not before the node is open: opening reads the index only.
    await new Promise((resolve) => setTimeout(resolve, 0));
    const ids = [...this.store.all()].map((r) => r.id);
    for (let i = 0; i < ids.length; i += 50) {
      if (this.closed) return;
      await Promise.all(ids.slice(i, i + 50).map((id) => this.store.content(id)));
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    this.changed();
  }

  /** Resolves once every carried vault's content is in memory (views list them all). */
  whenContentLoaded(): Promise<void> {
    return this.contentLoading;
  }

  private standingOf(id: string): VaultStanding {
    if (id === this.shop?.id) return 'own';
    if (this.trustedShops.has(id)) return 'partner';
    return 'other';
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => {});
    return run;
  }

  randomBytes(n: number): Uint8Array {
    return this.random(n);
  }

  // ---------------------------------------------------------------- the shop

  get hasShop(): boolean {
    return this.shop !== undefined;
  }

  createShop(input: ShopInput): Promise<string> {
    return this.serial(async () => {
      if (this.shop) throw new InputError('shop', 'This node already has a shop');
      const profile = validateShopProfile(input);
      const exactLocation = validateExactLocation(input.exactLocation ?? '');
      const now = this.clock.now();
      const { shop, writes } = OwnShop.create(this.nodeKey, profile, exactLocation, now);
      const { writes: indexWrites, record } = this.store.ownVaultWrites(shop.id, shop, shop.cost, now);
      await this.write([...writes, ...indexWrites]);
      this.shop = shop;
      this.store.commitOwn(record, shop.content, shop.doc);
      for (const session of this.sessions) session.sayHello();
      this.broadcast([shop.signedHeads]);
      this.changed();
      return shop.id;
    });
  }

  /**
   * Applies a catalog edit to the private document, brings the shared offers of the touched
   * products in line, signs the new heads and saves all of it in one atomic write. Resolves only
   * once the edit is durable; any failure (refused input, a full disk) leaves the shop exactly
   * as storage holds it, and the error says why.
   */
  private editShop<T>(
    edit: (draft: PrivateVaultDoc) => { result: T; touched: string[] },
    shareEdit?: (draft: Parameters<NonNullable<Parameters<OwnShop['edit']>[1]>>[0]) => void,
  ): Promise<T> {
    return this.serial(async () => {
      const shop = this.shop;
      if (!shop) throw new InputError('shop', 'Create your shop first');
      const now = this.clock.now();
      let proposed: ShopEdit<T>;
      let record: ReturnType<VaultStore['ownVaultWrites']>['record'] | undefined;
      try {
        proposed = shop.edit(edit, shareEdit, now);
        if (proposed.sharedChanged) {
          const own = this.store.ownVaultWrites(shop.id, proposed, proposed.cost, now);
          proposed.writes.push(...own.writes);
          record = own.record;
        }
        if (proposed.writes.length) await this.write(proposed.writes);
      } catch (error) {
        // Automerge marked the shop's documents outdated when the edit changed them: go back to what storage holds.
        await this.reloadShop();
        throw error;
      }
      shop.commit(proposed);
      if (record) {
        this.store.commitOwn(record, proposed.content, proposed.doc);
        this.rememberVersion(shop.id, proposed.signedHeads.heads);
        this.broadcast([proposed.signedHeads]);
      }
      this.changed();
      return proposed.result;
    });
  }

  private async reloadShop(): Promise<void> {
    const shop = await OwnShop.load(this.storage, (id) => this.store.get(id)?.signedHeads);
    this.shop = shop;
    if (shop) this.store.holdDoc(shop.id, shop.doc);
  }

  private async write(batch: StorageWrite[]): Promise<void> {
    try {
      await this.storage.write(batch);
    } catch (error) {
      // Adapters say what went wrong (a full disk among others); anything else is a plain failure.
      throw error instanceof StorageError ? error : new StorageError('failed', `The change was not saved: ${describe(error)}`);
    }
  }

  private newId(): string {
    return toHex(this.random(8));
  }

  private product(draft: PrivateVaultDoc, id: string): Product {
    const product = draft.products[id];
    if (!product) throw new InputError('product', 'That product no longer exists');
    return product;
  }

  addProduct(input: ProductInput): Promise<string> {
    return this.editShop((draft) => {
      const now = this.clock.now();
      const id = this.newId();
      draft.products[id] = { id, ...validateProduct(input, () => this.newId()), offer: null, createdAt: now, updatedAt: now };
      return { result: id, touched: [id] };
    });
  }

  /** Adds many products in one edit (a catalog import). Every row is checked before anything is saved. */
  importProducts(rows: CatalogRow[], firstRowNumber = 1): Promise<number> {
    const now = this.clock.now();
    const products = rows.map((row, i) => productFromRow(row, firstRowNumber + i, () => this.newId(), now));
    return this.editShop((draft) => {
      for (const product of products) draft.products[product.id] = product;
      return { result: products.length, touched: products.map((p) => p.id) };
    });
  }

  /**
   * Replaces a product's fields. With `offer` (an offer, or null to withdraw it) the offer is set
   * in the same edit; without it an existing offer is kept, shrunk to the stock if need be.
   */
  updateProduct(id: string, input: ProductInput, offer?: { quantity: number; price: number } | null): Promise<void> {
    return this.editShop((draft) => {
      const product = this.product(draft, id);
      const { batches, ...fields } = validateProduct(input, () => this.newId());
      for (const [key, value] of Object.entries(fields) as [keyof typeof fields, never][]) {
        if (product[key] !== value) (product as unknown as Record<string, unknown>)[key] = value;
      }
      const withoutIds = (list: { quantity: number; expiresOn: string }[]) => JSON.stringify(list.map((b) => [b.quantity, b.expiresOn]));
      if (withoutIds(product.batches) !== withoutIds(batches)) product.batches = batches;
      if (offer !== undefined) product.offer = offer ? validateOffer(product, offer) : null;
      else if (product.offer && product.offer.quantity > product.stock) product.offer.quantity = product.stock;
      product.updatedAt = this.clock.now();
      return { result: undefined, touched: [id] };
    });
  }

  removeProduct(id: string): Promise<void> {
    return this.editShop((draft) => {
      this.product(draft, id);
      delete draft.products[id];
      return { result: undefined, touched: [id] };
    });
  }

  /** Adds `delta` (negative to take away) to a product's stock. Stock never goes below zero. */
  adjustStock(id: string, delta: number): Promise<number> {
    return this.editShop((draft) => {
      const product = this.product(draft, id);
      if (!Number.isFinite(delta)) throw new InputError('Adjustment', 'Adjustment must be a number');
      const next = Math.round((product.stock + delta) * 1000) / 1000;
      if (next < 0) throw new InputError('Adjustment', `Only ${product.stock} ${product.unit} in stock; cannot take away ${-delta}`);
      product.stock = next;
      product.updatedAt = this.clock.now();
      return { result: next, touched: [id] };
    });
  }

  /** Offers a product to the network (quantity ≤ stock), or withdraws the offer with `null`. */
  setOffer(id: string, offer: { quantity: number; price: number } | null): Promise<void> {
    return this.editShop((draft) => {
      const product = this.product(draft, id);
      product.offer = offer ? validateOffer(product, offer) : null;
      product.updatedAt = this.clock.now();
      return { result: undefined, touched: [id] };
    });
  }

  /** Renames the shop or moves its area (offers follow); the currency stays. */
  async updateProfile(input: ShopInput): Promise<void> {
    const { name, area } = validateShopProfile(input);
    const exactLocation = input.exactLocation === undefined ? undefined : validateExactLocation(input.exactLocation);
    return this.editShop(
      (draft) => {
        if (exactLocation !== undefined) draft.exactLocation = exactLocation;
        return { result: undefined, touched: Object.keys(draft.products) };
      },
      (draft) => {
        if (plainValue(draft.profile.name) !== name) draft.profile.name = sharedText(name) as unknown as string;
        if (plainValue(draft.profile.area) !== area) draft.profile.area = sharedText(area) as unknown as string;
      },
    );
  }

  async updateSettings(settings: Partial<NodeSettings>): Promise<NodeSettings> {
    const next = { ...this.settings, ...settings };
    next.networkName = next.networkName.trim();
    if (!/^[\w.-]{1,64}$/.test(next.networkName)) {
      throw new InputError('Network name', 'Network name: 1 to 64 letters, digits, dots, dashes or underscores');
    }
    if (!Number.isInteger(next.maxConnections) || next.maxConnections < 1 || next.maxConnections > 32) {
      throw new InputError('Maximum connections', 'Maximum connections must be a whole number from 1 to 32');
    }
    if (!Array.isArray(next.trustedShops) || next.trustedShops.some((id) => !/^[0-9a-f]{64}$/.test(id))) {
      throw new InputError('Trusted shops', 'Trusted shops must be shop ids');
    }
    if (next.trustedShops.length > MAX_TRUSTED_SHOPS) {
      throw new InputError('Trusted shops', `At most ${MAX_TRUSTED_SHOPS} shops can be marked trusted`);
    }
    next.trustedShops = [...new Set(next.trustedShops)];
    await this.write([{ op: 'put', key: settingsKey, data: new TextEncoder().encode(JSON.stringify(next)) }]);
    this.settings = next;
    this.trustedShops = new Set(next.trustedShops);
    this.changed();
    return next;
  }

  /** Marks a shop as one this merchant knows and trusts (kept first, shown as such), or takes the mark away. */
  setTrusted(vaultId: string, trusted: boolean): Promise<NodeSettings> {
    const others = this.settings.trustedShops.filter((id) => id !== vaultId);
    return this.updateSettings({ trustedShops: trusted ? [...others, vaultId] : others });
  }

  // ---------------------------------------------------------------- reads

  /** The shop's products matching a search over name and SKU, by name; at most `limit` of them, and how many match. */
  products(query = '', limit = Infinity): { products: Product[]; total: number } {
    if (!this.shop) return { products: [], total: 0 };
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    const matching = Object.values(this.shop.privateDoc.products)
      .filter((p) => words.every((w) => `${p.name} ${p.sku}`.toLowerCase().includes(w)))
      .sort((a, b) => a.name.localeCompare(b.name));
    return {
      products: matching.slice(0, limit).map((p) => JSON.parse(JSON.stringify(p)) as Product),
      total: matching.length,
    };
  }

  private trusted(id: string): boolean {
    return this.trustedShops.has(id);
  }

  view(): NodeView {
    const peers: PeerView[] = [];
    let bytesIn = this.closedTraffic.bytesIn;
    let bytesOut = this.closedTraffic.bytesOut;
    for (const session of this.sessions) {
      bytesIn += session.bytesIn;
      bytesOut += session.bytesOut;
      if (!session.remote) continue; // Not proven yet: not a peer.
      const shopId = session.remote.shopVaultId;
      const record = shopId ? this.store.get(shopId) : undefined;
      peers.push({
        nodeId: session.remote.nodeId,
        name: record?.name ?? '',
        shopVaultId: shopId ?? null,
        fingerprint: shopId ? shopFingerprint(shopId) : null,
        trusted: shopId ? this.trusted(shopId) : false,
        linkLabel: session.link.label,
        connectedAt: session.openedAt,
        lastHeardAt: session.lastHeardAt,
        bytesIn: session.bytesIn,
        bytesOut: session.bytesOut,
      });
    }
    const records = [...this.store.all()];
    const clashes = lookAlikes(records, (id) => this.standingOf(id) !== 'other');
    return {
      nodeId: toHex(this.nodeId),
      shop: this.shop
        ? {
            vaultId: this.shop.id,
            name: this.shop.content.profile.name,
            area: this.shop.content.profile.area,
            currency: this.shop.content.profile.currency,
            exactLocation: this.shop.privateDoc.exactLocation,
            fingerprint: shopFingerprint(this.shop.id),
          }
        : null,
      settings: { ...this.settings, trustedShops: [...this.settings.trustedShops] },
      peers,
      vaults: records.map((r) => ({
        vaultId: r.id,
        name: r.name,
        area: r.area,
        fingerprint: shopFingerprint(r.id),
        own: r.id === this.shop?.id,
        trusted: this.trusted(r.id),
        lookAlikeOf: clashes.get(r.id) ?? null,
        counter: r.signedHeads.counter,
        offers: r.offerCount,
        bytes: r.bytes,
        asOf: r.asOf,
        firstSeenAt: r.firstSeenAt,
      })),
      refusals: [...this.refusals],
      blockedPeers: this.policy.blockedPeers(),
      traffic: { bytesIn, bytesOut },
      changedAt: this.changedAt,
    };
  }

  /** Everyone's offers, newest state, filtered by a search over name, SKU, seller and area. Reads checked content only. */
  marketplace(query = '', limit = 200): MarketplaceView {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    const records = [...this.store.all()];
    const clashes = lookAlikes(records, (id) => this.standingOf(id) !== 'other');
    const matches: MarketOffer[] = [];
    let loading = 0;
    for (const record of records) {
      const content = this.store.cachedContent(record.id);
      if (!content) {
        loading += 1;
        continue;
      }
      const { profile } = content;
      for (const offer of content.offers) {
        const haystack = `${offer.name} ${offer.sku} ${profile.name} ${offer.area}`.toLowerCase();
        if (!words.every((w) => haystack.includes(w))) continue;
        matches.push({
          ...offer,
          vaultId: record.id,
          seller: profile.name,
          currency: profile.currency,
          own: record.id === this.shop?.id,
          fingerprint: shopFingerprint(record.id),
          trusted: this.trusted(record.id),
          lookAlikeOf: clashes.get(record.id) ?? null,
        });
      }
    }
    matches.sort((a, b) => a.name.localeCompare(b.name) || a.seller.localeCompare(b.seller) || a.vaultId.localeCompare(b.vaultId));
    const shown = matches.slice(0, limit);
    // What the merchant looks at is in use: eviction takes the least recently used first.
    const now = this.clock.now();
    for (const offer of shown) this.store.touch(offer.vaultId, now);
    return { offers: shown, total: matches.length, loadingVaults: loading };
  }

  /** The signed heads this node holds for a vault, as sent on the wire. */
  signedHeadsOf(vaultId: string): SignedHeads | undefined {
    return this.store.get(vaultId)?.signedHeads;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    this.changedAt = this.clock.now();
    for (const listener of this.listeners) {
      try {
        listener();
      } catch {
        // A listener's failure is its own.
      }
    }
  }

  // ---------------------------------------------------------------- links

  /**
   * Starts syncing over a link. The session ends when the link closes. With `expectedNodeId`
   * (the id the link was dialed for, e.g. the signaling peer id), a peer proving any other key is dropped.
   */
  addLink(link: Link, expectedNodeId?: string): SyncSession {
    if (this.closed) {
      link.close('node is shutting down');
      throw new Error('node is closed');
    }
    const session = new SyncSession(link, this, expectedNodeId);
    this.sessions.add(session);
    this.requests.track(session);
    session.start();
    return session;
  }

  /** Says goodbye on every link and closes it (leaving a network, a new leader tab taking over). */
  async leaveAll(reason: string): Promise<void> {
    await Promise.all([...this.sessions].map((session) => session.leave(reason)));
  }

  close(): void {
    this.closed = true;
    this.cancelRetry?.();
    for (const session of [...this.sessions]) session.close('node closed');
  }

  /** Signs the signaling server's challenge: proves this node holds the key its peer id names. */
  proveSignalingJoin(challenge: Uint8Array, room: string): Uint8Array {
    return proveSignalingJoin(this.nodeKey, challenge, room);
  }

  proveLink(theirChallenge: Uint8Array, theirId: Uint8Array): Uint8Array {
    return proveLink(this.nodeKey, theirChallenge, theirId);
  }

  shopClaim(): DeviceCertificate | undefined {
    return this.shop?.keys.certificate;
  }

  /** Statements to announce on a new link: own first, then partners', then the most recently updated. */
  private announcements(): SignedHeads[] {
    const rank = (id: string) => ({ own: 0, partner: 1, other: 2 })[this.standingOf(id)];
    return [...this.store.all()]
      .sort((a, b) => rank(a.id) - rank(b.id) || b.asOf - a.asOf)
      .slice(0, MAX_ANNOUNCED_ON_LINK)
      .map((r) => r.signedHeads);
  }

  sessionReady(session: SyncSession): boolean {
    const remote = session.remote!;
    if (this.policy.isBlocked(remote.nodeId)) {
      session.close('this peer is blocked after repeated refusals');
      return false;
    }
    if (remote.nodeId === toHex(this.nodeId)) {
      session.close('connected to itself');
      return false;
    }
    // One link per proven peer: a newer link from the same key replaces the older.
    for (const other of this.sessions) {
      if (other !== session && other.remote?.nodeId === remote.nodeId) other.close('replaced by a newer link from the same peer');
    }
    session.announce(this.announcements());
    this.changed();
    return true;
  }

  sessionClosed(session: SyncSession): void {
    this.closedTraffic.bytesIn += session.bytesIn;
    this.closedTraffic.bytesOut += session.bytesOut;
    this.sessions.delete(session);
    this.requests.untrack(session);
    this.changed();
  }

  private refuse(peer: string, reason: string): void {
    this.refusals.unshift({ at: this.clock.now(), peer, reason });
    this.refusals.length = Math.min(this.refusals.length, MAX_REFUSALS_KEPT);
    this.changed();
  }

  offence(session: SyncSession, reason: string): void {
    this.refuse(session.label, reason);
    const who = session.remote?.nodeId;
    if (!who) return; // Offences count only against proven identities.
    if (this.policy.offence(who, reason)) {
      for (const other of this.sessions) if (other.remote?.nodeId === who) other.close(`blocked after ${this.policy.offences(who)} refusals`);
    }
  }

  receiveRefusal(session: SyncSession, message: Extract<SyncMessage, { type: 'refusal' }>): void {
    this.refuse(`${session.label} (their refusal)`, message.reason);
    if (!message.vaultId) return;
    if (message.code !== RefusalCode.rule) this.requests.refused(session, toHex(message.vaultId));
    this.requests.askMore(session);
  }

  /** Verifies a signed statement, remembering genuine ones (bounded, least recently used dropped first). */
  private checkStatement(statement: SignedHeads): string | undefined {
    // Keyed by the whole statement: a verified signature must not vouch for altered fields.
    const key = toHex(encodeSignedHeads(statement));
    if (this.verified.has(key)) {
      this.verified.delete(key);
      this.verified.set(key, true);
      return undefined;
    }
    // Statements of one vault share a device certificate: verify each certificate once.
    const certificateKey = toHex(encodeDeviceCertificate(statement.certificate));
    const certificateChecked = this.verified.has(certificateKey);
    const problem = checkSignedHeads(statement, certificateChecked);
    if (problem) return problem;
    if (!certificateChecked) this.verified.set(certificateKey, true);
    this.verified.set(key, true);
    for (const old of this.verified.keys()) {
      if (this.verified.size <= MAX_VERIFIED_KEPT) break;
      this.verified.delete(old);
    }
    return undefined;
  }

  receiveHeads(session: SyncSession, statements: SignedHeads[]): void {
    const peer = session.remote?.nodeId;
    if (!this.sessions.has(session) || !peer) return;
    // Newer versions this node holds of what the peer announced: sent back in one announcement.
    const peerBehind: SignedHeads[] = [];
    for (const statement of statements) {
      const id = toHex(statement.vaultId);
      if (id === this.shop?.id) continue; // Only this node writes its own vault.
      const local = this.store.get(id);
      if (local && statement.counter <= local.signedHeads.counter) {
        if (statement.counter < local.signedHeads.counter) peerBehind.push(local.signedHeads);
        else if (!sameHeads(statement.heads, local.signedHeads.heads)) this.noteEquivocation(session, peer, statement);
        continue;
      }
      if (this.requests.announcedCounter(session, id) >= statement.counter) continue;
      if (!this.requests.canRemember(session, id)) continue;
      // A vault this node does not carry costs the peer one of its new-vault allowance; beyond that it
      // is noted unverified, and fetched (and verified on acceptance) only if the allowance refills.
      if (!local && this.standingOf(id) === 'other' && !this.requests.admit(session, id)) {
        this.requests.announce(session, id, statement.counter);
        continue;
      }
      // Verifying costs CPU: a peer gets a budget of it; beyond, its announcements wait for the next link.
      if (!this.policy.take(peer, 'verifications')) break;
      const problem = this.checkStatement(statement);
      if (problem) {
        this.offence(session, `heads for vault ${id.slice(0, 8)} refused: ${problem}`);
        if (session.closedReason !== undefined) return;
        continue;
      }
      this.requests.announce(session, id, statement.counter);
      this.requests.request(id);
    }
    if (peerBehind.length) session.announce(peerBehind);
  }

  /**
   * The same counter with other heads: if the owner really signed both, it is showing different
   * versions to different peers. Said once per vault and counter, where the merchant sees
   * refusals; the version held first is kept until the owner signs a newer one.
   */
  private noteEquivocation(session: SyncSession, peer: string, statement: SignedHeads): void {
    const key = `${toHex(statement.vaultId)}:${statement.counter}`;
    if (this.equivocations.has(key) || !this.policy.take(peer, 'verifications')) return;
    if (this.checkStatement(statement)) return; // Not genuinely signed: nothing to say.
    if (this.equivocations.size >= MAX_REFUSALS_KEPT) this.equivocations.clear();
    this.equivocations.add(key);
    const name = this.store.get(toHex(statement.vaultId))?.name ?? '';
    this.refuse(session.label, `shop ${name} (${shopFingerprint(toHex(statement.vaultId))}) signed two different versions numbered ${statement.counter}; keeping the first`);
  }

  private scheduleRetry(): void {
    this.cancelRetry = this.clock.setTimer(() => {
      if (this.closed) return;
      this.requests.retry();
      this.scheduleRetry();
    }, RETRY_EVERY_MS);
  }

  private rememberVersion(vault: string, heads: string[]): void {
    const versions = this.recent.get(vault) ?? [];
    versions.push(heads);
    if (versions.length > RECENT_VERSIONS) versions.shift();
    this.recent.set(vault, versions);
    if (this.recent.size > 2 * MAX_REQUESTS + this.store.budget.maxLoadedDocs) {
      const oldest = this.recent.keys().next().value;
      if (oldest !== undefined && oldest !== vault) this.recent.delete(oldest);
    }
  }

  /**
   * Answers a request for a vault version. Never runs in the node's queue and never waits on the
   * link: the answer goes into this link's bounded sync queue, or the peer is told "busy".
   */
  receiveWant(session: SyncSession, vaultId: Uint8Array, have: string[]): void {
    void this.answerWant(session, vaultId, have).catch((error) => {
      session.send({ type: 'refusal', code: RefusalCode.busy, vaultId, reason: `could not answer: ${describe(error)}` });
    });
  }

  private async answerWant(session: SyncSession, vaultId: Uint8Array, have: string[]): Promise<void> {
    const id = toHex(vaultId);
    const peer = session.remote!.nodeId;
    const record = this.store.get(id);
    if (!record) {
      session.send({ type: 'refusal', code: RefusalCode.notHere, vaultId, reason: `no vault ${id.slice(0, 8)} here` });
      return;
    }
    if (session.queuedBytes('sync') > SYNC_QUEUE_BUSY_BYTES) {
      session.send({ type: 'refusal', code: RefusalCode.busy, vaultId, reason: 'this link is busy; ask again later' });
      return;
    }
    let bundle: Extract<SyncMessage, { type: 'changes' }> | undefined;
    // Only the changes since a recent version this node held: bounded work. Anything else gets the whole document, encoded once.
    const knownVersion = have.length > 0 && (this.recent.get(id) ?? []).some((heads) => sameHeads(heads, have));
    if (knownVersion) {
      const doc = this.store.loadedDoc(id);
      if (doc && this.store.get(id) === record && A.hasHeads(doc, have)) {
        const changes = A.getChangesSince(doc, have);
        const bytes = changes.reduce((sum, c) => sum + c.length, 0);
        if (changes.length > 0 && changes.length <= MAX_CHANGES_PER_FRAME && bytes <= MAX_INCREMENTAL_BYTES) {
          bundle = { type: 'changes', signedHeads: record.signedHeads, snapshot: false, changes };
        }
      }
    }
    if (!bundle) {
      const encoding = await this.store.encoding(id);
      if (!encoding) {
        session.send({ type: 'refusal', code: RefusalCode.busy, vaultId, reason: 'vault changed while answering; ask again' });
        return;
      }
      bundle = { type: 'changes', signedHeads: encoding.signedHeads, snapshot: true, changes: [encoding.bytes] };
    }
    const size = bundle.changes.reduce((sum, c) => sum + c.length, 0);
    if (!this.policy.take(peer, 'servedBytes', size)) {
      session.send({ type: 'refusal', code: RefusalCode.busy, vaultId, reason: 'over this node’s upload budget for you; ask later' });
      return;
    }
    this.store.touch(id, this.clock.now());
    if (!session.send(bundle)) session.send({ type: 'refusal', code: RefusalCode.busy, vaultId, reason: 'this link is busy; ask again later' });
  }

  receiveChanges(session: SyncSession, message: Extract<SyncMessage, { type: 'changes' }>): Promise<void> {
    const id = toHex(message.signedHeads.vaultId);
    const short = id.slice(0, 8);
    if (!this.sessions.has(session) || !session.remote) return Promise.resolve();
    if (!this.requests.answered(session, id)) {
      this.offence(session, `changes for vault ${short} refused: never asked for`);
      return Promise.resolve();
    }
    if (id === this.shop?.id) return Promise.resolve();
    // Partners' vaults first, then updates of vaults already carried, then vaults new to this node.
    const priority = this.standingOf(id) === 'partner' ? 0 : this.store.has(id) ? 1 : 2;
    return this.acceptance.run(priority, () => this.takeChanges(session, message)).finally(() => this.requests.askMore(session));
  }

  private async takeChanges(session: SyncSession, message: Extract<SyncMessage, { type: 'changes' }>): Promise<void> {
    const id = toHex(message.signedHeads.vaultId);
    const short = id.slice(0, 8);
    const peer = session.remote!.nodeId;
    const record = this.store.get(id);
    let current: VerifiedVault | undefined;
    if (record) {
      if (message.signedHeads.counter <= record.signedHeads.counter) return; // Stale: another peer was quicker.
      const [doc, content] = await Promise.all([this.store.doc(id), this.store.content(id)]);
      if (!doc || !content || this.store.get(id) !== record) {
        this.refuse('storage', `vault ${short} could not be read back; asked again`);
        this.requests.notTaken(session, id);
        return;
      }
      current = { doc, content, signedHeads: record.signedHeads, ops: record.ops };
    }
    // Work and storage are charged once known; a peer already over its budget waits.
    if (this.policy.available(peer, 'ops') < 1 || (!current && this.policy.available(peer, 'vaultBytes') < 1)) {
      this.refuse(session.label, `vault ${short} from ${session.label} deferred: over its budget`);
      this.requests.notTaken(session, id);
      return;
    }
    const outcome = acceptBundle(current, message, { limits: VAULT_LIMITS, checkStatement: (s) => this.checkStatement(s) });
    if (!outcome.accepted) {
      this.requests.notTaken(session, id);
      if (outcome.offence) this.offence(session, `changes for vault ${short} refused: ${outcome.reason}`);
      else this.refuse(session.label, `changes for vault ${short} not taken: ${outcome.reason}`);
      return;
    }
    try {
      const evicted = await this.store.saveAccepted(id, outcome.vault, outcome.canonical, this.clock.now());
      for (const gone of evicted) {
        this.recent.delete(gone.id);
        this.requests.evictedVault(gone.id, gone.counter);
      }
    } catch (error) {
      // This node's own failure (a full disk): the peer is not charged for it.
      this.refuse('storage', `could not save vault ${short} from ${session.label}: ${describe(error)}`);
      return;
    }
    // A whole document costs all the operations it loads; changes, only those they add.
    this.policy.charge(peer, 'ops', message.snapshot ? outcome.vault.ops : Math.max(1, outcome.vault.ops - (current?.ops ?? 0)));
    if (!current) {
      this.policy.charge(peer, 'vaultBytes', outcome.canonical.length);
      this.introducedBy.set(id, peer);
      for (const old of this.introducedBy.keys()) {
        if (this.introducedBy.size <= 4 * this.store.budget.maxOtherVaults) break;
        this.introducedBy.delete(old);
      }
    }
    // Carrying others' vaults faithfully earns a peer its standing; delivering its own minted ones does not.
    if (current && this.introducedBy.get(id) !== peer) this.policy.delivered(peer);
    this.requests.taken(id);
    this.rememberVersion(id, outcome.vault.signedHeads.heads);
    this.broadcast([outcome.vault.signedHeads], session);
    this.changed();
    this.requests.request(id);
  }

  /** Tells every proven session (but `except`) about new signed heads. */
  private broadcast(statements: SignedHeads[], except?: SyncSession): void {
    for (const session of this.sessions) {
      if (session === except || !session.remote) continue;
      session.announce(statements);
    }
  }
}
