import { IndexedDbStorage } from '../src/browser/storage/indexedDbStorage';
import { NODE_CHANGES_CHANNEL } from '../src/browser/nodeChannel';
import { StreamLink } from '../src/core/link/streamLink';
import { SoukNode } from '../src/core/node/soukNode';
import type { SyncSession } from '../src/core/sync/syncSession';

/**
 * The node as the UI and the leader tab see it through Comlink. Everything here is cloneable;
 * errors travel back as Errors with the merchant-facing message.
 */
export async function startNodeHost() {
  const storage = await IndexedDbStorage.open();
  const node = await SoukNode.open({ storage });
  const changes = new BroadcastChannel(NODE_CHANGES_CHANNEL);
  let pending: ReturnType<typeof setTimeout> | undefined;
  node.subscribe(() => {
    pending ??= setTimeout(() => {
      pending = undefined;
      changes.postMessage({ changedAt: node.view().changedAt });
    }, 25);
  });

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
    setOffer: (id: string, offer: Parameters<SoukNode['setOffer']>[1]) => node.setOffer(id, offer),
    updateSettings: (settings: Parameters<SoukNode['updateSettings']>[0]) => node.updateSettings(settings),
    /** Marks a shop as one the merchant knows and trusts, or takes the mark away. */
    setTrusted: (vaultId: string, trusted: boolean) => node.setTrusted(vaultId, trusted),
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
