import * as A from '@automerge/automerge';
import { systemClock, type Clock } from '../clock';
import { generateKeyPair, keyPairFromSecret, type KeyPair } from '../crypto/ed25519';
import type { Link } from '../link/link';
import { proveSignalingJoin } from '../mesh/signalingJoin';
import { PeerPolicy } from '../mesh/peerPolicy';
import { StorageError, type StorageAdapter, type StorageWrite } from '../storage/storage';
import {
  productFromRow,
  rescaleMinorUnits,
  validateExactLocation,
  validateOffer,
  validateProduct,
  validateShopProfile,
  type ProductInput,
} from '../catalog/catalog';
import { InputError } from '../inputError';
import { catalogToCsv, readCatalogCsv, type CatalogRow } from '../catalog/catalogCsv';
import { planCatalogImport, type CatalogImportPlan } from '../catalog/catalogImport';
import { proveLink } from '../sync/linkProof';
import { MAX_CHANGES_PER_FRAME, RefusalCode, type SyncMessage } from '../sync/syncMessages';
import { SyncSession, type SyncHost } from '../sync/syncSession';
import { acceptBundle, type AcceptanceOptions, type VerifiedVault } from '../vault/acceptBundle';
import { VAULT_LIMITS } from '../vault/automergeCost';
import { encodeDeviceCertificate, type DeviceCertificate } from '../vault/deviceCertificate';
import { checkSignedHeads, encodeSignedHeads, sameHeads, signedHeadsStatement, signHeads, type SignedHeads } from '../vault/signedHeads';
import { createSignatureVerifier, type SignatureVerifier } from '../crypto/signatureVerifier';
import type { Batch, PrivateVaultDoc, Product } from '../vault/vaultDocuments';
import { deviceOf, mergeStatements, statementOf, versionNumber, versionWith } from '../vault/vaultVersion';
import type { VaultContent } from '../vault/vaultShape';
import { warmUpAcceptance } from './acceptanceWarmUp';
import { DEFAULT_TRADE_RULES, TradeDesk, type ReservationView, type TradeRules } from './tradeDesk';
import { DeliveryDesk, type DeliveryBoard, type DeliveryView, type ProposedDriverView } from './deliveryDesk';
import type { EventRef } from '../trade/tradeEvent';
import { deviceActor, OwnShop, shopKeysKey, type CatalogDraft, type ShopEdit } from './ownShop';
import { decodeShopKeys } from '../vault/shopKeys';
import { encodeShopBackup, grantFor, shopFromBackup, shopFromGrant } from './shopDevices';
import { certifyDevice, deviceCertificateStatement, encodeDeviceCertificate as encodeCertificate } from '../vault/deviceCertificate';
import { checkDeviceRevocation, decodeDeviceRevocation, encodeDeviceRevocation, revokedStatementStands, revokeDevice } from '../vault/deviceRevocation';
import { isPairingCode, newPairingCode, pairingQrText, parsePairingCode, type PairingCode } from '../pairing/pairingCode';
import { openPairGrant, pairingRoom, pairRequestProof, sameProof, sealPairGrant } from '../pairing/devicePairing';
import { open as openSealed, seal } from '../crypto/sealedBox';
import { readCheckedProducts } from '../catalog/productRecords';
import { MAX_QUANTITY, PRIVATE_CATALOG_LIMITS } from '../vault/vaultLimits';
import { openBackup, sealBackup } from '../backup/backupFile';
import { concatBytes, fromHex, toHex } from '../wire/hex';
import { PriorityWork } from './priorityWork';
import { loadBlake3, type Blake3 } from '../packages/blake3';
import type { ChunkStore } from '../packages/chunkStore';
import { MemoryChunkStore } from '../packages/memoryChunkStore';
import { indexAttachments, PackageService, type VaultAttachments } from '../packages/packageService';
import { decodeAttachment, encodeAttachment, type AttachmentRecord } from '../packages/attachmentRecord';
import type { PackageMessage } from '../sync/syncSession';
import { MAX_REQUESTS, VaultRequests } from './vaultRequests';
import { lookAlikes, shopFingerprint } from './shopIdentity';
import { DEFAULT_VAULT_BUDGET, VaultStore, type VaultBudget, type VaultRecord, type VaultStanding } from './vaultStore';
import { NodeRadioSource } from './radioSource';
import { exportTrail, indexTrail, shopTrail, trailEntryView, verifyTrailExport, type TrailEntryView, type TrailSource, type TrailVault, type TrailVerdict } from '../trade/auditTrail';
import { encodeTradeEvent, putTradeEvent, vaultPrefix, type NewTradeEvent } from '../trade/tradeEvent';
import { isExpired, msToNextUtcDay, roundQuantity, sellableStock, takeFefo, utcDay } from '../catalog/fefo';
import { MOVE_NOTE_BYTES, SUPPLIER_BYTES, undoMoveId } from '../catalog/stockMoves';
import { quantity as checkedQuantity, roundToDay } from '../catalog/catalog';
import { WireError } from '../wire/wireError';
import { MAX_MINOR_UNITS, utf8Length } from '../vault/vaultLimits';
import {
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_NETWORK,
  MAX_TRUSTED_SHOPS,
  type MarketplaceView,
  type MarketOffer,
  type NodeSettings,
  type NodeView,
  type DeviceView,
  type PeerView,
  type DaySalesView,
  type ExpiryAlert,
  type MoveView,
  type ProductStockView,
  DEFAULT_EXPIRY_ALERT_DAYS,
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
  /** Where package chunks live (default: in memory). */
  chunkStore?: ChunkStore;
}

export interface CatalogImportPreview {
  added: number;
  changed: number;
  unchanged: number;
  /** The first changed products, with the fields that change. */
  changedFields: { line: number; name: string; fields: string[] }[];
  problems: string[];
  warnings: string[];
}

export interface ShopInput {
  name: string;
  area: string;
  currency?: string;
  exactLocation?: string;
  /** What the participant does (one identity model, the role in the profile); absent: unchanged on an update, a shop on creation. */
  role?: ParticipantRole;
}

export type ParticipantRole = 'shop' | 'supplier' | 'driver';

/** A role the merchant chose, or an InputError. */
function validateRole(role: unknown): ParticipantRole {
  if (role !== 'shop' && role !== 'supplier' && role !== 'driver') throw new InputError('Role', 'Role must be shop, supplier or driver');
  return role;
}

const settingsKey = ['node', 'settings'];
/** The node's Ed25519 secret key: its public key is the node id, proven on every link. */
const nodeKeyKey = ['node', 'key'];

/** A move's note, trimmed and within its limit. */
function moveNote(note: string | undefined): string | undefined {
  const text = (note ?? '').trim();
  if (utf8Length(text) > MOVE_NOTE_BYTES) throw new InputError('Note', `Note is too long: the limit is ${MOVE_NOTE_BYTES} bytes`);
  return text || undefined;
}

/** One day of the merchant's (YYYY-MM-DD, `offset` minutes as Date.getTimezoneOffset gives them) as times in milliseconds. */
function dayRange(day: string, offsetMinutes: number): { from: number; until: number } {
  const start = Date.parse(`${day}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || !Number.isFinite(start)) throw new InputError('Day', 'Day must be a date (YYYY-MM-DD)');
  const from = start + (Number.isFinite(offsetMinutes) ? offsetMinutes : 0) * 60_000;
  return { from, until: from + 86_400_000 };
}

function defaultRandomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Why trade rules are not acceptable, or undefined. */
function checkTradeRules(rules: TradeRules): string | undefined {
  if (typeof rules !== 'object' || rules === null) return 'Trade rules are missing';
  const { autoAcceptUpTo, holdMinutes } = rules;
  if (autoAcceptUpTo !== null && (typeof autoAcceptUpTo !== 'number' || !Number.isFinite(autoAcceptUpTo) || autoAcceptUpTo < 0 || autoAcceptUpTo > 1e9)) return 'Auto-accept must be a quantity from 0, or answered by hand';
  if (typeof holdMinutes !== 'number' || !Number.isInteger(holdMinutes) || holdMinutes < 1 || holdMinutes > 60 * 24 * 60) return 'A hold lasts from 1 minute to 60 days (in whole minutes)';
  return undefined;
}

function readSettings(bytes: Uint8Array | undefined): NodeSettings {
  const defaults: NodeSettings = { networkName: DEFAULT_NETWORK, maxConnections: DEFAULT_MAX_CONNECTIONS, trustedShops: [], expiryAlertDays: DEFAULT_EXPIRY_ALERT_DAYS };
  if (!bytes) return defaults;
  try {
    const stored = JSON.parse(new TextDecoder().decode(bytes)) as Partial<NodeSettings>;
    return {
      networkName: typeof stored.networkName === 'string' ? stored.networkName : defaults.networkName,
      maxConnections: typeof stored.maxConnections === 'number' ? stored.maxConnections : defaults.maxConnections,
      trustedShops: Array.isArray(stored.trustedShops) ? stored.trustedShops.filter((id) => /^[0-9a-f]{64}$/.test(id)).slice(0, MAX_TRUSTED_SHOPS) : [],
      ...(stored.trade && checkTradeRules(stored.trade) === undefined ? { trade: stored.trade } : {}),
      expiryAlertDays: Number.isInteger(stored.expiryAlertDays) && stored.expiryAlertDays! >= 0 && stored.expiryAlertDays! <= 365 ? stored.expiryAlertDays! : defaults.expiryAlertDays,
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
/** The heads a set of statements names, for a vault whose document is not in memory. */
function unionHeads(statements: readonly SignedHeads[]): string[] {
  return [...new Set(statements.flatMap((s) => s.heads))].sort();
}

const collator = new Intl.Collator();

/** Attempts with a wrong code before a pairing code is dead. */
const PAIRING_ATTEMPTS = 64;
/** A private-catalog sync message larger than this is refused (it would hold the edit queue). */
const MAX_PRIVATE_MESSAGE_BYTES = 4 * 1024 * 1024;
/** After PAIRING_ATTEMPTS wrong codes, pairing pauses this long instead of ending. */
const PAIRING_PAUSE_MS = 60_000;
/** Wrong codes one peer may try while a device is being added. */
const PAIRING_ATTEMPTS_PER_PEER = 5;
export const PAIRING_VALID_MS = 5 * 60_000;
const PRIVATE_TAG = new TextEncoder().encode('souk/private/v1\0');
const backupKey = ['shop', 'lastBackupAt'];

type PairingState =
  | { role: 'adding'; code: PairingCode; expiresAt: number; attemptsLeft: number; pausedUntil?: number; state: 'waiting' | 'done' | 'failed'; message: string }
  | {
      role: 'joining';
      code: PairingCode;
      deviceName: string;
      expiresAt: number;
      asked: WeakSet<SyncSession>;
      state: 'waiting' | 'done' | 'failed';
      message: string;
      settle: (error?: Error) => void;
    };

/** Where a vault version came from: a proven peer's session, or the radio (a claimed, unproven sender). */
interface ChangesOrigin {
  label: string;
  /** The budget key: a proven node id, or `radio:<node number>`. */
  peer: string;
  session?: SyncSession;
  /** Refusals are reported by the caller (the radio engine), not logged here. */
  quiet?: boolean;
}

type TakeOutcome = { taken: true } | { taken: false; reason: string; offence: boolean; stale?: boolean };

export class SoukNode implements SyncHost {
  readonly clock: Clock;
  readonly nodeId: Uint8Array;
  private readonly nodeKey: KeyPair;
  settings: NodeSettings;
  /** `settings.trustedShops` as a set, for the checks on every vault and statement. */
  private trustedShops: Set<string>;
  private readonly storage: StorageAdapter;
  private readonly random: (n: number) => Uint8Array;
  private ownShop: OwnShop | undefined;
  /** The shop this device belongs to; whichever object holds it leaves the trade desk's holds out of its offers. */
  private get shop(): OwnShop | undefined {
    return this.ownShop;
  }
  private set shop(shop: OwnShop | undefined) {
    if (shop) shop.heldOf = (product) => this.trade?.heldOf(product) ?? 0;
    this.ownShop = shop;
  }
  /** Reservations: requests, the seller's judgement, holds, fulfilment (tradeDesk.ts). */
  trade!: TradeDesk;
  /** Deliveries: drivers' capacity, the seller's requests and their hand-over, drivers' steps (deliveryDesk.ts). */
  deliveries!: DeliveryDesk;
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
  /** Automerge sync state of the private catalog, per link to another device of this shop. */
  private readonly privateSync = new Map<SyncSession, A.SyncState>();
  /** When each other device of this shop was last linked (in memory). */
  private readonly deviceSeen = new Map<string, number>();
  /** A device being added (on the root device) or this device joining a shop. */
  private pairing: PairingState | undefined;
  /** Files attached to products: attaching, serving, swarm downloads (packageService.ts). */
  packages!: PackageService;
  /** Each vault's attachments, indexed, with the content (or private document) they were read from. */
  private readonly attachmentIndex = new Map<string, { source: object; index: VaultAttachments }>();
  /** Attachment records decoded once, by their bytes (hex). */
  private readonly attachmentCache = new Map<string, AttachmentRecord | null>();

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
        if (!record) return undefined;
        const heads = vault === this.shop?.id ? A.getHeads(this.shop.doc) : this.store.loadedDoc(vault) ? A.getHeads(this.store.loadedDoc(vault)!) : unionHeads(record.statements);
        return { counter: versionNumber(record.statements), heads };
      },
      standingOf: (vault) => this.standingOf(vault),
      mayAsk: (vault) => !this.closed && (vault !== this.shop?.id || this.shop.statements.length > 0),
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
    let loaded: Awaited<ReturnType<typeof OwnShop.load>>;
    try {
      loaded = await OwnShop.load(storage, (id) => node.store.get(id)?.statements);
    } catch (error) {
      // The node still opens (others' vaults, the network); the stored shop is left untouched.
      node.shopProblem = `Your shop could not be opened: ${describe(error)}. Nothing was changed; restore it from a backup, or ask for help before creating a new shop.`;
      node.refuse('storage', node.shopProblem);
    }
    node.shop = loaded?.shop;
    if (loaded?.migrated) {
      // A shop stored by version 0.1: saved in the current form, with its index record, in one write.
      const shop = loaded.shop;
      const { writes, record } = node.store.ownVaultWrites(shop.id, shop, shop.cost, node.clock.now());
      await storage.write([...loaded.migrated, ...writes]);
      node.store.commitOwn(record, shop.content, shop.doc);
    } else {
      const ownRecord = node.shop && node.store.get(node.shop.id);
      if (node.shop && ownRecord) node.store.commitOwn(ownRecord, node.shop.content, node.shop.doc);
    }
    if (!node.shopProblem) await node.store.dropLegacy(node.shop?.id);
    const backedUp = Number(new TextDecoder().decode((await storage.load(backupKey)) ?? new Uint8Array()));
    node.lastBackupAt = backedUp > 0 ? backedUp : null;
    node.packages = node.packageService(options.chunkStore ?? new MemoryChunkStore(), await loadBlake3());
    node.trade = node.tradeDesk();
    node.deliveries = node.deliveryDesk();
    node.contentLoading = node.loadContentInBackground();
    node.scheduleRetry();
    node.scheduleDayTurn(true);
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
    // Views first; then, still idle, the code a first catch-up runs is compiled.
    try {
      warmUpAcceptance();
    } catch {
      // Only a warm-up: a failure here changes nothing.
    }
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
      if (this.shopProblem) throw new InputError('shop', this.shopProblem);
      const profile = validateShopProfile(input);
      const exactLocation = validateExactLocation(input.exactLocation ?? '');
      const role = validateRole(input.role ?? 'shop');
      const now = this.clock.now();
      const { shop, writes } = OwnShop.create(this.nodeKey, { ...profile, ...(role !== 'shop' ? { role } : {}) }, exactLocation, now);
      const { writes: indexWrites, record } = this.store.ownVaultWrites(shop.id, shop, shop.cost, now);
      await this.write([...writes, ...indexWrites]);
      this.shop = shop;
      this.store.commitOwn(record, shop.content, shop.doc);
      for (const session of this.sessions) session.sayHello();
      this.broadcast(shop.statements);
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
    edit: (draft: CatalogDraft) => { result: T; touched: string[] },
    shareEdit?: (draft: Parameters<NonNullable<Parameters<OwnShop['edit']>[1]>>[0]) => void,
  ): Promise<T> {
    return this.serial(() => this.editShopNow(edit, shareEdit));
  }

  /** editShop's work, for callers already in the node's queue. */
  private async editShopNow<T>(
    edit: (draft: CatalogDraft) => { result: T; touched: string[] },
    shareEdit?: (draft: Parameters<NonNullable<Parameters<OwnShop['edit']>[1]>>[0]) => void,
  ): Promise<T> {
    const shop = this.shop;
    if (!shop) throw new InputError('shop', 'Create your shop first');
    if (this.revokedAt !== null) throw new InputError('shop', 'This device was removed from the shop; its changes are no longer accepted. Use another device of the shop.');
    const now = this.clock.now();
    const before = { doc: shop.doc, content: shop.content, statement: shop.ownStatement };
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
      this.rememberVersion(shop.id, A.getHeads(proposed.doc));
      const own = shop.ownStatement;
      if (own) this.broadcast([own]);
      this.warmOwnEncoding();
      if (own && this.radio) {
        const record = this.store.get(shop.id);
        this.radio.ownEdit(A.getChanges(before.doc, proposed.doc), own, before.statement, shop.statements, record?.revocations ?? [], before.content, proposed.content);
      }
    }
    if (proposed.privateChanged) for (const session of this.sessions) if (this.isOwnDevice(session)) this.sendPrivate(session);
    this.changed();
    return proposed.result;
  }

  private cancelWarm: (() => void) | undefined;

  /**
   * Encodes the shop's vault ahead of the first peer asking for it, a moment after the last
   * edit (not after every edit of a burst): the first answer goes out without waiting for it.
   */
  private warmOwnEncoding(): void {
    this.cancelWarm?.();
    this.cancelWarm = this.clock.setTimer(() => {
      this.cancelWarm = undefined;
      const shop = this.shop;
      if (shop && !this.closed) void this.store.encoding(shop.id).catch(() => {});
    }, 300);
  }

  private async reloadShop(): Promise<void> {
    const shop = (await OwnShop.load(this.storage, (id) => this.store.get(id)?.statements))?.shop;
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

  private product(draft: CatalogDraft, id: string): Product {
    const product = draft.products.get(id);
    if (!product) throw new InputError('product', 'That product no longer exists');
    return product;
  }

  addProduct(input: ProductInput): Promise<string> {
    return this.editShop((draft) => {
      const now = this.clock.now();
      const id = this.newId();
      draft.put({ id, ...validateProduct(input, () => this.newId()), offer: null, createdAt: now, updatedAt: now });
      return { result: id, touched: [id] };
    });
  }

  /** Adds many products in one edit (a catalog import), as one packed set. Every row is checked before anything is saved. */
  importProducts(rows: CatalogRow[], firstRowNumber = 1): Promise<number> {
    const now = this.clock.now();
    const products = rows.map((row, i) => productFromRow(row, firstRowNumber + i, () => this.newId(), now));
    return this.editShop((draft) => {
      if (products.length) draft.putMany(products, this.newId());
      return { result: products.length, touched: products.map((p) => p.id) };
    });
  }

  /** What importing a catalog file would do, worked out before anything is saved: counts, problems and warnings, each naming its line. */
  previewCatalogImport(text: string): CatalogImportPreview {
    const { plan } = this.planImport(text);
    return {
      added: plan.added.length,
      changed: plan.changed.length,
      unchanged: plan.unchanged,
      changedFields: plan.changed.slice(0, 50).map((c) => ({ line: c.line, name: c.row.name, fields: c.fields })),
      problems: plan.problems,
      warnings: plan.warnings,
    };
  }

  private planImport(text: string): { plan: CatalogImportPlan } {
    const shop = this.shop;
    if (!shop) throw new InputError('shop', 'Create your shop first');
    const read = readCatalogCsv(text, shop.content.profile.currency);
    if (read.problems.length) return { plan: { added: [], changed: [], unchanged: 0, problems: read.problems, warnings: read.warnings } };
    const plan = planCatalogImport([...shop.products.values()], read.rows, read.columns);
    // The catalog's own checks (lengths, offer within stock), by line, before anything is saved.
    const now = this.clock.now();
    for (const row of [...plan.added, ...plan.changed.map((c) => c.row)]) {
      if (plan.problems.length >= 100) break;
      try {
        productFromRow(row, row.line, () => 'check', now);
      } catch (error) {
        plan.problems.push(describe(error));
      }
    }
    return { plan: { ...plan, warnings: [...read.warnings, ...plan.warnings] } };
  }

  /**
   * Imports a catalog file in one edit: new products as one packed set, products matched by SKU
   * updated field by field (a different stock is a recount). Nothing is saved if any line has a
   * problem; the error lists them.
   */
  importCatalog(text: string): Promise<{ added: number; changed: number; unchanged: number }> {
    const { plan } = this.planImport(text);
    if (plan.problems.length) throw new InputError('file', plan.problems.slice(0, 20).join('\n'));
    const now = this.clock.now();
    const added = plan.added.map((row) => productFromRow(row, row.line, () => this.newId(), now));
    return this.editShop((draft) => {
      if (added.length) draft.putMany(added, this.newId());
      for (const change of plan.changed) {
        const product = this.product(draft, change.id);
        const fresh = productFromRow(change.row, change.line, () => this.newId(), now);
        if (fresh.stock !== product.stock) this.recordCorrection(draft, product, fresh.stock, this.newId());
        draft.put({ ...fresh, id: product.id, createdAt: product.createdAt, updatedAt: now, stock: draft.products.get(change.id)!.stock });
      }
      return { result: { added: added.length, changed: plan.changed.length, unchanged: plan.unchanged }, touched: [...added.map((p) => p.id), ...plan.changed.map((c) => c.id)] };
    });
  }

  /** The whole catalog as a CSV file that imports back to exactly the same catalog. */
  exportCatalog(): string {
    const shop = this.shop;
    if (!shop) throw new InputError('shop', 'Create your shop first');
    const products = [...shop.products.values()].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
    return catalogToCsv(products, shop.content.profile.currency);
  }

  /**
   * Replaces a product's fields. With `offer` (an offer, or null to withdraw it) the offer is set
   * in the same edit; without it an existing offer is kept (peers see at most the stock). A
   * different stock is a recount.
   */
  updateProduct(id: string, input: ProductInput, offer?: { quantity: number; price: number } | null): Promise<void> {
    let created: Product | undefined;
    return this.editShop((draft) => {
      const product = this.product(draft, id);
      const { batches, stock, ...fields } = validateProduct(input, () => this.newId());
      const withoutIds = (list: { quantity: number; expiresOn: string }[]) => JSON.stringify(list.map((b) => [b.quantity, b.expiresOn]));
      // Without batches in the input the product keeps its own (received batches are kept in the moves history).
      const keep = input.batches === undefined || withoutIds(product.batches) === withoutIds(batches);
      const next: Product = { ...product, ...fields, batches: keep ? product.batches : batches };
      if (stock !== product.stock) this.recordCorrection(draft, product, stock, this.newId());
      const counted = draft.products.get(id)!.stock;
      // Without a new offer the offer stays as it is: what is shared is never more than the stock (offerFor).
      if (offer !== undefined) next.offer = offer ? validateOffer({ ...next, stock: counted }, offer) : null;
      next.updatedAt = this.clock.now();
      draft.put({ ...next, stock: counted });
      created = !product.offer && next.offer ? { ...next, stock: counted } : undefined;
      return { result: undefined, touched: [id] };
    }, (shared) => created && this.trade.writeOfferCreated(shared, created));
  }

  /** Removes a product, and its attached files from both documents (their chunks once nothing else names them). */
  async removeProduct(id: string): Promise<void> {
    const files = this.packages.attachmentsOf(id);
    const roots = files.flatMap((f) => (f.thumbnail ? [f.root, f.thumbnail] : [f.root]));
    await this.editShop(
      (draft) => {
        this.product(draft, id);
        draft.remove(id);
        for (const file of files) draft.setFile(file.root, null);
        return { result: undefined, touched: [id] };
      },
      (shared) => {
        for (const file of files) if (shared.files && file.root in shared.files) delete shared.files[file.root];
      },
    );
    await this.packages.forgetUnused(roots);
  }

  /** Offers a product to the network (quantity ≤ stock), or withdraws the offer with `null`. */
  setOffer(id: string, offer: { quantity: number; price: number } | null): Promise<void> {
    let created: Product | undefined;
    return this.editShop(
      (draft) => {
        const product = this.product(draft, id);
        const next = { ...product, offer: offer ? validateOffer(product, offer) : null, updatedAt: this.clock.now() };
        draft.put(next);
        created = !product.offer && next.offer ? next : undefined;
        return { result: undefined, touched: [id] };
      },
      (shared) => created && this.trade.writeOfferCreated(shared, created),
    );
  }

  // ---------------------------------------------------------------- named stock moves, batches, the counter
  // (catalog/stockMoves.ts, catalog/fefo.ts): each move changes the stock and writes its history entry in one edit.

  /**
   * Adds `delta` (negative to take away) to a product's stock, counted per device so sales on two
   * devices add up. Never below zero. Kept for callers of the plain adjustment: an increase is
   * recorded as a delivery received (no batch), a decrease as waste (earliest expiry first).
   */
  adjustStock(id: string, delta: number): Promise<number> {
    if (!Number.isFinite(delta) || delta === 0) return Promise.reject(new InputError('Adjustment', 'Adjustment must be a number other than 0'));
    return this.stockMove(id, { kind: delta > 0 ? 'received' : 'waste', quantity: Math.abs(delta) }).then(() => this.shop!.products.get(id)?.stock ?? 0);
  }

  /**
   * A named stock move from the catalog: `sale` and `waste` take `quantity` away (earliest expiry
   * first; a sale never from expired batches), `received` adds it (stock no batch accounts for;
   * `receiveBatch` brings a batch), `correction` says the stock counted now is `quantity` (a
   * recount, before and after kept). Returns the move's id in the history.
   */
  async stockMove(productId: string, input: { kind: 'sale' | 'received' | 'correction' | 'waste'; quantity: number; note?: string; unitPrice?: number }): Promise<string> {
    const note = moveNote(input.note);
    if (input.kind === 'sale') return this.sellAtCounter({ productId, quantity: input.quantity, unitPrice: input.unitPrice, note });
    if (!['received', 'correction', 'waste'].includes(input.kind)) return Promise.reject(new InputError('Kind', 'Kind must be sale, received, correction or waste'));
    const quantity = checkedQuantity('Quantity', input.quantity, { aboveZero: input.kind !== 'correction' });
    return this.editShop((draft) => {
      const product = this.product(draft, productId);
      const moveId = this.newId();
      const at = this.moveTime();
      if (input.kind === 'waste') return { result: this.takeOut(draft, 'waste', product, quantity, moveId, { note }), touched: [productId] };
      if (input.kind === 'received') {
        if (product.stock + quantity > MAX_QUANTITY) throw new InputError('Quantity', `Stock cannot go above ${MAX_QUANTITY}`);
        draft.move(productId, quantity);
        draft.recordMove(moveId, { kind: 'received', product: productId, delta: quantity, takes: [], at, device: draft.device, ...(note ? { note } : {}) });
        return { result: moveId, touched: [productId] };
      }
      this.recordCorrection(draft, product, quantity, moveId, note);
      return { result: moveId, touched: [productId] };
    });
  }

  /** A sale at the counter: `quantity` at `unitPrice` (the product's price unless given), earliest expiry first. Returns the move id. */
  async sellAtCounter(input: { productId: string; quantity: number; unitPrice?: number; note?: string }): Promise<string> {
    const quantity = checkedQuantity('Quantity', input.quantity, { aboveZero: true });
    const note = moveNote(input.note);
    if (input.unitPrice !== undefined && (!Number.isSafeInteger(input.unitPrice) || input.unitPrice < 0 || input.unitPrice > MAX_MINOR_UNITS)) {
      return Promise.reject(new InputError('Price', `Price must be a whole number of cents from 0 to ${MAX_MINOR_UNITS}`));
    }
    return this.editShop((draft) => {
      const product = this.product(draft, input.productId);
      return { result: this.takeOut(draft, 'sale', product, quantity, this.newId(), { note, unitPrice: input.unitPrice ?? product.price }), touched: [product.id] };
    });
  }

  /**
   * Receives a batch: stock +quantity, the batch (expiry, supplier, received date, invoice) kept
   * with its history entry, and a signed `batch.receipt.attested` event in the shared vault —
   * product, quantity, dates, the invoice's hash and the supplier's vault if given, never the
   * supplier's name nor any cost. `invoice.file` is the root of an invoice file already attached
   * to the product (kept among the shop's own files).
   */
  async receiveBatch(
    productId: string,
    input: { quantity: number; expiresOn?: string; supplier?: string; receivedOn?: string; invoice?: { hash: string } | { file: string }; supplierVault?: string; note?: string },
  ): Promise<{ moveId: string; batchId: string; receipt: string }> {
    const shop = this.shop;
    if (!shop) return Promise.reject(new InputError('shop', 'Create your shop first'));
    let batch: Batch;
    let receiptBytes: Uint8Array;
    const now = this.clock.now();
    const receipt = this.newId();
    const note = moveNote(input.note);
    try {
      const quantity = checkedQuantity('Quantity', input.quantity, { aboveZero: true });
      const expiresOn = input.expiresOn ? roundToDay(input.expiresOn, 'Expiry') : '';
      const receivedOn = input.receivedOn ? roundToDay(input.receivedOn, 'Received') : utcDay(now);
      // The attested receipt carries days as 16 bits from 1970 (tradeEvent.ts): up to 2149-06-06.
      for (const [field, day] of [['Expiry', expiresOn], ['Received', receivedOn]] as const) {
        if (day && (day < '1970-01-02' || day > '2149-06-05')) throw new InputError(field, `${field} must be a date from 1970 to 2149`);
      }
      const supplier = (input.supplier ?? '').trim();
      if (utf8Length(supplier) > SUPPLIER_BYTES) throw new InputError('Supplier', `Supplier is too long: the limit is ${SUPPLIER_BYTES} bytes`);
      const invoice = input.invoice === undefined ? undefined : 'hash' in input.invoice ? String(input.invoice.hash ?? '').trim().toLowerCase() : input.invoice.file;
      if (invoice !== undefined && !/^[0-9a-f]{64}$/.test(invoice)) throw new InputError('Invoice', 'Invoice hash must be 64 hex digits (a BLAKE3 hash)');
      if (input.invoice && 'file' in input.invoice && !this.packages.attachmentsOf(productId).some((f) => f.root === invoice)) {
        throw new InputError('Invoice', 'The invoice file is not attached to this product');
      }
      const supplierVault = input.supplierVault ? input.supplierVault.toLowerCase().slice(0, 16) : null;
      if (supplierVault !== null && !/^[0-9a-f]{16}$/.test(supplierVault)) throw new InputError('Supplier', 'Supplier shop must be a shop id');
      batch = {
        id: this.newId(),
        quantity,
        expiresOn,
        receivedOn,
        ...(supplier ? { supplier } : {}),
        ...(invoice ? { invoice } : {}),
        ...(input.invoice && 'file' in input.invoice ? { invoiceFile: true as const } : {}),
        receipt,
      };
      receiptBytes = encodeTradeEvent({
        type: 'batchReceipt',
        time: Math.floor(now / 1000),
        device: shop.deviceKey.slice(0, 8),
        product: productId,
        quantity,
        expiresOn: expiresOn || null,
        receivedOn,
        invoice: invoice ?? null,
        supplier: supplierVault,
      });
    } catch (error) {
      return Promise.reject(error instanceof WireError ? new InputError('Batch', error.message) : error);
    }
    return this.editShop(
      (draft) => {
        const product = this.product(draft, productId);
        if (product.stock + batch.quantity > MAX_QUANTITY) throw new InputError('Quantity', `Stock cannot go above ${MAX_QUANTITY}`);
        const moveId = this.newId();
        draft.move(productId, batch.quantity);
        draft.recordMove(moveId, { kind: 'received', product: productId, delta: batch.quantity, takes: [], at: this.moveTime(), device: draft.device, batch, ...(note ? { note } : {}) });
        return { result: { moveId, batchId: batch.id, receipt }, touched: [productId] };
      },
      (shared) => {
        putTradeEvent(shared, receipt, receiptBytes);
      },
    );
  }

  /**
   * Reverses a move of the history (a sale, a delivery received, a correction, waste): stock and
   * batch takes go back, with an `undo` entry naming it. A move is undone at most once; an undo is
   * not undone (record the move again); a reservation's move follows its reservation.
   */
  undoMove(moveId: string): Promise<string> {
    return this.editShop((draft) => {
      const move = draft.moveEntry(moveId);
      if (!move) throw new InputError('move', 'That move is not in the history');
      if (move.kind === 'undo') throw new InputError('move', 'An undo cannot be undone; record the move again instead');
      if (move.kind === 'reservation') throw new InputError('move', 'A reservation’s stock move follows the reservation; it is not undone here');
      if (this.shop!.ledger.undoneBy(moveId) !== null) throw new InputError('move', 'That move was already undone');
      const product = this.product(draft, move.product);
      const delta = roundQuantity(-move.delta);
      if (product.stock + delta < 0) throw new InputError('move', `Only ${product.stock} ${product.unit} in stock; undoing this move would take away ${-delta}`);
      if (product.stock + delta > MAX_QUANTITY) throw new InputError('move', `Stock cannot go above ${MAX_QUANTITY}`);
      // Derived from the move and filed under that id in the stock counts: two devices undoing the same sale while apart put the stock back once.
      const undoId = undoMoveId(moveId);
      if (draft.hasMove(undoId) || !draft.moveOnce(product.id, undoId, delta)) throw new InputError('move', 'That move was already undone');
      draft.recordMove(undoId, {
        kind: 'undo',
        product: product.id,
        delta,
        takes: move.takes.map((t) => ({ batch: t.batch, quantity: -t.quantity })),
        at: this.moveTime(),
        device: draft.device,
        undoes: moveId,
      });
      return { result: undoId, touched: [product.id] };
    });
  }

  /**
   * The moves history, newest first: of one day (YYYY-MM-DD in the merchant's time zone,
   * `utcOffsetMinutes` as Date.getTimezoneOffset gives it), of one product, at most `limit`.
   */
  stockHistory(filter: { day?: string; productId?: string; limit?: number; utcOffsetMinutes?: number } = {}): MoveView[] {
    const shop = this.shop;
    if (!shop) return [];
    const range = filter.day ? dayRange(filter.day, filter.utcOffsetMinutes ?? 0) : {};
    const ownDevice = shop.deviceKey.slice(0, 16);
    return shop.ledger.list({ ...range, productId: filter.productId, limit: Number.isFinite(filter.limit) ? Math.min(Math.max(1, filter.limit!), 1000) : 100 }).map((m) => ({
      id: m.id,
      kind: m.kind,
      productId: m.product,
      productName: shop.products.get(m.product)?.name ?? '(removed product)',
      unit: shop.products.get(m.product)?.unit ?? '',
      delta: m.delta,
      takes: m.takes.map((t) => ({ batch: t.batch, quantity: t.quantity })),
      price: m.price ?? null,
      total: m.total ?? null,
      at: m.at,
      thisDevice: m.device === ownDevice,
      note: m.note ?? '',
      undoes: m.undoes ?? null,
      undoneBy: m.undoneBy,
      request: m.request ?? null,
      before: m.before ?? null,
      after: m.after ?? null,
      batch: m.batch ? { id: m.batch.id, expiresOn: m.batch.expiresOn, receivedOn: m.batch.receivedOn ?? '', supplier: m.batch.supplier ?? '' } : null,
    }));
  }

  /** The sales of one day (the merchant's day, as stockHistory): how many (not undone) and what they took in. */
  daySales(day?: string, utcOffsetMinutes = 0): DaySalesView {
    const shop = this.shop;
    const when = day ?? utcDay(this.clock.now() - utcOffsetMinutes * 60_000);
    if (!shop) return { day: when, count: 0, takings: 0, currency: '' };
    let count = 0;
    let takings = 0;
    for (const move of shop.ledger.list(dayRange(when, utcOffsetMinutes))) {
      if ((move.kind !== 'sale' && move.kind !== 'reservation') || move.undoneBy !== null) continue;
      count += 1;
      takings += move.total ?? 0;
    }
    return { day: when, count, takings, currency: shop.content.profile.currency };
  }

  /** A product's batches with what is left of each (FEFO order), its unbatched stock and what may be sold today. */
  productStock(productId: string): ProductStockView | null {
    const shop = this.shop;
    const product = shop?.products.get(productId);
    if (!shop || !product) return null;
    const today = utcDay(this.clock.now());
    const stock = shop.stockOf(product);
    const soon = utcDay(this.clock.now() + this.settings.expiryAlertDays * 86_400_000);
    const byId = new Map(shop.batchesOf(product).map((b) => [b.id, b]));
    return {
      productId,
      stock: product.stock,
      unbatched: stock.unbatched,
      sellable: sellableStock(stock, today),
      batches: stock.batches.map((b) => {
        const batch = byId.get(b.id);
        return {
          id: b.id,
          received: batch?.quantity ?? b.remaining,
          remaining: b.remaining,
          expiresOn: b.expiresOn,
          receivedOn: batch?.receivedOn ?? '',
          supplier: batch?.supplier ?? '',
          invoice: batch?.invoice ?? null,
          invoiceFile: batch?.invoiceFile ?? false,
          receipt: batch?.receipt ?? null,
          expired: isExpired(b.expiresOn, today),
          nearExpiry: b.expiresOn !== '' && !isExpired(b.expiresOn, today) && b.expiresOn <= soon,
        };
      }),
    };
  }

  /** Batches with stock left that expire within the alert window (settings.expiryAlertDays), and expired ones with stock left. */
  private expiryAlerts(): ExpiryAlert[] {
    const shop = this.shop;
    if (!shop) return [];
    const now = this.clock.now();
    const today = utcDay(now);
    const soon = utcDay(now + this.settings.expiryAlertDays * 86_400_000);
    // view() asks on every change: the alerts move only with the catalog or the day.
    const cached = this.alertsCache;
    if (cached && cached.catalog === shop.privateDoc && cached.today === today && cached.soon === soon) return cached.alerts;
    const alerts: ExpiryAlert[] = [];
    for (const product of shop.products.values()) {
      if (!product.batches.length && !shop.ledger.receivedEntries(product.id).length) continue;
      for (const b of shop.stockOf(product).batches) {
        if (b.remaining <= 0 || b.expiresOn === '' || b.expiresOn > soon) continue;
        alerts.push({ productId: product.id, name: product.name, unit: product.unit, batchId: b.id, expiresOn: b.expiresOn, remaining: b.remaining, expired: isExpired(b.expiresOn, today) });
      }
    }
    const sorted = alerts.sort((a, b) => (a.expiresOn < b.expiresOn ? -1 : a.expiresOn > b.expiresOn ? 1 : a.name.localeCompare(b.name))).slice(0, 100);
    this.alertsCache = { catalog: shop.privateDoc, today, soon, alerts: sorted };
    return sorted;
  }

  private alertsCache: { catalog: object; today: string; soon: string; alerts: ExpiryAlert[] } | undefined;

  /** Takes `quantity` away as a sale, waste or reservation, earliest expiry first, and records it. */
  private takeOut(draft: CatalogDraft, kind: 'sale' | 'waste', product: Product, quantity: number, moveId: string, options: { note?: string; unitPrice?: number }): string {
    const stock = draft.stockOf(product.id);
    const fefo = takeFefo(stock.batches, quantity, draft.today, { unbatched: stock.unbatched, expired: kind === 'waste' });
    if (fefo.shortfall > 0 || quantity > product.stock) {
      const sellable = kind === 'waste' ? Math.max(0, product.stock) : sellableStock(stock, draft.today);
      const expired = roundQuantity(Math.max(0, product.stock) - sellable);
      const verb = kind === 'sale' ? 'sell' : 'take away';
      throw new InputError('Quantity', `Only ${sellable} ${product.unit} in stock${expired > 0 ? ` that may be sold (${expired} more expired)` : ''}; cannot ${verb} ${quantity}`);
    }
    draft.move(product.id, -quantity);
    const priced = kind === 'sale' ? { price: options.unitPrice!, total: Math.round(options.unitPrice! * quantity) } : {};
    if ((priced.total ?? 0) > MAX_MINOR_UNITS) throw new InputError('Price', 'The sale’s total is too large');
    draft.recordMove(moveId, { kind, product: product.id, delta: -quantity, takes: fefo.takes, at: this.moveTime(), device: draft.device, ...priced, ...(options.note ? { note: options.note } : {}) });
    return moveId;
  }

  /** A recount to `counted`, kept in the history as a correction (before and after; a decrease takes earliest expiry first). */
  private recordCorrection(draft: CatalogDraft, product: Product, counted: number, moveId: string, note?: string): void {
    const before = product.stock;
    if (counted === before) throw new InputError('Quantity', `The stock is already ${before} ${product.unit}`);
    let takes: { batch: string; quantity: number }[] = [];
    if (counted < before) {
      const stock = draft.stockOf(product.id);
      takes = takeFefo(stock.batches, roundQuantity(before - Math.max(0, counted)), draft.today, { unbatched: stock.unbatched, expired: true }).takes;
    }
    draft.recount(product.id, counted);
    draft.recordMove(moveId, { kind: 'correction', product: product.id, delta: roundQuantity(counted - before), takes, at: this.moveTime(), device: draft.device, before, after: counted, ...(note ? { note } : {}) });
  }

  private lastMoveAt = 0;

  /** The time of a new move: the clock, but always after this node's previous move, so a device's history keeps its order. */
  private moveTime(): number {
    this.lastMoveAt = Math.max(this.clock.now(), this.lastMoveAt + 1);
    return this.lastMoveAt;
  }

  private cancelDayTurn: (() => void) | undefined;

  /**
   * At each UTC midnight (and once on opening), the offers of products whose batches expired are
   * brought in line — expired stock leaves the shared offer without any merchant action — in one edit.
   */
  private scheduleDayTurn(runNow = false): void {
    this.cancelDayTurn?.();
    const turn = () => {
      this.cancelDayTurn = undefined;
      if (this.closed) return;
      void this.serial(async () => {
        const shop = this.shop;
        if (!shop || this.revokedAt !== null || this.closed) return;
        const now = this.clock.now();
        const stale = shop.offersOutOfStep(shop.productsWithExpiredBatches(utcDay(now)), now);
        if (stale.length) await this.editShopNow(() => ({ result: undefined, touched: stale }));
      })
        .catch((error) => this.refuse('shop', `could not take expired stock off the offers: ${describe(error)}`))
        .finally(() => {
          if (this.closed) return;
          this.changed();
          this.scheduleDayTurn();
        });
    };
    if (runNow) turn();
    else this.cancelDayTurn = this.clock.setTimer(turn, msToNextUtcDay(this.clock.now()) + 1000);
  }

  /**
   * Edits the shop's profile: name, area (offers follow), exact location, currency. A new
   * currency keeps every price's figure in the new currency's minor units (rescaleMinorUnits).
   */
  async updateProfile(input: ShopInput): Promise<void> {
    const was = this.shop?.content.profile.currency;
    const { name, area, currency } = validateShopProfile({ ...input, currency: input.currency ?? was });
    const exactLocation = input.exactLocation === undefined ? undefined : validateExactLocation(input.exactLocation);
    const role = input.role === undefined ? undefined : validateRole(input.role);
    return this.editShop(
      (draft) => {
        if (exactLocation !== undefined) draft.setExactLocation(exactLocation);
        const touched: string[] = [];
        if (was && currency !== was) {
          const rescale = (amount: number) => rescaleMinorUnits(amount, was, currency);
          for (const product of [...draft.products.values()]) {
            draft.put({
              ...product,
              price: rescale(product.price),
              costPrice: product.costPrice === null ? null : rescale(product.costPrice),
              offer: product.offer && { ...product.offer, price: rescale(product.offer.price) },
            });
            touched.push(product.id);
          }
        }
        return { result: undefined, touched };
      },
      (draft) => {
        if (draft.profile.name.val !== name) draft.profile.name = new A.ImmutableString(name);
        if (draft.profile.area.val !== area) draft.profile.area = new A.ImmutableString(area);
        if (draft.profile.currency.val !== currency) draft.profile.currency = new A.ImmutableString(currency);
        if (role === 'shop' && draft.profile.role !== undefined) delete draft.profile.role;
        else if (role !== undefined && role !== 'shop' && draft.profile.role?.val !== role) draft.profile.role = new A.ImmutableString(role);
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
    if (!Number.isInteger(next.expiryAlertDays) || next.expiryAlertDays < 0 || next.expiryAlertDays > 365) {
      throw new InputError('Expiry alert', 'Expiry alert must be a whole number of days from 0 to 365');
    }
    next.trustedShops = [...new Set(next.trustedShops)];
    if (next.trade !== undefined) {
      const problem = checkTradeRules(next.trade);
      if (problem) throw new InputError('Reservation rules', problem);
      next.trade = { autoAcceptUpTo: next.trade.autoAcceptUpTo, holdMinutes: next.trade.holdMinutes };
    }
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

  // ---------------------------------------------------------------- trade (tradeDesk.ts)

  /** Reserves a quantity of another shop's offer (a request written into this shop's vault; it waits for the seller). */
  reserve(sellerVaultId: string, productId: string, quantity: number, note = ''): Promise<EventRef> {
    return this.trade.reserve(sellerVaultId, productId, quantity, note);
  }

  /** The buyer cancels a request or hold; the seller cancels an accepted hold (it is released). */
  cancelReservation(request: EventRef, reason = ''): Promise<void> {
    return this.trade.cancel(request, reason);
  }

  /** The seller's answer to a request the rule left for the merchant. */
  answerReservation(request: EventRef, accept: boolean, reason = ''): Promise<void> {
    return this.trade.answer(request, accept, reason);
  }

  /** Records the sale of an accepted reservation and moves the stock, exactly once. */
  fulfilReservation(request: EventRef): Promise<void> {
    return this.trade.fulfil(request);
  }

  messageReservation(request: EventRef, text: string): Promise<void> {
    return this.trade.message(request, text);
  }

  /** Every reservation this shop takes part in, as buyer or seller, latest first. */
  reservations(): ReservationView[] {
    return this.trade.reservations();
  }

  /** The seller's rule: auto-accept up to N units (null: by hand) and how long a hold lasts. */
  setTradeRules(rules: TradeRules): Promise<NodeSettings> {
    return this.updateSettings({ trade: rules });
  }

  // ---------------------------------------------------------------- deliveries (deliveryDesk.ts)

  /** A driver announces where it drives, how much it carries and when (times in seconds). */
  announceCapacity(input: { area: string; load: number; from: number; until: number }): Promise<void> {
    return this.deliveries.announceCapacity(input);
  }

  /** A driver accepts or declines a delivery job (`ref`: the seller's delivery request). */
  answerDelivery(ref: EventRef, accept: boolean, reason = ''): Promise<void> {
    return this.deliveries.answerDelivery(ref, accept, reason);
  }

  reportPickedUp(ref: EventRef): Promise<void> {
    return this.deliveries.reportPickedUp(ref);
  }

  reportDelivered(ref: EventRef): Promise<void> {
    return this.deliveries.reportDelivered(ref);
  }

  /** Drivers with capacity in the buyer's area for a fulfilled sale of this shop (`deliverBy` in seconds). */
  proposedDrivers(request: EventRef, deliverBy?: number): ProposedDriverView[] {
    return this.deliveries.proposedDrivers(request, deliverBy);
  }

  /** Asks a driver (or the first proposed) to deliver a fulfilled sale; returns the delivery request. */
  requestDelivery(request: EventRef, options: { driver?: string; deliverBy?: number } = {}): Promise<EventRef> {
    return this.deliveries.requestDelivery(request, options);
  }

  /** Every delivery this node takes part in (seller, buyer or driver), with its hand-overs. */
  deliveryList(): DeliveryView[] {
    return this.deliveries.deliveries();
  }

  /** The Deliveries page: role, own capacity, deliveries, sales waiting for one. */
  deliveryBoard(): DeliveryBoard {
    return this.deliveries.board();
  }

  // ---------------------------------------------------------------- devices of this shop

  private isOwnDeviceId(remote: { nodeId: string; shopVaultId?: string }): boolean {
    const shop = this.shop;
    if (!shop || remote.shopVaultId !== shop.id || remote.nodeId === shop.deviceKey) return false;
    return !shop.content.revocations.some((r) => r.publicKey === remote.nodeId);
  }

  /** A link to another unrevoked device of this shop (its certificate proven on the link). */
  private isOwnDevice(session: SyncSession): boolean {
    return session.remote !== undefined && session.closedReason === undefined && this.isOwnDeviceId(session.remote);
  }

  private privateContext(from: string, to: string): Uint8Array {
    return concatBytes(PRIVATE_TAG, fromHex(this.shop!.id), fromHex(from), fromHex(to));
  }

  /** Sends this device's next private-catalog sync message to another device of the shop (sealed with the catalog key). */
  private sendPrivate(session: SyncSession): void {
    void this.serial(async () => {
      const shop = this.shop;
      if (!shop || !this.isOwnDevice(session)) return;
      const [state, message] = A.generateSyncMessage(shop.privateDoc, this.privateSync.get(session) ?? A.initSyncState());
      this.privateSync.set(session, state);
      if (!message) return;
      const sealed = await seal(shop.keys.catalogKey, message, this.privateContext(toHex(this.nodeId), session.remote!.nodeId), (n) => this.random(n));
      if (!session.send({ type: 'private', sealed })) this.privateSync.delete(session);
    }).catch((error) => this.refuse(session.label, `private catalog sync failed: ${describe(error)}`));
  }

  receivePrivate(session: SyncSession, sealed: Uint8Array): Promise<void> {
    if (sealed.length > MAX_PRIVATE_MESSAGE_BYTES) {
      this.refuse(session.label, `a private catalog message of ${sealed.length} bytes refused (limit ${MAX_PRIVATE_MESSAGE_BYTES})`);
      return Promise.resolve();
    }
    if (!this.isOwnDevice(session)) {
      // A device this node knows as revoked may not have heard yet: refused, not counted.
      if (session.remote?.shopVaultId === this.shop?.id) this.refuse(session.label, 'private catalog sync from a revoked device refused');
      else this.offence(session, 'private catalog sync from a node that is not a device of this shop');
      return Promise.resolve();
    }
    return this.serial(async () => {
      const shop = this.shop;
      if (!shop || !this.isOwnDevice(session)) return;
      const plain = await openSealed(shop.keys.catalogKey, sealed, this.privateContext(session.remote!.nodeId, toHex(this.nodeId)));
      if (!plain) {
        this.offence(session, 'private catalog sync that does not open with the shop’s catalog key');
        return;
      }
      const before = A.getHeads(shop.privateDoc);
      let doc: A.Doc<PrivateVaultDoc>;
      let state: A.SyncState;
      try {
        [doc, state] = A.receiveSyncMessage(A.clone(shop.privateDoc, { actor: deviceActor(shop.keys.device.publicKey) }), this.privateSync.get(session) ?? A.initSyncState(), plain);
        readCheckedProducts(doc, PRIVATE_CATALOG_LIMITS);
        // Messages may grow the catalog past what a pairing grant or a backup can carry: measured
        // whole once every 256 KB received, however they are cut.
        this.privateBytesSinceMeasure += plain.length;
        if (this.privateBytesSinceMeasure > 256 * 1024) {
          const saved = A.save(doc).length;
          if (saved > PRIVATE_CATALOG_LIMITS.maxSavedBytes) throw new Error(`the catalog would be ${saved} bytes, limit ${PRIVATE_CATALOG_LIMITS.maxSavedBytes}`);
          this.privateBytesSinceMeasure = 0;
        }
      } catch (error) {
        this.refuse(session.label, `private catalog sync refused: ${describe(error)}`);
        return;
      }
      this.privateSync.set(session, state);
      if (!sameHeads(before, A.getHeads(doc))) {
        const adopted = shop.adoptPrivate(doc);
        try {
          await this.write(adopted.writes);
        } catch (error) {
          this.refuse('storage', `could not save the catalog from another device: ${describe(error)}`);
          await this.reloadShop();
          return;
        }
        const moved = shop.commitPrivate(doc, this.clock.now());
        // Files removed or re-shared on another device: held own files follow.
        void this.packages.ownFilesChanged().catch((error) => this.refuse('storage', `could not tidy the shop's files: ${describe(error)}`));
        this.deviceSeen.set(session.remote!.nodeId, this.clock.now());
        // The shared offers follow the merged catalog (two devices' sales, a price set elsewhere).
        const stale = shop.offersOutOfStep(moved, this.clock.now());
        if (stale.length) await this.editShopNow(() => ({ result: undefined, touched: stale })).catch((error) => this.refuse('shop', describe(error)));
        for (const other of this.sessions) if (other !== session && this.isOwnDevice(other)) this.sendPrivate(other);
        this.changed();
      }
      this.sendPrivate(session);
    }).catch((error) => this.refuse(session.label, `private catalog sync failed: ${describe(error)}`));
  }

  private radio: NodeRadioSource | undefined;

  /** The node's side of radio sync, for the radio engine (src/core/radio/radioSync.ts). */
  radioSource(): NodeRadioSource {
    this.radio ??= new NodeRadioSource({
      vaults: () => this.radioVaults(),
      vault: (id) => this.store.get(id),
      encoding: (id) => this.store.encoding(id),
      take: (message, from) => this.takeFromRadio(message, from),
    });
    return this.radio;
  }

  private *radioVaults() {
    for (const record of this.store.all()) {
      if (record.legacy) continue;
      yield { id: record.id, statements: record.statements, revocations: record.revocations, standing: this.standingOf(record.id), asOf: record.asOf };
    }
  }

  /** A vault version heard on the radio: the acceptance any peer's version goes through, charged to the sender it claims. */
  private async takeFromRadio(message: Extract<SyncMessage, { type: 'changes' }>, from: string): Promise<TakeOutcome> {
    if (this.closed) return { taken: false, reason: 'node closed', offence: false };
    const id = toHex(message.statements[0]!.vaultId);
    const origin: ChangesOrigin = { label: `radio ${from}`, peer: `radio:${from}`, quiet: true };
    let outcome: TakeOutcome;
    if (id === this.shop?.id) outcome = await this.serial(() => this.takeOwnChanges(origin, message));
    else {
      const priority = this.standingOf(id) === 'partner' ? 0 : this.store.has(id) ? 1 : 2;
      outcome = await this.acceptance.run(priority, () => this.takeChanges(origin, message));
    }
    const record = this.store.get(id);
    if (outcome.taken && record) {
      this.viaRadio.set(id, record.asOf);
      for (const old of this.viaRadio.keys()) {
        if (this.viaRadio.size <= 4 * this.store.budget.maxOtherVaults) break;
        this.viaRadio.delete(old);
      }
      this.changed();
    }
    return outcome;
  }

  /** Vaults whose version held came over the radio: vault id → the asOf it was taken at (bounded by the store). */
  private readonly viaRadio = new Map<string, number>();

  /** Private-catalog bytes taken since the catalog was last measured whole. */
  private privateBytesSinceMeasure = 0;

  /** Wrong codes per peer while adding a device (bounded), and in all. */
  private readonly pairingMisses = new Map<string, number>();

  /**
   * "Add a device" (on the shop's root device): a pairing code, valid for a few minutes and one
   * device, to type or scan on the new device.
   */
  startPairing(): { code: string; qr: string; expiresAt: number } {
    const shop = this.shop;
    if (!shop) throw new InputError('shop', 'Create your shop first');
    if (!shop.isRootDevice) throw new InputError('shop', 'Devices are added from the device that created the shop (or restored it from a backup)');
    const code = newPairingCode((n) => this.random(n));
    this.pairingMisses.clear();
    const expiresAt = this.clock.now() + PAIRING_VALID_MS;
    this.pairing = { role: 'adding', code, expiresAt, attemptsLeft: PAIRING_ATTEMPTS, state: 'waiting', message: 'Waiting for the new device' };
    this.changed();
    return { code: code.text, qr: pairingQrText(code), expiresAt };
  }

  cancelPairing(): void {
    const pairing = this.pairing;
    this.pairing = undefined;
    if (pairing?.role === 'joining' && pairing.state === 'waiting') pairing.settle(new InputError('code', 'Joining was cancelled'));
    this.changed();
  }

  /**
   * "Join a shop" (on a new device, with no shop yet): asks every linked shop device with the
   * pairing code; resolves with the shop id once the shop's root device has added this device
   * and the shop is saved here.
   */
  joinShop(codeText: string, deviceName: string): Promise<string> {
    if (this.shop) return Promise.reject(new InputError('shop', 'This device already has a shop'));
    if (this.shopProblem) return Promise.reject(new InputError('shop', this.shopProblem));
    const code = parsePairingCode(codeText);
    if (!isPairingCode(code)) return Promise.reject(new InputError('code', code.error));
    const name = deviceName.trim() || 'New device';
    this.cancelPairing();
    return new Promise<string>((resolve, reject) => {
      const expiresAt = this.clock.now() + PAIRING_VALID_MS;
      const cancelTimer = this.clock.setTimer(() => {
        if (this.pairing === pairing && pairing.state === 'waiting') pairing.settle(new InputError('code', 'No device of a shop answered with that code in time; check both devices are online and the code is current'));
      }, PAIRING_VALID_MS);
      const pairing: Extract<PairingState, { role: 'joining' }> = {
        role: 'joining',
        code,
        deviceName: name,
        expiresAt,
        asked: new WeakSet(),
        state: 'waiting',
        message: 'Looking for your shop’s device',
        settle: (error) => {
          cancelTimer();
          pairing.state = error ? 'failed' : 'done';
          pairing.message = error ? error.message : 'Joined';
          this.changed();
          if (error) reject(error);
          else resolve(this.shop!.id);
        },
      };
      this.pairing = pairing;
      for (const session of this.sessions) if (session.remote) this.askToJoin(session);
      this.changed();
    });
  }

  private askToJoin(session: SyncSession): void {
    const pairing = this.pairing;
    if (pairing?.role !== 'joining' || pairing.state !== 'waiting' || !session.remote?.shopVaultId || pairing.asked.has(session)) return;
    pairing.asked.add(session);
    const proof = pairRequestProof(pairing.code.secret, fromHex(session.remote.nodeId), this.nodeId);
    session.send({ type: 'pairRequest', proof, deviceName: pairing.deviceName });
  }

  receivePairRequest(session: SyncSession, proof: Uint8Array, deviceName: string): void {
    const pairing = this.pairing;
    const shop = this.shop;
    const refuse = (reason: string) => session.send({ type: 'refusal', code: RefusalCode.rule, reason });
    if (pairing?.role !== 'adding' || pairing.state !== 'waiting' || !shop?.keys.root) return void refuse('this device is not adding a device now');
    if (this.clock.now() > pairing.expiresAt) {
      pairing.state = 'failed';
      pairing.message = 'The code expired; start again';
      this.changed();
      return void refuse('the pairing code has expired');
    }
    const remote = session.remote!;
    if ((this.pairingMisses.get(remote.nodeId) ?? 0) >= PAIRING_ATTEMPTS_PER_PEER) return void refuse('too many wrong pairing codes from this device');
    if ((pairing.pausedUntil ?? 0) > this.clock.now()) return void refuse('pairing is paused after many wrong codes; try again in a minute');
    if (!sameProof(proof, pairRequestProof(pairing.code.secret, this.nodeId, fromHex(remote.nodeId)))) {
      // Counted per peer (another shop's joiner may ask here with its own code) and in all, as a bound.
      if (this.pairingMisses.size < 1024) this.pairingMisses.set(remote.nodeId, (this.pairingMisses.get(remote.nodeId) ?? 0) + 1);
      pairing.attemptsLeft -= 1;
      if (pairing.attemptsLeft <= 0) {
        // Many identities guessing: a pause, not the end of the merchant's code.
        pairing.pausedUntil = this.clock.now() + PAIRING_PAUSE_MS;
        pairing.attemptsLeft = PAIRING_ATTEMPTS;
        pairing.message = 'Many wrong codes were tried by other devices; pairing pauses for a minute, then goes on with the same code.';
      }
      this.refuse(session.label, 'a device tried to join with a wrong pairing code');
      if ((this.pairingMisses.get(remote.nodeId) ?? 0) >= PAIRING_ATTEMPTS_PER_PEER) this.offence(session, 'repeated wrong pairing codes');
      return void refuse('wrong pairing code');
    }
    pairing.state = 'done';
    pairing.message = `Adding ${deviceName || 'the new device'}`;
    void this.serial(async () => {
      const root = shop.keys.root!;
      const certificate = certifyDevice(root, fromHex(remote.nodeId), this.clock.now());
      await this.editShopNow(
        () => ({ result: undefined, touched: [] }),
        (draft) => {
          draft.devices[remote.nodeId] = { name: new A.ImmutableString(deviceName.trim() || 'New device'), certificate: encodeCertificate(certificate) };
        },
      );
      const sealed = await sealPairGrant(pairing.code.secret, this.nodeId, fromHex(remote.nodeId), grantFor(this.shop!, certificate), (n) => this.random(n));
      if (!session.send({ type: 'pairGrant', sealed })) throw new Error('the link to the new device closed or is full; start again');
      pairing.message = `Added ${deviceName || 'the new device'}`;
      this.changed();
    }).catch((error) => {
      pairing.state = 'failed';
      pairing.message = `Could not add the device: ${describe(error)}`;
      this.changed();
    });
  }

  receivePairGrant(session: SyncSession, sealed: Uint8Array): Promise<void> {
    const pairing = this.pairing;
    if (pairing?.role !== 'joining' || pairing.state !== 'waiting' || this.shop) {
      // A late or second grant after joining is no offence; one nobody asked for is.
      if (pairing?.role === 'joining') this.refuse(session.label, 'a pairing grant after joining was ignored');
      else this.offence(session, 'a pairing grant nobody asked for');
      return Promise.resolve();
    }
    return this.serial(async () => {
      const grant = await openPairGrant(pairing.code.secret, fromHex(session.remote!.nodeId), this.nodeId, sealed).catch(() => undefined);
      if (!grant) {
        this.offence(session, 'a pairing grant that does not open with the code');
        return;
      }
      if (toHex(grant.certificate.vaultId) !== session.remote!.shopVaultId) {
        this.offence(session, 'a pairing grant for another shop than the sender’s');
        return;
      }
      const now = this.clock.now();
      const { shop, writes } = shopFromGrant(this.nodeKey, grant);
      await this.adoptShop(shop, writes, now);
      pairing.settle();
    }).catch((error) => pairing.settle(error instanceof Error ? error : new Error(String(error))));
  }

  /** A shop that came from elsewhere (pairing, a backup) becomes this device's: saved, announced, synced. */
  private async adoptShop(shop: OwnShop, writes: StorageWrite[], now: number): Promise<void> {
    if (this.shop) throw new InputError('shop', 'This device already has a shop');
    const { writes: indexWrites, record } = this.store.ownVaultWrites(shop.id, shop, shop.cost, now);
    // A copy of this shop's vault carried as someone else's is replaced by the shop itself.
    await this.write([{ op: 'deleteRange', prefix: ['vault', shop.id] }, ...writes, ...indexWrites]);
    this.shop = shop;
    this.shopProblem = null;
    this.store.commitOwn(record, shop.content, shop.doc);
    for (const session of this.sessions) session.sayHello();
    this.broadcast(shop.statements);
    this.changed();
  }

  /** The revocations of this shop: those in its document and any this node holds from elsewhere. */
  private ownRevocations(): string[] {
    const shop = this.shop!;
    return [...new Set([...shop.content.revocations.map((r) => r.encoded), ...(this.store.get(shop.id)?.revocations ?? [])])];
  }

  /** Withdraws a lost or sold device (root device only): what it signs from now on is refused everywhere. */
  revokeDevice(deviceKey: string): Promise<void> {
    const shop = this.shop;
    if (!shop) return Promise.reject(new InputError('shop', 'Create your shop first'));
    if (!shop.keys.root) return Promise.reject(new InputError('device', 'Devices are revoked from the device that created the shop (or restored it from a backup)'));
    if (deviceKey === shop.deviceKey) return Promise.reject(new InputError('device', 'This device cannot revoke itself'));
    if (!shop.content.devices.some((d) => d.publicKey === deviceKey)) return Promise.reject(new InputError('device', 'That device is not one of this shop’s'));
    return this.serial(async () => {
      const revocation = revokeDevice(shop.keys.root!, fromHex(deviceKey), this.clock.now(), statementOf(this.shop!.statements, deviceKey));
      await this.editShopNow(
        () => ({ result: undefined, touched: [] }),
        (draft) => {
          draft.revocations[deviceKey] = encodeDeviceRevocation(revocation);
        },
      );
      for (const session of this.sessions) if (session.remote?.nodeId === deviceKey) session.close('this device was revoked by its shop');
    });
  }

  /** The shop's devices: name, when added, when last linked, whether revoked. */
  devices(): DeviceView[] {
    const shop = this.shop;
    if (!shop) return [];
    const linked = new Map<string, number>();
    for (const session of this.sessions) if (session.remote && session.remote.shopVaultId === shop.id) linked.set(session.remote.nodeId, session.lastHeardAt);
    return shop.content.devices.map((device) => {
      const revocation = shop.content.revocations.find((r) => r.publicKey === device.publicKey);
      const thisDevice = device.publicKey === shop.deviceKey;
      return {
        publicKey: device.publicKey,
        name: device.name,
        addedAt: device.issuedAt,
        lastSeenAt: thisDevice ? this.clock.now() : (linked.get(device.publicKey) ?? this.deviceSeen.get(device.publicKey) ?? null),
        linked: linked.has(device.publicKey),
        thisDevice,
        revokedAt: revocation?.revokedAt ?? null,
        counter: statementOf(shop.statements, device.publicKey)?.counter ?? 0,
      };
    });
  }

  /** An encrypted backup file of the shop (root key, catalog key, both documents), sealed with a passphrase. */
  async exportBackup(passphrase: string, onProgress?: (share: number) => void): Promise<Uint8Array> {
    const shop = this.shop;
    if (!shop) throw new InputError('shop', 'Create your shop first');
    const payload = await this.serial(async () => encodeShopBackup(this.shop!));
    const now = this.clock.now();
    const file = await sealBackup(payload, passphrase, { random: (n) => this.random(n), createdAt: now, label: shop.content.profile.name.slice(0, 60), ...(onProgress ? { onProgress } : {}) });
    await this.write([{ op: 'put', key: backupKey, data: new TextEncoder().encode(String(now)) }]);
    this.lastBackupAt = now;
    this.changed();
    return file;
  }

  /** Brings a shop back from a backup file on a device with no shop: this device becomes one of its devices, holding its root key. */
  async restoreBackup(file: Uint8Array, passphrase: string, deviceName = 'Restored device', onProgress?: (share: number) => void): Promise<string> {
    if (this.shop) throw new InputError('shop', 'This device already has a shop');
    const opened = await openBackup(file, passphrase, onProgress ? { onProgress } : {});
    if (this.shopProblem) {
      // A shop that could not be opened is replaced only by its own backup; its keys are kept aside either way.
      const stored = await this.storage.load(shopKeysKey);
      let storedVault: string | undefined;
      try {
        storedVault = stored ? toHex(decodeShopKeys(stored).vaultId) : undefined;
      } catch {
        storedVault = undefined;
      }
      const restoring = toHex(keyPairFromSecret(opened.payload.subarray(1, 33)).publicKey);
      if (storedVault && storedVault !== restoring) throw new InputError('file', 'This device holds another shop that could not be opened; restoring a different shop here would replace it. Use another browser profile.');
      if (stored) await this.write([{ op: 'put', key: ['keys', 'shop-unopened', String(this.clock.now())], data: stored }]);
    }
    return this.serial(async () => {
      const now = this.clock.now();
      const { shop, writes } = shopFromBackup(this.nodeKey, opened.payload, now, deviceName);
      await this.adoptShop(shop, [...writes, { op: 'put', key: backupKey, data: new TextEncoder().encode(String(opened.createdAt)) }], now);
      this.lastBackupAt = opened.createdAt;
      return shop.id;
    });
  }

  private lastBackupAt: number | null = null;
  /** When the shop's root revoked this device, if it did (learned from a bundle of the shop). */
  private revokedAt: number | null = null;
  /** Why the stored shop could not be opened, if it could not: no new shop replaces it then. */
  private shopProblem: string | null = null;

  // ---------------------------------------------------------------- reads

  /** The shop's products matching a search over name and SKU, by name; at most `limit` of them, and how many match. */
  products(query = '', limit = Infinity): { products: Product[]; total: number } {
    if (!this.shop) return { products: [], total: 0 };
    const words = query.toLowerCase().split(/\s+/).filter(Boolean);
    const matching = [...this.shop.products.values()]
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
            role: this.shop.content.profile.role ?? 'shop',
            exactLocation: this.shop.exactLocation,
            rootDevice: this.shop.isRootDevice,
            deviceKey: this.shop.deviceKey,
            lastBackupAt: this.lastBackupAt,
            revokedAt: this.revokedAt ?? this.shop.content.revocations.find((r) => r.publicKey === this.shop!.deviceKey)?.revokedAt ?? null,
            fingerprint: shopFingerprint(this.shop.id),
          }
        : null,
      shopProblem: this.shopProblem,
      settings: { ...this.settings, trustedShops: [...this.settings.trustedShops] },
      pairing: this.pairing
        ? {
            role: this.pairing.role,
            code: this.pairing.role === 'adding' ? this.pairing.code.text : null,
            qr: this.pairing.role === 'adding' ? pairingQrText(this.pairing.code) : null,
            room: pairingRoom(this.pairing.code.secret),
            expiresAt: this.pairing.expiresAt,
            state: this.pairing.state,
            message: this.pairing.message,
          }
        : null,
      peers,
      vaults: records.map((r) => ({
        vaultId: r.id,
        name: r.name,
        area: r.area,
        fingerprint: shopFingerprint(r.id),
        own: r.id === this.shop?.id,
        trusted: this.trusted(r.id),
        lookAlikeOf: clashes.get(r.id) ?? null,
        counter: versionNumber(r.statements),
        offers: r.offerCount,
        bytes: r.bytes,
        asOf: r.asOf,
        firstSeenAt: r.firstSeenAt,
      })),
      refusals: [...this.refusals],
      expiryAlerts: this.expiryAlerts(),
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
    const found: { offer: VaultContent['offers'][number]; record: VaultRecord; seller: string; currency: string }[] = [];
    let loading = 0;
    for (const record of records) {
      const content = this.store.cachedContent(record.id);
      if (!content) {
        loading += 1;
        continue;
      }
      const { profile } = content;
      for (const offer of content.offers) {
        if (words.length) {
          const haystack = `${offer.name} ${offer.sku} ${profile.name} ${offer.area}`.toLowerCase();
          if (!words.every((w) => haystack.includes(w))) continue;
        }
        found.push({ offer, record, seller: profile.name, currency: profile.currency });
      }
    }
    // Sorted and cut before the answer is built: only what is shown is copied.
    found.sort((a, b) => collator.compare(a.offer.name, b.offer.name) || collator.compare(a.seller, b.seller) || (a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0));
    const matches: MarketOffer[] = found.slice(0, limit).map(({ offer, record, seller, currency }) => ({
      productId: offer.productId,
      name: offer.name,
      sku: offer.sku,
      unit: offer.unit,
      quantity: offer.quantity,
      price: offer.price,
      expiresOn: offer.expiresOn,
      area: offer.area,
      vaultId: record.id,
      asOf: record.asOf,
      viaRadio: this.viaRadio.get(record.id) === record.asOf,
      seller,
      currency,
      own: record.id === this.shop?.id,
      fingerprint: shopFingerprint(record.id),
      trusted: this.trusted(record.id),
      lookAlikeOf: clashes.get(record.id) ?? null,
    }));
    const shown = matches;
    // What the merchant looks at is in use: eviction takes the least recently used first.
    const now = this.clock.now();
    for (const offer of shown) this.store.touch(offer.vaultId, now);
    return { offers: shown, total: found.length, loadingVaults: loading };
  }

  /** The statements this node holds for a vault (its version), as sent on the wire. */
  statementsOf(vaultId: string): SignedHeads[] | undefined {
    return this.store.get(vaultId)?.statements;
  }

  // ---------------------------------------------------------------- audit trail (trade/auditTrail.ts)

  /** Writes trade events into the shop's shared document, signed like every edit. Internal: tests (the trade desk writes its own steps). */
  recordTradeEvents(events: readonly { id: string; event: NewTradeEvent }[]): Promise<void> {
    const encoded = events.map(({ id, event }) => ({ id, bytes: encodeTradeEvent(event) }));
    return this.editShop(
      () => ({ result: undefined, touched: [] }),
      (shared) => {
        for (const { id, bytes } of encoded) putTradeEvent(shared, id, bytes);
      },
    );
  }

  /** The own vault's and every carried vault's checked content that holds trade events. */
  private async trailVaults(): Promise<TrailVault[]> {
    const shop = this.shop;
    const vaults: TrailVault[] = shop ? [{ vaultId: shop.id, content: shop.content }] : [];
    for (const record of [...this.store.all()]) {
      if (record.id === shop?.id) continue;
      const content = this.store.cachedContent(record.id) ?? (await this.store.content(record.id));
      if (content?.trade?.length) vaults.push({ vaultId: record.id, content });
    }
    return vaults;
  }

  /** The trail index and the events of it that involve this shop (and what they derive from). */
  private async shopTrail() {
    const index = indexTrail(await this.trailVaults());
    const keys = this.shop ? shopTrail(index, vaultPrefix(this.shop.id)) : new Set<string>();
    return { index, keys };
  }

  /** The shop's trail, newest first: its events, events naming it, and their origins; `query` matches type, shop, device, product or id. */
  async trail(options: { query?: string; limit?: number } = {}): Promise<{ entries: TrailEntryView[]; total: number }> {
    const { index, keys } = await this.shopTrail();
    const query = (options.query ?? '').trim().toLowerCase();
    const found = [...keys]
      .map((key) => index.entries.get(key)!)
      .filter((e) => !query || [e.name, e.shop, e.deviceName ?? '', e.device, e.ref.id, 'product' in e.event ? e.event.product : ''].some((t) => t.toLowerCase().includes(query)))
      .sort((a, b) => b.time - a.time || (a.key < b.key ? -1 : 1));
    const limit = Math.max(0, Math.min(options.limit ?? 200, 1000));
    return { entries: found.slice(0, limit).map((e) => trailEntryView(index, e, this.shop?.id)), total: found.length };
  }

  /** The chain back from an event to its roots (the offer, the batch receipts, the request), breadth first, bounded. */
  async walkBack(ref: EventRef): Promise<{ steps: { key: string; ref: EventRef; depth: number; from?: string; entry?: TrailEntryView }[]; truncated: boolean }> {
    const { index } = await this.shopTrail();
    const { steps, truncated } = index.walkBack(ref);
    return { steps: steps.map(({ entry, ...step }) => (entry ? { ...step, entry: trailEntryView(index, entry, this.shop?.id) } : step)), truncated };
  }

  /** The shop's trail of a period (seconds, from inclusive, to exclusive) as a self-verifying JSON file (docs/trade.md). */
  async exportTrail(from: number, to: number): Promise<string> {
    const shop = this.shop;
    if (!shop) throw new InputError('shop', 'Create your shop first');
    if (!Number.isFinite(from) || !Number.isFinite(to) || from > to) throw new InputError('Period', 'Choose a first day on or before the last day');
    const vaults = await this.trailVaults();
    const index = indexTrail(vaults);
    const keys = shopTrail(index, vaultPrefix(shop.id));
    const involved = new Set([shop.id, ...[...keys].map((key) => index.entries.get(key)!.vaultId)]);
    const sources: TrailSource[] = [];
    for (const vault of vaults) {
      if (!involved.has(vault.vaultId)) continue;
      const encoding = await this.store.encoding(vault.vaultId);
      if (!encoding) throw new Error(`The vault of ${vault.content.profile.name} is not available right now; try again`);
      sources.push({ ...vault, document: encoding.bytes, statements: encoding.statements, revocations: this.store.revocationsOf(vault.vaultId) });
    }
    return exportTrail({ from, to }, sources, { shop: shop.id, exportedAt: Math.floor(this.clock.now() / 1000), include: (entry) => keys.has(entry.key) });
  }

  /** Checks a trail file with the public keys in it alone. */
  verifyTrail(text: string): TrailVerdict {
    return verifyTrailExport(text);
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private packageService(chunkStore: ChunkStore, blake3: Blake3): PackageService {
    return new PackageService({
      clock: this.clock,
      storage: this.storage,
      chunkStore,
      blake3,
      sessions: () => [...this.sessions].filter((s) => s.remote !== undefined),
      isOwnDevice: (session) => this.isOwnDevice(session),
      offence: (session, reason) => this.offence(session, reason),
      changed: () => this.changed(),
      write: (writes) => this.write(writes),
      vaultIds: () => this.attachmentVaults(),
      attachmentsIn: (vaultId) => this.attachmentsIn(vaultId),
      recordAttachment: (record, remove) =>
        this.editShop(
          (draft) => {
            if (!remove && !draft.products.has(record.productId)) throw new InputError('file', 'That product no longer exists');
            draft.setFile(toHex(record.manifest.root), remove ? null : encodeAttachment(record));
            return { result: undefined, touched: [] };
          },
          (shared) => {
            const root = toHex(record.manifest.root);
            if (record.shared && !remove) {
              if (!shared.files) shared.files = {};
              shared.files[root] = encodeAttachment(record);
            } else if (shared.files && root in shared.files) delete shared.files[root];
          },
        ),
      hasProduct: (productId) => this.shop?.products.has(productId) ?? false,
      vaultBytes: () => [...this.store.all()].reduce((sum, r) => sum + r.bytes, 0),
    });
  }

  private attachmentOf(hex: string): AttachmentRecord | null {
    let record = this.attachmentCache.get(hex);
    if (record === undefined) {
      try {
        record = decodeAttachment(fromHex(hex));
      } catch {
        record = null;
      }
      if (this.attachmentCache.size > 20_000) this.attachmentCache.clear();
      this.attachmentCache.set(hex, record);
    }
    return record;
  }

  /** Vault ids whose attachments the node knows: the own shop first. */
  private *attachmentVaults(): Iterable<string> {
    if (this.shop) yield this.shop.id;
    for (const vault of this.store.all()) if (vault.id !== this.shop?.id) yield vault.id;
  }

  /** One vault's attachments, indexed once per version of its content (the own shop's from its private document). */
  private attachmentsIn(vaultId: string): VaultAttachments | undefined {
    const own = vaultId === this.shop?.id;
    const source: object | undefined = own ? this.shop!.privateDoc : this.store.cachedContent(vaultId);
    if (!source) return undefined;
    const cached = this.attachmentIndex.get(vaultId);
    if (cached && cached.source === source) return cached.index;
    const encoded = own ? Object.values(this.shop!.privateDoc.files ?? {}).map((bytes) => toHex(bytes)) : ((source as VaultContent).files ?? []);
    const records: AttachmentRecord[] = [];
    for (const hex of encoded) {
      const record = this.attachmentOf(hex);
      if (record) records.push(record);
    }
    const index = indexAttachments(records, own);
    if (this.attachmentIndex.size > 4096) this.attachmentIndex.clear();
    this.attachmentIndex.set(vaultId, { source, index });
    return index;
  }

  receivePackage(session: SyncSession, message: PackageMessage): void {
    this.packages.receive(session, message);
  }

  private tradeDesk(): TradeDesk {
    return new TradeDesk({
      clock: this.clock,
      randomBytes: (n) => this.random(n),
      shop: () => {
        const shop = this.shop;
        return shop && this.revokedAt === null ? { id: shop.id, deviceKey: shop.deviceKey, rootDevice: shop.isRootDevice, content: shop.content, products: shop.products } : undefined;
      },
      carried: () => this.carriedContent(),
      rules: () => this.settings.trade ?? DEFAULT_TRADE_RULES,
      busy: () => this.acceptance.size > 0,
      trusted: (id) => this.trusted(id),
      met: (id) => this.metShops.has(id),
      edit: (edit, shareEdit) => this.editShop(edit, shareEdit),
      refuse: (where, reason) => this.refuse(where, reason),
      changed: () => this.changed(),
      closed: () => this.closed,
    });
  }

  private deliveryDesk(): DeliveryDesk {
    return new DeliveryDesk({
      clock: this.clock,
      randomBytes: (n) => this.random(n),
      shop: () => {
        const shop = this.shop;
        return shop && this.revokedAt === null ? { id: shop.id, deviceKey: shop.deviceKey, content: shop.content } : undefined;
      },
      contentOf: (id) => (id === this.shop?.id ? this.shop.content : this.store.cachedContent(id)),
      index: () => this.trade.currentIndex(),
      reservation: (request) => this.trade.reservation(request),
      reservations: () => this.trade.reservations(),
      edit: (check, shareEdit) =>
        this.editShop(() => {
          check();
          return { result: undefined, touched: [] };
        }, shareEdit),
      refuse: (where, reason) => this.refuse(where, reason),
      closed: () => this.closed,
      trusted: (id) => this.trusted(id),
      met: (id) => this.metShops.has(id),
    });
  }

  private *carriedContent(): Iterable<{ id: string; content: VaultContent | undefined }> {
    for (const record of this.store.all()) if (record.id !== this.shop?.id) yield { id: record.id, content: this.store.cachedContent(record.id) };
  }

  private changed(): void {
    this.trade?.nodeChanged();
    this.deliveries?.nodeChanged();
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
    this.trade?.close();
    this.deliveries?.close();
    this.cancelRetry?.();
    this.cancelWarm?.();
    this.cancelDayTurn?.();
    this.packages?.close();
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
      .flatMap((r) => r.statements)
      .slice(0, MAX_ANNOUNCED_ON_LINK);
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
    this.noteMet(session);
    if (this.isOwnDevice(session)) this.sendPrivate(session);
    if (this.pairing?.role === 'joining') this.askToJoin(session);
    this.packages.sessionReady(session);
    this.changed();
    return true;
  }

  /** Shops whose own device proved itself on a link to this node (bounded, oldest dropped first): met, not only heard of. */
  private readonly metShops = new Set<string>();
  private noteMet(session: SyncSession): void {
    const shop = session.remote?.shopVaultId;
    if (!shop || this.metShops.has(shop)) return;
    if (this.metShops.size >= 4096) this.metShops.delete(this.metShops.values().next().value!);
    this.metShops.add(shop);
  }

  shopClaimed(session: SyncSession): void {
    this.noteMet(session);
    if (this.isOwnDevice(session)) this.sendPrivate(session);
    if (this.pairing?.role === 'joining') this.askToJoin(session);
    this.changed();
  }

  sessionClosed(session: SyncSession): void {
    this.privateSync.delete(session);
    if (session.remote && this.isOwnDeviceId(session.remote)) this.deviceSeen.set(session.remote.nodeId, this.clock.now());
    this.closedTraffic.bytesIn += session.bytesIn;
    this.closedTraffic.bytesOut += session.bytesOut;
    this.sessions.delete(session);
    this.requests.untrack(session);
    this.packages.sessionClosed(session);
    this.changed();
  }

  private refuse(peer: string, reason: string): void {
    this.refusals.unshift({ at: this.clock.now(), peer, reason });
    this.refusals.length = Math.min(this.refusals.length, MAX_REFUSALS_KEPT);
    this.changed();
  }

  private sessionOrigin(session: SyncSession): ChangesOrigin {
    return { label: session.label, peer: session.remote!.nodeId, session };
  }

  /** An offence by where changes came from: a proven peer is charged; a radio sender (unproven) only refused. */
  private originOffence(origin: ChangesOrigin, reason: string): void {
    if (origin.session) this.offence(origin.session, reason);
    else if (!origin.quiet) this.refuse(origin.label, reason);
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

  /** Runs a signature check once per distinct thing signed, remembering genuine ones (bounded, least recently used dropped first). */
  private checkOnce(key: string, check: () => string | undefined): string | undefined {
    if (this.verified.has(key)) {
      this.verified.delete(key);
      this.verified.set(key, true);
      return undefined;
    }
    const problem = check();
    if (problem) return problem;
    this.verified.set(key, true);
    for (const old of this.verified.keys()) {
      if (this.verified.size <= MAX_VERIFIED_KEPT) break;
      this.verified.delete(old);
    }
    return undefined;
  }

  /**
   * Verifies statements through the platform's native Ed25519 (WebCrypto, several at once) before
   * acceptance, so acceptance finds them in the cache instead of verifying with the JavaScript
   * fallback one by one. Anything that does not verify here is left to the synchronous check,
   * which refuses it with its reason.
   */
  private async preverify(statements: readonly SignedHeads[]): Promise<void> {
    const pending = statements.filter((s) => !this.verified.has(toHex(encodeSignedHeads(s))));
    if (!pending.length) return;
    const verifier = await (this.verifier ??= createSignatureVerifier());
    const items = pending.flatMap((s) => [
      { signature: s.certificate.signature, message: deviceCertificateStatement(s.certificate.vaultId, s.certificate.devicePublicKey, s.certificate.issuedAt), publicKey: s.certificate.vaultId },
      { signature: s.signature, message: signedHeadsStatement(s.vaultId, s.counter, s.heads), publicKey: s.certificate.devicePublicKey },
    ]);
    const answers = await verifier.verifyMany(items);
    pending.forEach((statement, i) => {
      if (!answers[2 * i] || !answers[2 * i + 1]) return;
      // Both signatures hold: the rest of the checks (keys, heads, counter) run here, without verifying again.
      if (checkSignedHeads(statement, false, () => true)) return;
      const certificate = toHex(encodeDeviceCertificate(statement.certificate));
      this.checkOnce(certificate, () => undefined);
      // The same root signature as acceptance asks for it when it reads the vault's device list.
      this.checkOnce(`certificate:${certificate}`, () => undefined);
      this.checkOnce(toHex(encodeSignedHeads(statement)), () => undefined);
    });
  }

  private verifier: Promise<SignatureVerifier> | undefined;

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
    // Newer statements this node holds of what the peer announced: sent back in one announcement.
    const peerBehind = new Set<SignedHeads>();
    const unverified: { statement: SignedHeads; id: string; version: number }[] = [];
    for (const statement of statements) {
      const id = toHex(statement.vaultId);
      const device = deviceOf(statement);
      if (id === this.shop?.id && device === this.shop.deviceKey) continue; // Only this device signs its own statements.
      const local = this.store.get(id);
      const held = local && statementOf(local.statements, device);
      if (held && statement.counter <= held.counter) {
        if (statement.counter < held.counter) peerBehind.add(held);
        else if (!sameHeads(statement.heads, held.heads)) this.noteEquivocation(session, peer, statement);
        continue;
      }
      const revoked = this.store.revocationsOf(id).map((hex) => decodeDeviceRevocation(fromHex(hex))).find((r) => toHex(r.devicePublicKey) === device);
      if (revoked && !revokedStatementStands(revoked, statement.counter, statement.heads)) continue; // A revoked device's later word: not fetched.
      const version = versionWith(local?.statements ?? [], statement);
      if (this.requests.announcedCounter(session, id) >= version) continue;
      if (!this.requests.canRemember(session, id)) continue;
      // A vault this node does not carry costs the peer one of its new-vault allowance; beyond that it
      // is noted unverified, and fetched (and verified on acceptance) only if the allowance refills.
      if (!local && this.standingOf(id) === 'other' && !this.requests.admit(session, id)) {
        this.requests.announce(session, id, version);
        continue;
      }
      // Verifying costs CPU: a peer gets a budget of it; beyond, its announcements wait for the next link.
      if (!this.policy.take(peer, 'verifications')) break;
      if (this.verified.has(toHex(encodeSignedHeads(statement)))) this.takeAnnounced(session, statement, id, version);
      else unverified.push({ statement, id, version });
    }
    if (peerBehind.size) session.announce([...peerBehind]);
    if (!unverified.length) return;
    // Verified together through the platform's native Ed25519 first (a gossip burst of many
    // vaults costs little), then judged one by one: what did not verify is refused with its reason.
    void this.preverify(unverified.map((u) => u.statement))
      .catch(() => {})
      .then(() => {
        for (const { statement, id, version } of unverified) {
          if (!this.sessions.has(session) || session.closedReason !== undefined) return;
          this.takeAnnounced(session, statement, id, version);
        }
      });
  }

  /** A statement a peer announced, within its budget: checked (from the cache when preverified), then noted and fetched. */
  private takeAnnounced(session: SyncSession, statement: SignedHeads, id: string, version: number): void {
    const problem = this.checkStatement(statement);
    if (problem) {
      this.offence(session, `heads for vault ${id.slice(0, 8)} refused: ${problem}`);
      return;
    }
    this.requests.announce(session, id, version);
    this.requests.request(id);
  }

  /**
   * The same counter with other heads: if the device really signed both, it is showing different
   * versions to different peers. Said once per device and counter, where the merchant sees
   * refusals; the version held first is kept until the device signs a newer one.
   */
  private noteEquivocation(session: SyncSession, peer: string, statement: SignedHeads): void {
    const key = `${toHex(statement.vaultId)}:${deviceOf(statement)}:${statement.counter}`;
    if (this.equivocations.has(key) || !this.policy.take(peer, 'verifications')) return;
    if (this.checkStatement(statement)) return; // Not genuinely signed: nothing to say.
    if (this.equivocations.size >= MAX_REFUSALS_KEPT) this.equivocations.clear();
    this.equivocations.add(key);
    const name = this.store.get(toHex(statement.vaultId))?.name ?? '';
    this.refuse(
      session.label,
      `shop ${name} (${shopFingerprint(toHex(statement.vaultId))}): device ${deviceOf(statement).slice(0, 8)} signed two different versions numbered ${statement.counter}; keeping the first`,
    );
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
          bundle = { type: 'changes', statements: record.statements, revocations: record.revocations.map(fromHex), snapshot: false, changes };
        }
      }
    }
    if (!bundle) {
      const encoding = await this.store.encoding(id);
      if (!encoding) {
        session.send({ type: 'refusal', code: RefusalCode.busy, vaultId, reason: 'vault changed while answering; ask again' });
        return;
      }
      bundle = { type: 'changes', statements: encoding.statements, revocations: record.revocations.map(fromHex), snapshot: true, changes: [encoding.bytes] };
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
    const id = toHex(message.statements[0]!.vaultId);
    const short = id.slice(0, 8);
    if (!this.sessions.has(session) || !session.remote) return Promise.resolve();
    if (!this.requests.answered(session, id)) {
      this.offence(session, `changes for vault ${short} refused: never asked for`);
      return Promise.resolve();
    }
    // The shop's own vault, from its other devices: merged in the queue of the merchant's edits.
    if (id === this.shop?.id) return this.serial(() => this.takeOwnChanges(this.sessionOrigin(session), message)).then(() => {}).finally(() => this.requests.askMore(session));
    // Partners' vaults first, then updates of vaults already carried, then vaults new to this node.
    const priority = this.standingOf(id) === 'partner' ? 0 : this.store.has(id) ? 1 : 2;
    return this.acceptance.run(priority, () => this.takeChanges(this.sessionOrigin(session), message)).then(() => {}).finally(() => this.requests.askMore(session));
  }

  private acceptanceOptions(): AcceptanceOptions {
    return {
      limits: VAULT_LIMITS,
      checkStatement: (s) => this.checkStatement(s),
      checkRootSigned: (kind, encoded, check) => this.checkOnce(`${kind}:${encoded}`, check),
    };
  }

  /** Another device of this shop signed a newer version of the shared vault: verified like any peer's, then merged. */
  private async takeOwnChanges(origin: ChangesOrigin, message: Extract<SyncMessage, { type: 'changes' }>): Promise<TakeOutcome> {
    const shop = this.shop;
    if (!shop) return { taken: false, reason: 'no shop on this node', offence: false };
    const id = shop.id;
    // The shop's root revoked this device: say so, and sign nothing more.
    for (const encoded of message.revocations ?? []) {
      try {
        const revocation = decodeDeviceRevocation(encoded);
        if (toHex(revocation.devicePublicKey) !== shop.deviceKey || this.revokedAt !== null) continue;
        if (checkDeviceRevocation(revocation, shop.keys.vaultId)) continue;
        this.revokedAt = revocation.revokedAt;
        this.refuse('shop', 'This device was removed from the shop by its first device: its changes from now on are not accepted by anyone.');
        this.changed();
      } catch {
        // Acceptance below refuses what does not decode.
      }
    }
    const current: VerifiedVault = { doc: shop.doc, statements: shop.statements, content: shop.content, ops: shop.cost.ops, revocations: this.ownRevocations() };
    const outcome = acceptBundle(current, message, this.acceptanceOptions());
    if (!outcome.accepted) {
      if (origin.session) this.requests.notTaken(origin.session, id);
      if (outcome.offence) this.originOffence(origin, `changes for this shop refused: ${outcome.reason}`);
      else if (!origin.quiet) this.refuse(origin.label, `changes for this shop not taken: ${outcome.reason}`);
      return { taken: false, reason: outcome.reason, offence: outcome.offence };
    }
    const now = this.clock.now();
    const adopted = shop.adoptShared(outcome.vault.doc, outcome.vault.statements, outcome.vault.content);
    // This device vouches for what it took: its own statement covers the merged heads, so another
    // device's words it took stand even if that device is revoked later at an earlier statement.
    const ownHeads = shop.ownStatement?.heads ?? [];
    if (this.revokedAt === null && !sameHeads(A.getHeads(adopted.doc), ownHeads)) {
      const vouch = signHeads(shop.keys.device, shop.keys.certificate, (shop.ownStatement?.counter ?? 0) + 1, A.getHeads(adopted.doc));
      adopted.statements = mergeStatements(adopted.statements, [vouch]).statements;
    }
    const own = this.store.ownVaultWrites(id, adopted, { ops: outcome.vault.ops, bytes: outcome.canonical.length }, now);
    try {
      await this.write([...adopted.writes, ...own.writes]);
    } catch (error) {
      this.refuse('storage', `could not save this shop's version from ${origin.label}: ${describe(error)}`);
      await this.reloadShop();
      return { taken: false, reason: `could not save: ${describe(error)}`, offence: false };
    }
    shop.commitShared(adopted);
    this.store.commitOwn(own.record, adopted.content, adopted.doc);
    this.warmOwnEncoding();
    this.requests.taken(id);
    this.rememberVersion(id, A.getHeads(adopted.doc));
    this.broadcast(adopted.statements, origin.session);
    this.changed();
    return { taken: true };
  }

  private async takeChanges(origin: ChangesOrigin, message: Extract<SyncMessage, { type: 'changes' }>): Promise<TakeOutcome> {
    const id = toHex(message.statements[0]!.vaultId);
    const short = id.slice(0, 8);
    const { peer, session } = origin;
    const notTaken = () => {
      if (session) this.requests.notTaken(session, id);
    };
    const record = this.store.get(id);
    let current: VerifiedVault | undefined;
    if (record) {
      const newer = message.statements.some((s) => s.counter > (statementOf(record.statements, deviceOf(s))?.counter ?? 0));
      if (!newer) return { taken: false, reason: 'not newer than the version held', offence: false, stale: true }; // Another peer was quicker.
      const [doc, content] = await Promise.all([this.store.doc(id), this.store.content(id)]);
      if (!doc || !content || this.store.get(id) !== record) {
        this.refuse('storage', `vault ${short} could not be read back; asked again`);
        notTaken();
        return { taken: false, reason: 'could not read the vault back', offence: false };
      }
      current = { doc, content, statements: record.statements, ops: record.ops, revocations: record.revocations };
    }
    // Work and storage are charged once known; a peer already over its budget waits.
    if (this.policy.available(peer, 'ops') < 1 || (!current && this.policy.available(peer, 'vaultBytes') < 1)) {
      this.refuse(origin.label, `vault ${short} from ${origin.label} deferred: over its budget`);
      notTaken();
      return { taken: false, reason: 'over the sender’s budget', offence: false };
    }
    await this.preverify(message.statements);
    // A vault dropped for a revocation keeps it: what it refuses is never taken again.
    const kept = current ? [] : this.store.revocationsOf(id);
    const outcome = acceptBundle(current, kept.length ? { ...message, revocations: [...(message.revocations ?? []), ...kept.map(fromHex)] } : message, this.acceptanceOptions());
    if (!outcome.accepted) {
      if (outcome.dropHeld) {
        // A revocation this node had not seen: what it held is no longer valid. The version that
        // proved it replaces it if it stands alone; else the copy is dropped (its revocations kept) and fetched anew.
        this.refuse(origin.label, `vault ${short}: ${outcome.reason}; the copy held is replaced`);
        const alone = message.snapshot
          ? acceptBundle(undefined, { ...message, revocations: [...(message.revocations ?? []), ...record!.revocations.map(fromHex)] }, this.acceptanceOptions())
          : undefined;
        if (alone?.accepted) {
          await this.store.drop(id).catch(() => {});
          await this.store.saveAccepted(id, alone.vault, alone.canonical, this.clock.now()).catch((error) => this.refuse('storage', `could not save vault ${short}: ${describe(error)}`));
          this.recent.delete(id);
          this.requests.taken(id);
          this.broadcast(alone.vault.statements, session);
          this.changed();
          return { taken: true };
        }
        await this.store.drop(id).catch((error) => this.refuse('storage', `could not drop vault ${short}: ${describe(error)}`));
        this.recent.delete(id);
        this.requests.askAgain(id);
        return { taken: false, reason: outcome.reason, offence: false };
      }
      notTaken();
      if (outcome.offence) this.originOffence(origin, `changes for vault ${short} refused: ${outcome.reason}`);
      else if (!origin.quiet) this.refuse(origin.label, `changes for vault ${short} not taken: ${outcome.reason}`);
      return { taken: false, reason: outcome.reason, offence: outcome.offence };
    }
    try {
      const evicted = await this.store.saveAccepted(id, outcome.vault, outcome.canonical, this.clock.now());
      for (const gone of evicted) {
        this.recent.delete(gone.id);
        this.requests.evictedVault(gone.id, gone.counter);
      }
    } catch (error) {
      // This node's own failure (a full disk): the peer is not charged for it.
      this.refuse('storage', `could not save vault ${short} from ${origin.label}: ${describe(error)}`);
      return { taken: false, reason: `could not save: ${describe(error)}`, offence: false };
    }
    // A whole document costs all the operations it loads; changes, only those they add, plus the
    // packed offer sets every version is read from again (a kilobyte counted as an operation).
    const packedWork = Math.ceil(outcome.vault.content.packedBytes / 1024);
    this.policy.charge(peer, 'ops', message.snapshot ? outcome.vault.ops : Math.max(1, outcome.vault.ops - (current?.ops ?? 0)) + packedWork);
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
    this.rememberVersion(id, A.getHeads(outcome.vault.doc));
    this.broadcast(outcome.vault.statements, session);
    this.changed();
    this.requests.request(id);
    return { taken: true };
  }

  /** Tells every proven session (but `except`) about new signed heads. */
  private broadcast(statements: SignedHeads[], except?: SyncSession): void {
    for (const session of this.sessions) {
      if (session === except || !session.remote) continue;
      session.announce(statements);
    }
  }
}
