import * as Comlink from 'comlink';
import { IndexedDbStorage } from '../src/browser/storage/indexedDbStorage';
import { OpfsChunkStore } from '../src/browser/storage/opfsChunkStore';
import { NODE_CHANGES_CHANNEL } from '../src/browser/nodeChannel';
import { StreamLink } from '../src/core/link/streamLink';
import type { ChunkStore } from '../src/core/packages/chunkStore';
import { handedOutType } from '../src/core/packages/mediaTypes';
import type { AttachmentInput, AttachmentKind, PackageApi, PackageSettings } from '../src/core/packages/packageView';
import { SoukNode } from '../src/core/node/soukNode';
import type { TradeRules } from '../src/core/node/tradeDesk';
import type { EventRef } from '../src/core/trade/tradeEvent';
import type { SyncSession } from '../src/core/sync/syncSession';
import { RadioHost, type RadioStreams } from '../src/browser/radio/radioHost';
import type { RadioConnection } from '../src/core/radio/radioView';

/**
 * The node as the UI and the leader tab see it through Comlink. Everything here is cloneable;
 * errors travel back as Errors with the merchant-facing message.
 */
export async function startNodeHost() {
  const storage = await IndexedDbStorage.open();
  const chunkStore: ChunkStore = await OpfsChunkStore.open();
  const node = await SoukNode.open({ storage, chunkStore });
  const packages: PackageApi = node.packages;
  const changes = new BroadcastChannel(NODE_CHANGES_CHANNEL);
  let pending: ReturnType<typeof setTimeout> | undefined;
  node.subscribe(() => {
    pending ??= setTimeout(() => {
      pending = undefined;
      changes.postMessage({ changedAt: node.view().changedAt });
    }, 25);
  });

  /** The node's radio: one sync engine for the node's life, a Meshtastic radio attached while one is connected. */
  const radio = new RadioHost(() => node.radioSource());

  let leaderEpoch = '';
  const sessions = new Map<SyncSession, string>();

  const api = {
    view: () => node.view(),
    products: (query?: string, limit?: number) => node.products(query, limit),
    marketplace: (query: string, limit?: number) => node.marketplace(query, limit),
    createShop: (input: Parameters<SoukNode['createShop']>[0]) => node.createShop(input),
    updateProfile: (input: Parameters<SoukNode['updateProfile']>[0]) => node.updateProfile(input),
    addProduct: (input: Parameters<SoukNode['addProduct']>[0]) => node.addProduct(input),
    importProducts: (rows: Parameters<SoukNode['importProducts']>[0], firstRowNumber?: number) => node.importProducts(rows, firstRowNumber),
    previewCatalogImport: (text: string) => node.previewCatalogImport(text),
    importCatalog: (text: string) => node.importCatalog(text),
    exportCatalog: () => node.exportCatalog(),
    startPairing: () => node.startPairing(),
    cancelPairing: () => node.cancelPairing(),
    joinShop: (code: string, deviceName: string) => node.joinShop(code, deviceName),
    devices: () => node.devices(),
    revokeDevice: (deviceKey: string) => node.revokeDevice(deviceKey),
    exportBackup: (passphrase: string, onProgress?: (share: number) => void) => node.exportBackup(passphrase, onProgress),
    restoreBackup: (file: Uint8Array, passphrase: string, deviceName?: string, onProgress?: (share: number) => void) =>
      node.restoreBackup(file, passphrase, deviceName, onProgress),
    updateProduct: (id: string, input: Parameters<SoukNode['updateProduct']>[1], offer?: Parameters<SoukNode['updateProduct']>[2]) =>
      node.updateProduct(id, input, offer),
    removeProduct: (id: string) => node.removeProduct(id),
    adjustStock: (id: string, delta: number) => node.adjustStock(id, delta),
    trail: (options?: Parameters<SoukNode['trail']>[0]) => node.trail(options),
    walkBack: (ref: Parameters<SoukNode['walkBack']>[0]) => node.walkBack(ref),
    exportTrail: (from: number, to: number) => node.exportTrail(from, to),
    verifyTrail: (text: string) => node.verifyTrail(text),
    // Named stock moves, batches and the counter (catalog/stockMoves.ts, catalog/fefo.ts).
    stockMove: (productId: string, input: Parameters<SoukNode['stockMove']>[1]) => node.stockMove(productId, input),
    sellAtCounter: (input: Parameters<SoukNode['sellAtCounter']>[0]) => node.sellAtCounter(input),
    undoMove: (moveId: string) => node.undoMove(moveId),
    stockHistory: (filter?: Parameters<SoukNode['stockHistory']>[0]) => node.stockHistory(filter),
    daySales: (day?: string, utcOffsetMinutes?: number) => node.daySales(day, utcOffsetMinutes),
    productStock: (productId: string) => node.productStock(productId),
    /**
     * Receives a batch; an invoice picked as a file is first attached to the product as one of the
     * shop's own files (not shared) and the batch names its root.
     */
    receiveBatch: async (
      productId: string,
      input: Omit<Parameters<SoukNode['receiveBatch']>[1], 'invoice'> & { invoiceHash?: string; invoiceFile?: Blob },
    ) => {
      const { invoiceHash, invoiceFile, ...rest } = input;
      let invoice: Parameters<SoukNode['receiveBatch']>[1]['invoice'];
      if (invoiceFile) invoice = { file: (await packages.attach(productId, blobInput(invoiceFile), { kind: 'file', shared: false })).root };
      else if (invoiceHash?.trim()) invoice = { hash: invoiceHash };
      return node.receiveBatch(productId, { ...rest, ...(invoice ? { invoice } : {}) });
    },
    setOffer: (id: string, offer: Parameters<SoukNode['setOffer']>[1]) => node.setOffer(id, offer),
    updateSettings: (settings: Parameters<SoukNode['updateSettings']>[0]) => node.updateSettings(settings),
    /** Marks a shop as one the merchant knows and trusts, or takes the mark away. */
    setTrusted: (vaultId: string, trusted: boolean) => node.setTrusted(vaultId, trusted),
    /** Reservations (tradeDesk.ts): the buyer's requests and the seller's answers, holds and sales. */
    reserve: (sellerVaultId: string, productId: string, quantity: number, note?: string) => node.reserve(sellerVaultId, productId, quantity, note),
    cancelReservation: (request: EventRef, reason?: string) => node.cancelReservation(request, reason),
    answerReservation: (request: EventRef, accept: boolean, reason?: string) => node.answerReservation(request, accept, reason),
    fulfilReservation: (request: EventRef) => node.fulfilReservation(request),
    messageReservation: (request: EventRef, text: string) => node.messageReservation(request, text),
    reservations: () => node.reservations(),
    setTradeRules: (rules: TradeRules) => node.setTradeRules(rules),
    // Deliveries (deliveryDesk.ts): times in seconds; `ref` is a delivery request, `request` a reservation.
    deliveryBoard: () => node.deliveryBoard(),
    deliveryList: () => node.deliveryList(),
    announceCapacity: (input: Parameters<SoukNode['announceCapacity']>[0]) => node.announceCapacity(input),
    answerDelivery: (ref: EventRef, accept: boolean, reason?: string) => node.answerDelivery(ref, accept, reason),
    reportPickedUp: (ref: EventRef) => node.reportPickedUp(ref),
    reportDelivered: (ref: EventRef) => node.reportDelivered(ref),
    proposedDrivers: (request: EventRef, deliverBy?: number) => node.proposedDrivers(request, deliverBy),
    requestDelivery: (request: EventRef, options?: { driver?: string; deliverBy?: number }) => node.requestDelivery(request, options),
    /** Files attached to products and offers (PackageApi), with the page's Files and Blobs. */
    packages: Comlink.proxy({
      /**
       * Attaches a file the page picked: a File or Blob (cloned by reference, read here slice by
       * slice, never whole). `name` overrides the file's own (a folder's relative path); a photo
       * brings its thumbnail, made in the page.
       */
      attach: async (
        productId: string,
        file: Blob,
        options: { kind: AttachmentKind; shared: boolean; name?: string; thumbnail?: Blob; thumbnailName?: string },
        onProgress?: (done: number, total: number) => void,
      ) => {
        try {
          return await packages.attach(
            productId,
            blobInput(file, options.name),
            {
              kind: options.kind,
              shared: options.shared,
              ...(options.thumbnail ? { thumbnail: blobInput(options.thumbnail, options.thumbnailName ?? 'thumbnail') } : {}),
            },
            onProgress && ((done: number, total: number) => pageCallback(() => onProgress(done, total))),
          );
        } finally {
          (onProgress as Partial<Comlink.Remote<unknown>> | undefined)?.[Comlink.releaseProxy]?.();
        }
      },
      detach: (productId: string, root: string) => packages.detach(productId, root),
      attachmentsOf: (productId: string) => packages.attachmentsOf(productId),
      offerAttachments: (vaultId: string, productId: string) => packages.offerAttachments(vaultId, productId),
      fetch: (root: string) => packages.fetch(root),
      progress: (root: string) => packages.progress(root),
      downloads: () => packages.downloads(),
      cancel: (root: string) => packages.cancel(root),
      chunksOf: (root: string) => packages.chunksOf(root),
      storageUse: () => packages.storageUse(),
      freeCachedFiles: () => packages.freeCachedFiles(),
      settings: () => packages.settings(),
      updateSettings: (settings: Partial<PackageSettings>) => packages.updateSettings(settings),
    }),

    /**
     * A complete package as one Blob made of its chunks' storage-backed Blobs: nothing is read
     * into memory, and the page gets it by reference (to open, show or save).
     */
    async packageBlob(root: string, mediaType: string): Promise<Blob> {
      const hashes = packages.chunksOf(root);
      if (!hashes) throw new Error('This file is not complete on this device yet.');
      const parts = await Promise.all(hashes.map((hash) => chunkStore.blob(hash)));
      if (parts.some((part) => part === undefined)) throw new Error('Part of this file is no longer on this device; fetch it again.');
      // Typed as the listing the merchant acted on says (a root may be listed under several types),
      // and never as a type that could run in the app's origin (HTML, SVG…): plain bytes then.
      return new Blob(parts as Blob[], { type: handedOutType(mediaType) });
    },

    /**
     * The radio (Meshtastic LoRa). The page that owns the radio (it opened the serial port, the
     * Bluetooth device or the simulated one) transfers its byte streams here with Comlink.transfer.
     */
    radio: Comlink.proxy({
      status: () => radio.status(),
      connect: (connection: RadioConnection, streams: RadioStreams) => radio.connect(connection, streams),
      disconnect: () => radio.disconnect(),
      pause: (paused: boolean) => radio.pause(paused),
      queue: () => radio.queue(),
      markUrgent: (id: string) => radio.markUrgent(id),
    }),

    /** The leader tab's signaling client proves this node's id to the server with this. */
    proveSignalingJoin: (challenge: Uint8Array, room: string) => node.proveSignalingJoin(challenge, room),

    /** A tab took the links lock: links handed over by any earlier leader are closed. */
    becomeLeader(epoch: string): void {
      leaderEpoch = epoch;
      for (const [session, owner] of sessions) {
        if (session.closedReason !== undefined) sessions.delete(session);
        else if (owner !== epoch) session.close('another tab took over the network links');
      }
    },

    /** Says goodbye to every peer and closes the links (the leader is switching networks). */
    leaveAll: (reason: string) => node.leaveAll(reason),

    /**
     * The leader tab hands over a connected data channel as a pair of byte streams. `peerId` is the
     * signaling peer id it was dialed as: the peer must prove exactly that key on the link.
     */
    attachLink(epoch: string, label: string, readable: ReadableStream<Uint8Array>, writable: WritableStream<Uint8Array>, peerId?: string): boolean {
      const link = new StreamLink(label, readable, writable);
      if (epoch !== leaderEpoch) {
        link.close('not from the current leader tab');
        return false;
      }
      for (const session of sessions.keys()) if (session.closedReason !== undefined) sessions.delete(session);
      sessions.set(node.addLink(link, peerId), epoch);
      return true;
    },
  };
  return api;
}

export type NodeApi = Awaited<ReturnType<typeof startNodeHost>>;

/** "type/subtype" in lowercase without parameters, as a manifest takes it; anything else is plain bytes. */
export function manifestMediaType(type: string): string {
  const bare = type.split(';')[0]!.trim().toLowerCase();
  return /^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$/.test(bare) ? bare : 'application/octet-stream';
}

/** Calls back into the page: the answer is not awaited, and a page gone away (or a released proxy) is no error here. */
function pageCallback(call: () => unknown): void {
  try {
    void Promise.resolve(call()).catch(() => {});
  } catch {
    // The page released the callback: it no longer listens.
  }
}

/** A page's File or Blob as the node reads an attachment: in slices, each read only when asked for. */
function blobInput(file: Blob, name?: string): AttachmentInput {
  return {
    name: name ?? (file instanceof File ? file.name : 'file'),
    mediaType: manifestMediaType(file.type),
    size: file.size,
    read: async (offset, length) => new Uint8Array(await file.slice(offset, offset + length).arrayBuffer()),
  };
}
