import * as A from '@automerge/automerge';
import { systemClock, type Clock } from '../clock';
import { generateKeyPair, keyPairFromSecret, type KeyPair } from '../crypto/ed25519';
import { proveSignalingJoin } from '../mesh/signalingJoin';
import type { Link } from '../link/link';
import { StorageError, type StorageAdapter, type StorageWrite } from '../storage/storage';
import { productFromRow, syncOffer, validateOffer, validateProduct, validateShopProfile, type ProductInput } from '../catalog/catalog';
import { InputError } from '../inputError';
import type { CatalogRow } from '../catalog/catalogCsv';
import { MAX_CHANGES_PER_FRAME, type SyncMessage } from '../sync/syncMessages';
import { SyncSession, type SyncHost } from '../sync/syncSession';
import { DocumentLog } from '../vault/documentLog';
import { createShopKeys, decodeShopKeys, encodeShopKeys, type ShopKeys } from '../vault/shopKeys';
import {
  checkSignedHeads,
  decodeSignedHeads,
  encodeSignedHeads,
  sameHeads,
  signHeads,
  type SignedHeads,
} from '../vault/signedHeads';
import type { PrivateVaultDoc, Product, SharedOffer, SharedVaultDoc } from '../vault/vaultDocuments';
import { fromHex, toHex } from '../wire/hex';
import {
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_NETWORK,
  type MarketplaceView,
  type MarketOffer,
  type NodeSettings,
  type NodeView,
  type PeerView,
} from './nodeView';

/** Offences a peer may commit before its links are closed and it is no longer accepted. */
export const OFFENCES_BEFORE_BLOCK = 3;
const MAX_REFUSALS_KEPT = 100;
const WANT_TIMEOUT_MS = 20_000;
const RETRY_EVERY_MS = 5_000;
/** Above this, a bundle of changes is sent as a snapshot instead. */
const MAX_INCREMENTAL_BYTES = 1024 * 1024;

interface Replica {
  id: string;
  doc: A.Doc<SharedVaultDoc>;
  signedHeads: SignedHeads;
  log: DocumentLog;
  asOf: number;
  snapshot?: { heads: string; bytes: Uint8Array };
}

interface OwnShop {
  keys: ShopKeys;
  id: string;
  privateDoc: A.Doc<PrivateVaultDoc>;
  privateLog: DocumentLog;
}

interface SessionState {
  /** The newest counter this peer announced, per vault. */
  advertised: Map<string, number>;
}

export interface SoukNodeOptions {
  storage: StorageAdapter;
  clock?: Clock;
  randomBytes?: (n: number) => Uint8Array;
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
const shopKeysKey = ['keys', 'shop'];
const sharedPrefix = (id: string) => ['vault', id, 'shared'];
const headsKey = (id: string) => ['vault', id, 'heads'];
/** When this node took the vault's current version: 8 bytes, milliseconds, big-endian. */
const asOfKey = (id: string) => ['vault', id, 'asOf'];
const privatePrefix = (id: string) => ['private', id];

function asOfWrite(id: string, time: number): StorageWrite {
  const data = new Uint8Array(8);
  new DataView(data.buffer).setBigUint64(0, BigInt(Math.max(0, Math.floor(time))));
  return { op: 'put', key: asOfKey(id), data };
}

function defaultRandomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * A full Souk node: the shop it owns (if any), a verified replica of every vault it has heard
 * of, and sync sessions over whatever links it is given. Platform-free: storage, links and
 * time come in through ports. All changes to replicas go through one queue, so what a peer is
 * sent is always exactly what signed heads cover.
 */
export class SoukNode implements SyncHost {
  readonly clock: Clock;
  readonly nodeId: Uint8Array;
  private readonly nodeKey: KeyPair;
  settings: NodeSettings;
  private readonly storage: StorageAdapter;
  private readonly randomBytes: (n: number) => Uint8Array;
  private shop: OwnShop | undefined;
  private readonly replicas = new Map<string, Replica>();
  private readonly sessions = new Map<SyncSession, SessionState>();
  private readonly wanted = new Map<string, { session: SyncSession; at: number }>();
  private readonly refusals: { at: number; peer: string; reason: string }[] = [];
  private readonly offences = new Map<string, number>();
  private readonly blocked = new Set<string>();
  private readonly listeners = new Set<() => void>();
  private readonly verified = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();
  private cancelRetry: (() => void) | undefined;
  private changedAt: number;
  private closedTraffic = { bytesIn: 0, bytesOut: 0 };
  private closed = false;

  private constructor(options: SoukNodeOptions, nodeKey: KeyPair, settings: NodeSettings) {
    this.storage = options.storage;
    this.clock = options.clock ?? systemClock;
    this.randomBytes = options.randomBytes ?? defaultRandomBytes;
    this.nodeKey = nodeKey;
    this.nodeId = nodeKey.publicKey;
    this.settings = settings;
    this.changedAt = this.clock.now();
  }

  /** Opens the node kept in `storage`, creating its identity on first use. */
  static async open(options: SoukNodeOptions): Promise<SoukNode> {
    const { storage } = options;
    const storedKey = await storage.load(nodeKeyKey);
    let nodeKey: KeyPair;
    if (storedKey?.length === 32) nodeKey = keyPairFromSecret(storedKey);
    else {
      nodeKey = generateKeyPair();
      await storage.write([{ op: 'put', key: nodeKeyKey, data: nodeKey.secretKey }]);
    }
    const storedSettings = await storage.load(settingsKey);
    const settings: NodeSettings = {
      networkName: DEFAULT_NETWORK,
      maxConnections: DEFAULT_MAX_CONNECTIONS,
      ...(storedSettings ? (JSON.parse(new TextDecoder().decode(storedSettings)) as Partial<NodeSettings>) : {}),
    };
    const node = new SoukNode(options, nodeKey, settings);
    await node.loadFromStorage();
    node.scheduleRetry();
    return node;
  }

  // ---------------------------------------------------------------- storage

  private async loadFromStorage(): Promise<void> {
    const keyBytes = await this.storage.load(shopKeysKey);
    const keys = keyBytes ? decodeShopKeys(keyBytes) : undefined;
    const headEntries = await this.storage.loadRange(['vault']);
    for (const { key, data } of headEntries) {
      if (key.length !== 3 || key[2] !== 'heads') continue;
      await this.loadReplica(key[1]!, data);
    }
    if (keys) {
      const id = toHex(keys.root.publicKey);
      const privateLog = new DocumentLog(privatePrefix(id));
      const privateDoc = await privateLog.load<PrivateVaultDoc>(this.storage);
      if (!privateDoc || !this.replicas.has(id)) throw new Error('stored shop is incomplete: keys without its vault');
      this.shop = { keys, id, privateDoc, privateLog };
    }
  }

  private async loadReplica(id: string, headsBytes: Uint8Array): Promise<void> {
    const signedHeads = decodeSignedHeads(headsBytes);
    const log = new DocumentLog(sharedPrefix(id));
    const doc = await log.load<SharedVaultDoc>(this.storage);
    if (!doc) return;
    if (!sameHeads(A.getHeads(doc), signedHeads.heads)) {
      this.refuse('storage', `stored vault ${id.slice(0, 8)} does not match its signed heads; ignored`);
      return;
    }
    const asOf = await this.storage.load(asOfKey(id));
    this.replicas.set(id, {
      id,
      doc,
      signedHeads,
      log,
      asOf: asOf?.length === 8 ? Number(new DataView(asOf.buffer, asOf.byteOffset).getBigUint64(0)) : signedHeads.certificate.issuedAt,
    });
  }

  private async reloadReplica(id: string): Promise<void> {
    this.replicas.delete(id);
    const headsBytes = await this.storage.load(headsKey(id));
    if (headsBytes) await this.loadReplica(id, headsBytes);
    if (this.shop?.id === id) {
      const privateLog = new DocumentLog(privatePrefix(id));
      const privateDoc = await privateLog.load<PrivateVaultDoc>(this.storage);
      if (privateDoc) this.shop = { ...this.shop, privateDoc, privateLog };
    }
  }

  private async write(batch: StorageWrite[], rollbackVault: string): Promise<void> {
    try {
      await this.storage.write(batch);
    } catch (error) {
      await this.reloadReplica(rollbackVault).catch(() => {});
      // Adapters say what went wrong (a full disk among others); anything else is a plain failure.
      throw error instanceof StorageError ? error : new StorageError('failed', `The change was not saved: ${describe(error)}`);
    }
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => {});
    return run;
  }

  // ---------------------------------------------------------------- the shop

  get hasShop(): boolean {
    return this.shop !== undefined;
  }

  createShop(input: ShopInput): Promise<string> {
    return this.serial(async () => {
      if (this.shop) throw new InputError('shop', 'This node already has a shop');
      const { name, area, currency } = validateShopProfile(input);
      const now = this.clock.now();
      const keys = createShopKeys(now);
      const id = toHex(keys.root.publicKey);
      const actor = toHex(keys.device.publicKey).slice(0, 32);
      const doc = A.from<SharedVaultDoc>(
        { schema: 1, profile: { name, area, currency }, devices: { [toHex(keys.device.publicKey)]: { issuedAt: now } }, offers: {} },
        { actor },
      );
      const privateDoc = A.from<PrivateVaultDoc>({ schema: 1, exactLocation: (input.exactLocation ?? '').trim(), products: {} }, { actor });
      const signedHeads = signHeads(keys.device, keys.certificate, 1, A.getHeads(doc));
      const log = new DocumentLog(sharedPrefix(id));
      const privateLog = new DocumentLog(privatePrefix(id));
      await this.storage.write([
        { op: 'put', key: shopKeysKey, data: encodeShopKeys(keys) },
        ...log.snapshotWrites(A.save(doc), doc),
        ...privateLog.snapshotWrites(A.save(privateDoc), privateDoc),
        { op: 'put', key: headsKey(id), data: encodeSignedHeads(signedHeads) },
        asOfWrite(id, now),
      ]);
      this.shop = { keys, id, privateDoc, privateLog };
      this.replicas.set(id, { id, doc, signedHeads, log, asOf: now });
      for (const session of this.sessions.keys()) if (session.remote) session.sayHello();
      this.broadcast([signedHeads]);
      this.changed();
      return id;
    });
  }

  /**
   * Applies a catalog edit to the private document, brings the shared offers of the touched
   * products in line, signs the new heads and saves all of it in one atomic write. Resolves only
   * once the edit is durable; on a storage failure nothing changes and the error says why.
   */
  private editShop<T>(
    edit: (draft: PrivateVaultDoc) => { result: T; touched: string[] },
    shareEdit?: (draft: SharedVaultDoc) => void,
  ): Promise<T> {
    return this.serial(async () => {
      const shop = this.shop;
      if (!shop) throw new InputError('shop', 'Create your shop first');
      const replica = this.replicas.get(shop.id)!;
      const now = this.clock.now();
      let outcome: { result: T; touched: string[] } | undefined;
      const privateDoc = A.change(shop.privateDoc, { time: Math.floor(now / 1000) }, (draft) => {
        outcome = edit(draft);
      });
      const { result, touched } = outcome!;
      let doc: A.Doc<SharedVaultDoc>;
      let batch: StorageWrite[];
      let signedHeads = replica.signedHeads;
      try {
        doc = A.change(replica.doc, { time: Math.floor(now / 1000) }, (draft) => {
          shareEdit?.(draft);
          for (const productId of touched) syncOffer(draft, privateDoc, productId, now);
        });
        batch = shop.privateLog.writesFor(privateDoc);
        const heads = A.getHeads(doc);
        if (!sameHeads(heads, signedHeads.heads)) {
          signedHeads = signHeads(shop.keys.device, shop.keys.certificate, signedHeads.counter + 1, heads);
          batch.push(
            ...replica.log.writesFor(doc),
            { op: 'put', key: headsKey(shop.id), data: encodeSignedHeads(signedHeads) },
            asOfWrite(shop.id, now),
          );
        }
      } catch (error) {
        // The private document already moved (Automerge documents share their backend), so the
        // in-memory shop is no longer what storage holds: go back to what storage holds.
        await this.reloadReplica(shop.id);
        throw error;
      }
      if (batch.length) await this.write(batch, shop.id);
      shop.privateDoc = privateDoc;
      if (signedHeads !== replica.signedHeads) {
        replica.doc = doc;
        replica.signedHeads = signedHeads;
        replica.asOf = now;
        replica.snapshot = undefined;
        this.broadcast([signedHeads]);
      }
      this.changed();
      return result;
    });
  }

  private newId(): string {
    return toHex(this.randomBytes(8));
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
    return this.editShop(
      (draft) => {
        if (input.exactLocation !== undefined) draft.exactLocation = input.exactLocation.trim();
        return { result: undefined, touched: Object.keys(draft.products) };
      },
      (draft) => {
        if (draft.profile.name !== name) draft.profile.name = name;
        if (draft.profile.area !== area) draft.profile.area = area;
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
    await this.storage.write([{ op: 'put', key: settingsKey, data: new TextEncoder().encode(JSON.stringify(next)) }]);
    this.settings = next;
    this.changed();
    return next;
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

  view(): NodeView {
    const shopReplica = this.shop ? this.replicas.get(this.shop.id) : undefined;
    const peers: PeerView[] = [];
    let bytesIn = this.closedTraffic.bytesIn;
    let bytesOut = this.closedTraffic.bytesOut;
    for (const session of this.sessions.keys()) {
      bytesIn += session.bytesIn;
      bytesOut += session.bytesOut;
      if (!session.remote) continue;
      // The name in the peer's own vault follows renames; its hello is the fallback.
      const vault = session.remote.shopVaultId ? this.replicas.get(session.remote.shopVaultId) : undefined;
      peers.push({
        nodeId: session.remote.nodeId,
        name: vault?.doc.profile?.name ?? session.remote.name,
        shopVaultId: session.remote.shopVaultId ?? null,
        linkLabel: session.link.label,
        connectedAt: session.openedAt,
        lastHeardAt: session.lastHeardAt,
        bytesIn: session.bytesIn,
        bytesOut: session.bytesOut,
      });
    }
    return {
      nodeId: toHex(this.nodeId),
      shop:
        this.shop && shopReplica
          ? {
              vaultId: this.shop.id,
              name: shopReplica.doc.profile.name,
              area: shopReplica.doc.profile.area,
              currency: shopReplica.doc.profile.currency,
              exactLocation: this.shop.privateDoc.exactLocation,
            }
          : null,
      settings: { ...this.settings },
      peers,
      vaults: [...this.replicas.values()].map((r) => ({
        vaultId: r.id,
        name: r.doc.profile?.name ?? '',
        area: r.doc.profile?.area ?? '',
        own: r.id === this.shop?.id,
        counter: r.signedHeads.counter,
        offers: Object.keys(r.doc.offers ?? {}).length,
        asOf: r.asOf,
      })),
      refusals: [...this.refusals],
      blockedPeers: [...this.blocked],
      traffic: { bytesIn, bytesOut },
      changedAt: this.changedAt,
    };
  }

  /** Everyone's offers, newest state, filtered by a search over name, SKU, seller and area. */
  marketplace(query = '', limit = 200): MarketplaceView {
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    const matches: { offer: SharedOffer; replica: Replica }[] = [];
    for (const replica of this.replicas.values()) {
      const profile = replica.doc.profile;
      if (!profile) continue;
      for (const offer of Object.values(replica.doc.offers ?? {})) {
        const haystack = `${offer.name} ${offer.sku} ${profile.name} ${offer.area}`.toLowerCase();
        if (words.every((w) => haystack.includes(w))) matches.push({ offer, replica });
      }
    }
    matches.sort((a, b) => a.offer.name.localeCompare(b.offer.name) || a.replica.doc.profile.name.localeCompare(b.replica.doc.profile.name));
    const offers: MarketOffer[] = matches.slice(0, limit).map(({ offer, replica }) => ({
      ...offer,
      vaultId: replica.id,
      seller: replica.doc.profile.name,
      currency: replica.doc.profile.currency,
      own: replica.id === this.shop?.id,
    }));
    return { offers, total: matches.length };
  }

  /** The signed heads this node holds for a vault, as sent on the wire. */
  signedHeadsOf(vaultId: string): SignedHeads | undefined {
    return this.replicas.get(vaultId)?.signedHeads;
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

  /** Starts syncing over a link. The session ends when the link closes. */
  addLink(link: Link): SyncSession {
    if (this.closed) {
      link.close('node is shutting down');
      throw new Error('node is closed');
    }
    const session = new SyncSession(link, this);
    this.sessions.set(session, { advertised: new Map() });
    session.start();
    return session;
  }

  /** Says goodbye on every link and closes it (leaving a network, a new leader tab taking over). */
  async leaveAll(reason: string): Promise<void> {
    await Promise.all([...this.sessions.keys()].map((session) => session.leave(reason)));
  }

  close(): void {
    this.closed = true;
    this.cancelRetry?.();
    for (const session of [...this.sessions.keys()]) session.close('node closed');
  }

  /** Signs the signaling server's challenge: proves this node holds the key its peer id names. */
  proveSignalingJoin(challenge: Uint8Array, room: string): Uint8Array {
    return proveSignalingJoin(this.nodeKey, challenge, room);
  }

  hello(): { nodeId: Uint8Array; name: string; shopVaultId?: Uint8Array } {
    const replica = this.shop && this.replicas.get(this.shop.id);
    return {
      nodeId: this.nodeId,
      name: replica?.doc.profile.name ?? '',
      ...(this.shop ? { shopVaultId: this.shop.keys.root.publicKey } : {}),
    };
  }

  allSignedHeads(): SignedHeads[] {
    return [...this.replicas.values()].map((r) => r.signedHeads);
  }

  sessionReady(session: SyncSession): void {
    const remote = session.remote!;
    if (this.blocked.has(remote.nodeId)) {
      session.close('this peer is blocked after repeated refusals');
      return;
    }
    if (remote.nodeId === toHex(this.nodeId)) {
      session.close('connected to itself');
      return;
    }
    this.changed();
  }

  sessionClosed(session: SyncSession): void {
    this.closedTraffic.bytesIn += session.bytesIn;
    this.closedTraffic.bytesOut += session.bytesOut;
    this.sessions.delete(session);
    for (const [vault, want] of this.wanted) {
      if (want.session === session) {
        this.wanted.delete(vault);
        this.requestMissing(vault);
      }
    }
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
    if (!who) return; // Before its hello a peer has no name to count against; the session closes itself.
    const count = (this.offences.get(who) ?? 0) + 1;
    this.offences.set(who, count);
    if (count >= OFFENCES_BEFORE_BLOCK) {
      this.blocked.add(who);
      for (const other of this.sessions.keys()) if (other.remote?.nodeId === who) other.close(`blocked after ${count} refusals`);
    }
  }

  peerRefused(session: SyncSession, reason: string): void {
    this.refuse(`${session.label} (their refusal)`, reason);
  }

  private checkStatement(statement: SignedHeads): string | undefined {
    // Keyed by the whole statement: a verified signature must not vouch for altered fields.
    const key = toHex(encodeSignedHeads(statement));
    if (this.verified.has(key)) return undefined;
    const problem = checkSignedHeads(statement);
    if (problem) return problem;
    if (this.verified.size > 10_000) this.verified.clear();
    this.verified.add(key);
    return undefined;
  }

  receiveHeads(session: SyncSession, statement: SignedHeads): void {
    const problem = this.checkStatement(statement);
    const id = toHex(statement.vaultId);
    if (problem) {
      this.offence(session, `heads for vault ${id.slice(0, 8)} refused: ${problem}`);
      return;
    }
    const state = this.sessions.get(session);
    if (!state) return;
    state.advertised.set(id, Math.max(state.advertised.get(id) ?? 0, statement.counter));
    const local = this.replicas.get(id);
    if (local && statement.counter < local.signedHeads.counter) {
      session.announce([local.signedHeads]); // the peer is behind
      return;
    }
    if (local && statement.counter === local.signedHeads.counter) {
      if (!sameHeads(statement.heads, local.signedHeads.heads)) {
        this.refuse(session.label, `vault ${id.slice(0, 8)} has two different signed heads for counter ${statement.counter}; kept the first`);
      }
      return;
    }
    this.requestMissing(id);
  }

  /** Asks one peer that announced a newer version of `vault` for it, unless a request is under way. */
  private requestMissing(vault: string): void {
    if (this.shop?.id === vault) return;
    const localCounter = this.replicas.get(vault)?.signedHeads.counter ?? 0;
    const pending = this.wanted.get(vault);
    const now = this.clock.now();
    if (pending && pending.session.closedReason === undefined && now - pending.at < WANT_TIMEOUT_MS) return;
    for (const [session, state] of this.sessions) {
      const counter = state.advertised.get(vault) ?? 0;
      if (counter <= localCounter || session.closedReason !== undefined || session === pending?.session) continue;
      this.wanted.set(vault, { session, at: now });
      void session.send({ type: 'want', vaultId: fromHex(vault), have: this.replicas.get(vault)?.signedHeads.heads ?? [] });
      return;
    }
    if (pending) this.wanted.delete(vault);
  }

  private scheduleRetry(): void {
    this.cancelRetry = this.clock.setTimer(() => {
      if (this.closed) return;
      const vaults = new Set<string>();
      for (const state of this.sessions.values()) for (const vault of state.advertised.keys()) vaults.add(vault);
      for (const vault of vaults) this.requestMissing(vault);
      this.scheduleRetry();
    }, RETRY_EVERY_MS);
  }

  receiveWant(session: SyncSession, vaultId: Uint8Array, have: string[]): void {
    void this.serial(async () => {
      const replica = this.replicas.get(toHex(vaultId));
      if (!replica) {
        void session.send({ type: 'refusal', reason: `no vault ${toHex(vaultId).slice(0, 8)} here` });
        return;
      }
      await session.send(this.bundleFor(replica, have));
    });
  }

  private bundleFor(replica: Replica, have: string[]): Extract<SyncMessage, { type: 'changes' }> {
    const { doc, signedHeads } = replica;
    if (have.length > 0 && A.hasHeads(doc, have)) {
      const changes = A.getChangesSince(doc, have);
      const bytes = changes.reduce((sum, c) => sum + c.length, 0);
      if (changes.length <= MAX_CHANGES_PER_FRAME && bytes <= MAX_INCREMENTAL_BYTES) {
        return { type: 'changes', signedHeads, snapshot: false, changes };
      }
    }
    const headsKeyText = signedHeads.heads.join(',');
    if (replica.snapshot?.heads !== headsKeyText) replica.snapshot = { heads: headsKeyText, bytes: A.save(doc) };
    return { type: 'changes', signedHeads, snapshot: true, changes: [replica.snapshot.bytes] };
  }

  receiveChanges(session: SyncSession, message: Extract<SyncMessage, { type: 'changes' }>): Promise<void> {
    return this.serial(async () => {
      const { signedHeads } = message;
      const id = toHex(signedHeads.vaultId);
      const short = id.slice(0, 8);
      const problem = this.checkStatement(signedHeads);
      if (problem) return this.offence(session, `changes for vault ${short} refused: ${problem}`);
      if (id === this.shop?.id) return; // Only this node writes its own vault.
      const local = this.replicas.get(id);
      const want = this.wanted.get(id);
      if (want?.session === session) this.wanted.delete(id);
      if (local && signedHeads.counter <= local.signedHeads.counter) {
        if (signedHeads.counter === local.signedHeads.counter && sameHeads(signedHeads.heads, local.signedHeads.heads)) return;
        return this.offence(session, `changes for vault ${short} refused: replayed older heads (counter ${signedHeads.counter}, have ${local.signedHeads.counter})`);
      }
      let doc: A.Doc<SharedVaultDoc>;
      let batch: StorageWrite[];
      const log = local?.log ?? new DocumentLog(sharedPrefix(id));
      try {
        if (message.snapshot) {
          if (message.changes.length !== 1) throw new Error('a snapshot bundle carries exactly one document');
          doc = A.load<SharedVaultDoc>(message.changes[0]!);
          if (!sameHeads(A.getHeads(doc), signedHeads.heads)) throw new Error('snapshot is not what the signed heads cover');
          batch = log.snapshotWrites(message.changes[0]!, doc);
        } else {
          if (!local) throw new Error('changes for a vault this node does not have yet');
          const resulting = this.headsAfter(local.doc, message.changes);
          if (!sameHeads(resulting, signedHeads.heads)) throw new Error('changes are not exactly what the signed heads cover');
          [doc] = A.applyChanges(local.doc, message.changes);
          if (!sameHeads(A.getHeads(doc), signedHeads.heads)) {
            await this.reloadReplica(id);
            throw new Error('applied changes did not reach the signed heads');
          }
          batch = log.writesFor(doc);
        }
        if (!doc.profile || typeof doc.offers !== 'object') throw new Error('document is not a Souk vault');
      } catch (error) {
        this.requestMissingLater(id, session);
        return this.offence(session, `changes for vault ${short} refused: ${describe(error)}`);
      }
      const now = this.clock.now();
      batch.push({ op: 'put', key: headsKey(id), data: encodeSignedHeads(signedHeads) }, asOfWrite(id, now));
      try {
        await this.write(batch, id);
      } catch (error) {
        this.refuse('storage', `could not save vault ${short} from ${session.label}: ${describe(error)}`);
        return;
      }
      this.replicas.set(id, { id, doc, signedHeads, log, asOf: now });
      this.broadcast([signedHeads], session);
      this.changed();
      this.requestMissing(id);
    });
  }

  private requestMissingLater(vault: string, failed: SyncSession): void {
    const state = this.sessions.get(failed);
    state?.advertised.delete(vault);
    queueMicrotask(() => this.requestMissing(vault));
  }

  /** The heads a document would have after `changes`, or an error if they depend on what is missing. */
  private headsAfter(doc: A.Doc<SharedVaultDoc>, changes: Uint8Array[]): string[] {
    const decoded = changes.map((change) => A.decodeChange(change));
    const incoming = new Set(decoded.map((c) => c.hash!));
    const known = (hash: string) => A.hasHeads(doc, [hash]);
    const heads = new Set(A.getHeads(doc));
    for (const change of decoded) {
      if (known(change.hash!)) continue;
      for (const dep of change.deps) {
        if (!incoming.has(dep) && !known(dep)) throw new Error(`change ${change.hash!.slice(0, 8)} depends on missing ${dep.slice(0, 8)}`);
      }
      heads.add(change.hash!);
    }
    for (const change of decoded) if (!known(change.hash!)) for (const dep of change.deps) heads.delete(dep);
    return [...heads];
  }

  /** Tells every ready session (but `except`) about new signed heads. */
  private broadcast(statements: SignedHeads[], except?: SyncSession): void {
    for (const session of this.sessions.keys()) {
      if (session === except || !session.remote) continue;
      session.announce(statements);
    }
  }
}
