import * as A from '@automerge/automerge';
import type { KeyPair } from '../crypto/ed25519';
import type { StorageAdapter, StorageWrite } from '../storage/storage';
import { DocumentLog } from '../vault/documentLog';
import { createShopKeys, decodeShopKeys, encodeShopKeys, type ShopKeys } from '../vault/shopKeys';
import { signHeads, type SignedHeads } from '../vault/signedHeads';
import type { Batch, PrivateVaultDoc, Product, SharedVaultDoc } from '../vault/vaultDocuments';
import { readVaultContent, type VaultContent } from '../vault/vaultShape';
import { toHex } from '../wire/hex';
import { InputError } from '../inputError';
import { measureAutomerge, VAULT_LIMITS } from '../vault/automergeCost';
import { MAX_VAULT_BYTES } from '../vault/vaultLimits';
import { encodeDeviceCertificate } from '../vault/deviceCertificate';
import { mergeStatements, statementOf } from '../vault/vaultVersion';
import {
  deleteProduct,
  moveStock,
  packProducts,
  readProducts,
  recountStock,
  roundQuantity,
  stockMovesByProduct,
  writeProductFields, moveStockOnce } from '../catalog/productRecords';
import { offerFor, packOffers, rawOffers, writeOffer } from '../catalog/sharedOffers';
import { migrateShopDocuments } from './shopMigration';
import { batchStock, utcDay, type BatchStock } from '../catalog/fefo';
import { encodeMove, MoveLedger, type StockMove } from '../catalog/stockMoves';

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

/** The Automerge actor of a device: the first 16 bytes of its key, so every change names the device that made it. */
export function deviceActor(device: Uint8Array): string {
  return toHex(device).slice(0, 32);
}

/** How a device's stock moves are filed ("productId/device"). */
export function deviceMoveKey(device: Uint8Array): string {
  return toHex(device).slice(0, 16);
}

/** What an edit may do to the catalog, inside one change of the private document. */
export interface CatalogDraft {
  /** The products as of now, this edit's changes included. */
  readonly products: ReadonlyMap<string, Product>;
  /** Adds a product or writes the fields that differ (stock moves through `move` or `recount`). */
  put(product: Product): void;
  /** Adds many new products as one packed set (an import): one operation, not one per field. */
  putMany(products: Product[], setId: string): void;
  remove(id: string): void;
  /** A sale or a delivery: counted, so moves on two devices add up. */
  move(id: string, delta: number): void;
  /** A move made once whichever device writes it, filed under `key16` (moveStockOnce); false if already there. */
  moveOnce(id: string, key16: string, delta: number): boolean;
  /** The stock is `counted` now. */
  recount(id: string, counted: number): void;
  setExactLocation(value: string): void;
  /** Writes an attachment's record (attachmentRecord.ts) under its root, or removes it (null). */
  setFile(root: string, record: Uint8Array | null): void;
  /** The UTC day of this edit (YYYY-MM-DD): what counts as expired. */
  readonly today: string;
  /** The device prefix moves are filed under (16 hex). */
  readonly device: string;
  /** A product's batches with what is left of each (this edit's moves included), FEFO order, and its unbatched stock. */
  stockOf(id: string): { batches: BatchStock[]; unbatched: number };
  /** Whether the history holds a move (this edit's included). */
  hasMove(id: string): boolean;
  /** A move of the history (this edit's included). */
  moveEntry(id: string): StockMove | undefined;
  /**
   * Writes one named move into the history under `moveId` (stockMoves.ts). Does not move stock:
   * the caller moves it in the same edit. False (and nothing written) when the id is taken, so a
   * caller-chosen id written twice is one entry.
   */
  recordMove(moveId: string, move: StockMove): boolean;
}

/** A proposed new state of the shop: documents, statements and the writes that record them. */
export interface ShopEdit<T> {
  result: T;
  privateDoc: A.Doc<PrivateVaultDoc>;
  products: Map<string, Product>;
  moveSums: Map<string, number>;
  /** Named moves this edit wrote, for the ledger once it commits. */
  newMoves: [string, StockMove][];
  doc: A.Doc<SharedVaultDoc>;
  statements: SignedHeads[];
  content: VaultContent;
  /** True when the shared document moved (a new statement to announce). */
  sharedChanged: boolean;
  /** True when the private document moved (changes for the shop's other devices). */
  privateChanged: boolean;
  cost: VaultCost;
  /** The last exact measure. */
  measured: VaultCost;
  writes: StorageWrite[];
}

/**
 * The shop this device belongs to: its keys (the device key is the node's own key), the private
 * catalog and the shared vault, each kept as a DocumentLog, and the statements of every device
 * of the shop. An edit is computed here — both documents changed, offers brought in line, heads
 * signed with this device's next counter, the shared content checked like any peer's — and
 * becomes the shop's state only once the node has written it (`commit`).
 */
export class OwnShop {
  private constructor(
    readonly keys: ShopKeys,
    readonly id: string,
    public privateDoc: A.Doc<PrivateVaultDoc>,
    readonly privateLog: DocumentLog,
    public doc: A.Doc<SharedVaultDoc>,
    readonly log: DocumentLog,
    public statements: SignedHeads[],
    public content: VaultContent,
    public products: Map<string, Product>,
    public moveSums: Map<string, number>,
    /** What the shared vault costs a peer (estimated from changes since the last exact measure). */
    public cost: VaultCost,
    /** The last exact measure. */
    public measured: VaultCost = cost,
  ) {
    this.ledger = MoveLedger.read(privateDoc.moves);
  }

  /** The named stock moves history, read (catalog/stockMoves.ts). */
  ledger: MoveLedger;

  /** A product's batches (stored ones and those received moves brought) with what is left of each, and its unbatched stock. */
  stockOf(product: Product, ledgers: readonly MoveLedger[] = [this.ledger]): { batches: BatchStock[]; unbatched: number } {
    return batchStock(batchesOf(product, ledgers), takenIn(product.id, ledgers), product.stock);
  }

  /** A product's batches: stored ones and those received moves brought. */
  batchesOf(product: Product): Batch[] {
    return batchesOf(product, [this.ledger]);
  }

  /** What the seller's accepted holds keep out of each product's offer (the trade desk's holds). */
  heldOf: (productId: string) => number = () => 0;

  /** The shared offer of a product as of `today`: expired stock and what is held left out. */
  offerOf(product: Product, today: string, ledgers: readonly MoveLedger[] = [this.ledger]): ReturnType<typeof offerFor> {
    return offerFor(product, today, product.offer ? this.heldOf(product.id) : 0, this.stockOf(product, ledgers));
  }

  get deviceKey(): string {
    return toHex(this.keys.device.publicKey);
  }

  get isRootDevice(): boolean {
    return this.keys.root !== undefined;
  }

  /** This device's own latest statement, if it made one. */
  get ownStatement(): SignedHeads | undefined {
    return statementOf(this.statements, this.deviceKey);
  }

  get exactLocation(): string {
    return plainText(this.privateDoc.exactLocation);
  }

  /** A new shop: keys certified by a fresh root key, both documents, and the writes that save them. */
  static create(
    device: KeyPair,
    profile: { name: string; area: string; currency: string; role?: 'supplier' | 'driver' },
    exactLocation: string,
    now: number,
    deviceName = 'First device',
  ): { shop: OwnShop; writes: StorageWrite[] } {
    const keys = createShopKeys(now, device);
    const actor = deviceActor(device.publicKey);
    const doc = A.from<SharedVaultDoc>(
      {
        schema: 2,
        profile: {
          name: new A.ImmutableString(profile.name),
          area: new A.ImmutableString(profile.area),
          currency: new A.ImmutableString(profile.currency),
          ...(profile.role ? { role: new A.ImmutableString(profile.role) } : {}),
        },
        devices: { [toHex(device.publicKey)]: { name: new A.ImmutableString(deviceName), certificate: encodeDeviceCertificate(keys.certificate) } },
        revocations: {},
        offerSets: {},
        offerFields: {},
        // Made with the shop, so a first trade step is one put (small enough for one radio packet).
        trade: {},
      },
      { actor },
    );
    const privateDoc = A.from<PrivateVaultDoc>(
      { schema: 2, exactLocation: new A.ImmutableString(exactLocation), productSets: {}, productFields: {}, stockMoves: {} },
      { actor },
    );
    return OwnShop.fromDocuments(keys, doc, privateDoc, []);
  }

  /**
   * A shop from its documents (a new shop, a migrated one, a device joining, a restored backup):
   * signs this device's first statement over them — numbered above any it signed before and
   * above `counterAbove` — and returns the writes that save everything.
   */
  static fromDocuments(
    keys: ShopKeys,
    doc: A.Doc<SharedVaultDoc>,
    privateDoc: A.Doc<PrivateVaultDoc>,
    statements: SignedHeads[],
    counterAbove = 0,
  ): { shop: OwnShop; writes: StorageWrite[] } {
    const id = toHex(keys.vaultId);
    const device = toHex(keys.device.publicKey);
    const counter = Math.max(statementOf(statements, device)?.counter ?? 0, counterAbove) + 1;
    const own = signHeads(keys.device, keys.certificate, counter, A.getHeads(doc));
    const merged = mergeStatements(statements, [own]).statements;
    const log = new DocumentLog(ownSharedPrefix(id));
    const privateLog = new DocumentLog(privatePrefix(id));
    const saved = A.save(doc);
    const shop = new OwnShop(
      keys,
      id,
      privateDoc,
      privateLog,
      doc,
      log,
      merged,
      readVaultContent(doc, keys.vaultId),
      readProducts(privateDoc),
      stockMovesByProduct(privateDoc),
      costOf(saved),
    );
    return {
      shop,
      writes: [
        { op: 'put', key: shopKeysKey, data: encodeShopKeys(keys) },
        ...log.snapshotWrites(saved, A.getHeads(doc)),
        ...privateLog.snapshotWrites(A.save(privateDoc), A.getHeads(privateDoc)),
      ],
    };
  }

  /**
   * The stored shop, or undefined if this node has none. A shop stored before devices (schema 1)
   * is migrated: `migrated` then holds the writes that save it in the new form. Throws if what is
   * stored is incomplete.
   */
  static async load(
    storage: StorageAdapter,
    statementsOf: (id: string) => SignedHeads[] | undefined,
  ): Promise<{ shop: OwnShop; migrated?: StorageWrite[] } | undefined> {
    const keyBytes = await storage.load(shopKeysKey);
    if (!keyBytes) return undefined;
    const keys = decodeShopKeys(keyBytes);
    const id = toHex(keys.vaultId);
    const privateLog = new DocumentLog(privatePrefix(id));
    const log = new DocumentLog(ownSharedPrefix(id));
    const actor = deviceActor(keys.device.publicKey);
    const privateDoc = await privateLog.load<PrivateVaultDoc>(storage);
    const doc = await log.load<SharedVaultDoc>(storage);
    if (!privateDoc || !doc) throw new Error('stored shop is incomplete: keys without its vault');
    if ((doc as { schema: number }).schema === 1 || (privateDoc as { schema: number }).schema === 1) {
      const migrated = migrateShopDocuments(keys, doc as never, privateDoc as never);
      // The old history is left behind: the new documents start at a counter above the old one.
      const oldCounter = (statementsOf(id) ?? []).reduce((max, s) => Math.max(max, s.counter), 0);
      const { shop, writes } = OwnShop.fromDocuments(keys, migrated.doc, migrated.privateDoc, [], oldCounter);
      return { shop, migrated: [{ op: 'deleteRange', prefix: ownSharedPrefix(id) }, { op: 'deleteRange', prefix: privatePrefix(id) }, ...writes] };
    }
    const statements = statementsOf(id);
    if (!statements?.length) throw new Error('stored shop is incomplete: no signed statements');
    const ownDoc = A.clone(doc, { actor });
    const ownPrivate = A.clone(privateDoc, { actor });
    return {
      shop: new OwnShop(
        keys,
        id,
        ownPrivate,
        privateLog,
        ownDoc,
        log,
        statements,
        readVaultContent(ownDoc, keys.vaultId),
        readProducts(ownPrivate),
        stockMovesByProduct(ownPrivate),
        costOf(A.save(ownDoc)),
      ),
    };
  }

  /**
   * Computes an edit without making it the shop's state. Automerge marks the documents it
   * changed as outdated, so after a failed write the caller reloads the shop from storage.
   */
  edit<T>(
    edit: (draft: CatalogDraft) => { result: T; touched: string[] },
    shareEdit: ((draft: SharedVaultDoc) => void) | undefined,
    now: number,
  ): ShopEdit<T> {
    let outcome: { result: T; touched: string[] } | undefined;
    const products = new Map(this.products);
    const moveSums = new Map(this.moveSums);
    const packed: { setId: string; products: Product[] }[] = [];
    const moveKey = deviceMoveKey(this.keys.device.publicKey);
    const time = Math.floor(now / 1000);
    const today = utcDay(now);
    const pending = new MoveLedger();
    const newMoves: [string, StockMove][] = [];
    const ledgers = [this.ledger, pending];
    const privateDoc = A.change(this.privateDoc, { time }, (draft) => {
      const catalog: CatalogDraft = {
        products,
        today,
        device: moveKey,
        stockOf: (id) => {
          const product = products.get(id);
          if (!product) throw new InputError('product', 'That product no longer exists');
          return this.stockOf(product, ledgers);
        },
        hasMove: (id) => this.ledger.has(id) || pending.has(id),
        moveEntry: (id) => this.ledger.get(id) ?? pending.get(id),
        recordMove: (moveId, move) => {
          if (this.ledger.has(moveId) || pending.has(moveId)) return false;
          const bytes = encodeMove(move);
          if (!draft.moves) draft.moves = {};
          draft.moves[moveId] = bytes;
          pending.add(moveId, move);
          newMoves.push([moveId, move]);
          return true;
        },
        put(product) {
          const before = products.get(product.id);
          writeProductFields(draft, before, product);
          if (before && before.stock !== product.stock) throw new InputError('Stock', 'stock moves through a move or a recount');
          products.set(product.id, { ...product, batches: product.batches.map((b) => ({ ...b })), offer: product.offer && { ...product.offer } });
        },
        putMany(list, setId) {
          if (list.some((p) => products.has(p.id))) throw new InputError('product', 'an imported product id is already in the catalog');
          draft.productSets[setId] = packProducts(list);
          for (const product of list) products.set(product.id, product);
          packed.push({ setId, products: list });
        },
        remove(id) {
          deleteProduct(draft, id);
          products.delete(id);
        },
        move(id, delta) {
          const product = products.get(id);
          if (!product) throw new InputError('product', 'That product no longer exists');
          moveStock(draft, id, moveKey, delta);
          moveSums.set(id, roundQuantity((moveSums.get(id) ?? 0) + delta));
          products.set(id, { ...product, stock: roundQuantity(product.stock + delta) });
        },
        moveOnce(id, key16, delta) {
          const product = products.get(id);
          if (!product) throw new InputError('product', 'That product no longer exists');
          if (!moveStockOnce(draft, id, key16, delta)) return false;
          moveSums.set(id, roundQuantity((moveSums.get(id) ?? 0) + delta));
          products.set(id, { ...product, stock: roundQuantity(product.stock + delta) });
          return true;
        },
        recount(id, counted) {
          const product = products.get(id);
          if (!product) throw new InputError('product', 'That product no longer exists');
          recountStock(draft, id, counted, moveSums.get(id) ?? 0);
          products.set(id, { ...product, stock: roundQuantity(counted) });
        },
        setExactLocation(value) {
          draft.exactLocation = new A.ImmutableString(value);
        },
        setFile(root, record) {
          if (record) {
            if (!draft.files) draft.files = {};
            draft.files[root] = record;
          } else if (draft.files && root in draft.files) delete draft.files[root];
        },
      };
      outcome = edit(catalog);
    });
    const { result, touched } = outcome!;
    const doc = this.sharedChange(products, touched, packed, shareEdit, time, today, ledgers);
    const privateChanged = privateDoc !== this.privateDoc && A.getHeads(privateDoc).join() !== A.getHeads(this.privateDoc).join();
    const { sharedWrites, ...signed } = this.sign(doc);
    return { ...signed, result, privateDoc, products, moveSums, newMoves, privateChanged, writes: [...(privateChanged ? this.privateLog.writesFor(privateDoc) : []), ...sharedWrites] };
  }

  /** The shared change that brings the offers of `touched` products in line, or the same document when none moved. */
  private sharedChange(
    products: ReadonlyMap<string, Product>,
    touched: readonly string[],
    packed: readonly { setId: string; products: Product[] }[],
    shareEdit: ((draft: SharedVaultDoc) => void) | undefined,
    time: number,
    today: string,
    ledgers: readonly MoveLedger[],
  ): A.Doc<SharedVaultDoc> {
    const current = rawOffers(this.doc);
    const inSets = new Set<string>();
    const doc = A.change(this.doc, { time }, (draft) => {
      shareEdit?.(draft);
      for (const set of packed) {
        const offers = set.products.map((p) => this.offerOf(p, today, ledgers)).filter((o) => o !== null);
        for (const p of set.products) inSets.add(p.id);
        if (offers.length) draft.offerSets[set.setId] = packOffers(offers);
      }
      for (const id of touched) {
        if (inSets.has(id)) continue;
        const product = products.get(id);
        writeOffer(draft, id, current.get(id), product ? this.offerOf(product, today, ledgers) : null);
      }
    });
    return doc;
  }

  /** Statements, content and cost of the shared document after a change (unchanged if it did not move). */
  private sign(doc: A.Doc<SharedVaultDoc>): Pick<ShopEdit<unknown>, 'doc' | 'statements' | 'content' | 'sharedChanged' | 'cost' | 'measured'> & { sharedWrites: StorageWrite[] } {
    const sharedChanged = doc !== this.doc && A.getHeads(doc).join() !== A.getHeads(this.doc).join();
    if (!sharedChanged) {
      return { doc: this.doc, statements: this.statements, content: this.content, sharedChanged: false, cost: this.cost, measured: this.measured, sharedWrites: [] };
    }
    let cost = this.cost;
    let measured = this.measured;
    for (const change of A.getChanges(this.doc, doc)) {
      const delta = costOf(change);
      cost = { ops: cost.ops + delta.ops, expandedBytes: cost.expandedBytes + delta.expandedBytes, bytes: cost.bytes + delta.bytes };
    }
    const past = (share: number, c: VaultCost) =>
      c.ops > VAULT_LIMITS.maxOps * share || c.expandedBytes > VAULT_LIMITS.maxExpandedBytes * share || c.bytes > MAX_VAULT_BYTES * share;
    const grown: VaultCost = { ops: cost.ops - this.measured.ops, expandedBytes: cost.expandedBytes - this.measured.expandedBytes, bytes: cost.bytes - this.measured.bytes };
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
    const content = readVaultContent(doc, this.keys.vaultId);
    const counter = (this.ownStatement?.counter ?? 0) + 1;
    const own = signHeads(this.keys.device, this.keys.certificate, counter, A.getHeads(doc));
    const statements = mergeStatements(this.statements, [own]).statements;
    return { doc, statements, content, sharedChanged: true, cost, measured, sharedWrites: this.log.writesFor(doc) };
  }

  /**
   * Another device's version of the shared vault, verified by acceptance: merged into this
   * device's document. Returns the writes that save it; `commitShared` once they landed.
   */
  adoptShared(doc: A.Doc<SharedVaultDoc>, statements: SignedHeads[], content: VaultContent): { doc: A.Doc<SharedVaultDoc>; statements: SignedHeads[]; content: VaultContent; writes: StorageWrite[] } {
    const merged = A.merge(A.clone(this.doc, { actor: deviceActor(this.keys.device.publicKey) }), doc);
    return { doc: merged, statements, content, writes: this.log.writesFor(merged) };
  }

  commitShared(adopted: { doc: A.Doc<SharedVaultDoc>; statements: SignedHeads[]; content: VaultContent }): void {
    this.doc = adopted.doc;
    this.statements = adopted.statements;
    this.content = adopted.content;
    this.cost = costOf(A.save(adopted.doc));
    this.measured = this.cost;
  }

  /** The private document after another device's changes: the writes that save it; `commitPrivate` once they landed. */
  adoptPrivate(privateDoc: A.Doc<PrivateVaultDoc>): { privateDoc: A.Doc<PrivateVaultDoc>; writes: StorageWrite[] } {
    return { privateDoc, writes: this.privateLog.writesFor(privateDoc) };
  }

  /** Takes the merged private document; returns the products whose wanted offer it moved. */
  commitPrivate(privateDoc: A.Doc<PrivateVaultDoc>, now: number): string[] {
    const today = utcDay(now);
    const was = this.products;
    const wasLedger = this.ledger;
    this.privateDoc = privateDoc;
    this.products = readProducts(privateDoc);
    this.moveSums = stockMovesByProduct(privateDoc);
    this.ledger = MoveLedger.read(privateDoc.moves, wasLedger);
    const moved: string[] = [];
    for (const id of new Set([...was.keys(), ...this.products.keys()])) {
      const before = was.get(id);
      const after = this.products.get(id);
      if (!before?.offer && !after?.offer) continue; // No offer either side: nothing shared moved.
      if (JSON.stringify(before ? this.offerOf(before, today, [wasLedger]) : null) !== JSON.stringify(after ? this.offerOf(after, today) : null)) moved.push(id);
    }
    return moved;
  }

  /** Offered products holding a batch that has expired by `today`: their offers may have to drop. */
  productsWithExpiredBatches(today: string): string[] {
    const ids: string[] = [];
    for (const product of this.products.values()) {
      if (!product.offer) continue;
      if (batchesOf(product, [this.ledger]).some((b) => b.expiresOn !== '' && b.expiresOn < today)) ids.push(product.id);
    }
    return ids;
  }

  /**
   * Of `among`, the products whose shared offer no longer matches the catalog (after another
   * device's edits merged). Only products the merge moved are considered: a shared offer that is
   * ahead of this device's catalog (another device's edit whose private half has not arrived yet)
   * is left alone, never put back.
   */
  offersOutOfStep(among: Iterable<string>, now: number): string[] {
    const today = utcDay(now);
    const current = rawOffers(this.doc);
    const ids: string[] = [];
    for (const id of new Set(among)) {
      const held = current.get(id);
      const product = this.products.get(id);
      const want = product ? this.offerOf(product, today) : null;
      const offered = held !== undefined && held.x !== 1;
      if (!want) {
        if (offered) ids.push(id);
        continue;
      }
      if (!offered || Object.entries(want).some(([k, v]) => held[k] !== v)) ids.push(id);
    }
    return ids;
  }

  commit(edit: ShopEdit<unknown>): void {
    this.privateDoc = edit.privateDoc;
    this.products = edit.products;
    this.moveSums = edit.moveSums;
    for (const [id, move] of edit.newMoves) this.ledger.add(id, move);
    this.doc = edit.doc;
    this.statements = edit.statements;
    this.content = edit.content;
    this.cost = edit.cost;
    this.measured = edit.measured;
  }
}

/** A product's batches: those stored on it and those received moves brought (by id; a received move's wins). */
function batchesOf(product: Product, ledgers: readonly MoveLedger[]): Batch[] {
  const received = ledgers.flatMap((l) => l.receivedEntries(product.id)).filter((r) => !ledgers.some((l) => l.undoneBy(r.move) !== null));
  if (!received.length) return product.batches;
  const ids = new Set(received.map((r) => r.batch.id));
  return [...product.batches.filter((b) => !ids.has(b.id)), ...received.map((r) => r.batch)];
}

function takenIn(productId: string, ledgers: readonly MoveLedger[]): ReadonlyMap<string, number> {
  if (ledgers.length === 1) return ledgers[0]!.taken(productId);
  const sum = new Map<string, number>();
  for (const ledger of ledgers) for (const [batch, quantity] of ledger.taken(productId)) sum.set(batch, roundQuantity((sum.get(batch) ?? 0) + quantity));
  return sum;
}

function plainText(value: unknown): string {
  return A.isImmutableString(value) ? (value as A.ImmutableString).val : String(value ?? '');
}
