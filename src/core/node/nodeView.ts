import type { SharedOffer } from '../vault/vaultDocuments';

/** Plain, cloneable pictures of a node's state, for the UI on the other side of Comlink. */

export interface NodeSettings {
  networkName: string;
  /** The most peers this node keeps links to. */
  maxConnections: number;
}

export const DEFAULT_NETWORK = 'souk-local';
export const DEFAULT_MAX_CONNECTIONS = 6;

export interface ShopView {
  vaultId: string;
  name: string;
  area: string;
  currency: string;
  exactLocation: string;
}

export interface PeerView {
  nodeId: string;
  name: string;
  shopVaultId: string | null;
  linkLabel: string;
  connectedAt: number;
  lastHeardAt: number;
  bytesIn: number;
  bytesOut: number;
}

export interface VaultView {
  vaultId: string;
  name: string;
  area: string;
  own: boolean;
  counter: number;
  offers: number;
  /** When this node last took a new version of the vault (for its own vault: last edit). */
  asOf: number;
}

export interface RefusalView {
  at: number;
  peer: string;
  reason: string;
}

export interface NodeView {
  nodeId: string;
  shop: ShopView | null;
  settings: NodeSettings;
  peers: PeerView[];
  vaults: VaultView[];
  refusals: RefusalView[];
  blockedPeers: string[];
  traffic: { bytesIn: number; bytesOut: number };
  /** Last time anything in the node changed. */
  changedAt: number;
}

/** An offer as the marketplace lists it: the shared offer plus who sells it. */
export type MarketOffer = SharedOffer & {
  vaultId: string;
  seller: string;
  currency: string;
  own: boolean;
};

export interface MarketplaceView {
  offers: MarketOffer[];
  total: number;
}
