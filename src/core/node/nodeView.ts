import type { SharedOffer } from '../vault/vaultDocuments';

/** Plain, cloneable pictures of a node's state, for the UI on the other side of Comlink. */

export interface NodeSettings {
  networkName: string;
  /** The most peers this node keeps links to. */
  maxConnections: number;
  /** Shops the merchant marked as known and trusted: kept first, shown as such. */
  trustedShops: string[];
  /** The seller's rule for reservations on this device (tradeDesk.ts); absent: answered by hand, holds of a day. */
  trade?: { autoAcceptUpTo: number | null; holdMinutes: number };
  /** Batches expiring within this many days raise an alert (with stock left). */
  expiryAlertDays: number;
}

export const DEFAULT_EXPIRY_ALERT_DAYS = 3;
export const DEFAULT_NETWORK = 'souk-local';
export const DEFAULT_MAX_CONNECTIONS = 6;
export const MAX_TRUSTED_SHOPS = 500;

export interface ShopView {
  vaultId: string;
  name: string;
  area: string;
  currency: string;
  /** What the participant does: the UI shows what the role needs. */
  role: 'shop' | 'supplier' | 'driver';
  exactLocation: string;
  fingerprint: string;
  /** This device holds the shop's root key: it adds and revokes devices and makes backups. */
  rootDevice: boolean;
  /** This device's key (hex). */
  deviceKey: string;
  /** When this shop was last backed up to a file from this device, if ever. */
  lastBackupAt: number | null;
  /** When the shop's first device removed this device, if it did: its edits are refused from then on. */
  revokedAt: number | null;
}

/** One device of the merchant's shop. */
export interface DeviceView {
  publicKey: string;
  name: string;
  addedAt: number;
  /** When this node last heard from it (now for this device); null when never linked since start-up. */
  lastSeenAt: number | null;
  linked: boolean;
  thisDevice: boolean;
  revokedAt: number | null;
  /** Its latest statement's counter for the shared vault. */
  counter: number;
}

/** Adding a device (on the root device) or joining a shop (on a new one). */
export interface PairingView {
  role: 'adding' | 'joining';
  code: string | null;
  qr: string | null;
  /** The signaling room both devices meet in while pairing. */
  room: string;
  expiresAt: number;
  state: 'waiting' | 'done' | 'failed';
  message: string;
}

/** A linked peer whose node id is proven; its shop only if it proved that too. */
export interface PeerView {
  nodeId: string;
  /** The proven shop's name from its vault, or '' when it has no shop or its vault is not here yet. */
  name: string;
  shopVaultId: string | null;
  fingerprint: string | null;
  trusted: boolean;
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
  /** Short form of the shop id, to tell shops with the same name apart. */
  fingerprint: string;
  own: boolean;
  trusted: boolean;
  /** Set when this shop takes the name of a shop known earlier (own, trusted or seen first): that shop's id. */
  lookAlikeOf: string | null;
  counter: number;
  offers: number;
  bytes: number;
  /** When this node last took a new version of the vault (for its own vault: last edit). */
  asOf: number;
  firstSeenAt: number;
}

export interface RefusalView {
  at: number;
  peer: string;
  reason: string;
}

export interface NodeView {
  nodeId: string;
  shop: ShopView | null;
  /** Why the shop stored on this device could not be opened (nothing was changed), if it could not. */
  shopProblem: string | null;
  pairing: PairingView | null;
  settings: NodeSettings;
  peers: PeerView[];
  vaults: VaultView[];
  refusals: RefusalView[];
  /** Batches of the own shop with stock left that expire soon (settings.expiryAlertDays) or have expired. */
  expiryAlerts: ExpiryAlert[];
  blockedPeers: string[];
  traffic: { bytesIn: number; bytesOut: number };
  /** Last time anything in the node changed. */
  changedAt: number;
}

/** An offer as the marketplace lists it: the shared offer plus who sells it. */
export type MarketOffer = SharedOffer & {
  vaultId: string;
  /** When this node took the version of the seller's vault the offer is from. */
  asOf: number;
  /** The version held came over the radio (shown as "via radio, as of …"). */
  viaRadio: boolean;
  seller: string;
  currency: string;
  own: boolean;
  fingerprint: string;
  trusted: boolean;
  lookAlikeOf: string | null;
};

export interface MarketplaceView {
  offers: MarketOffer[];
  total: number;
  /** Vaults whose content is still being read from storage (after start-up). */
  loadingVaults: number;
}

/** A batch with stock left that expires soon, or has expired (its stock is not sold nor offered). */
export interface ExpiryAlert {
  productId: string;
  name: string;
  unit: string;
  batchId: string;
  expiresOn: string;
  remaining: number;
  expired: boolean;
}

/** One entry of the named stock moves history (catalog/stockMoves.ts). */
export interface MoveView {
  id: string;
  kind: 'sale' | 'received' | 'correction' | 'waste' | 'reservation' | 'undo';
  productId: string;
  productName: string;
  unit: string;
  /** The signed change to the stock. */
  delta: number;
  takes: { batch: string; quantity: number }[];
  /** Unit price and total of a sale, minor units. */
  price: number | null;
  total: number | null;
  at: number;
  /** Made on this device. */
  thisDevice: boolean;
  note: string;
  undoes: string | null;
  undoneBy: string | null;
  /** A reservation's request ("vaultPrefix:eventId"). */
  request: string | null;
  before: number | null;
  after: number | null;
  /** The batch a delivery brought. */
  batch: { id: string; expiresOn: string; receivedOn: string; supplier: string } | null;
}

export interface DaySalesView {
  day: string;
  count: number;
  /** Minor units of `currency`. */
  takings: number;
  currency: string;
}

export interface BatchView {
  id: string;
  /** The quantity received. */
  received: number;
  remaining: number;
  expiresOn: string;
  receivedOn: string;
  supplier: string;
  invoice: string | null;
  invoiceFile: boolean;
  receipt: string | null;
  expired: boolean;
  nearExpiry: boolean;
}

export interface ProductStockView {
  productId: string;
  stock: number;
  /** Stock no batch accounts for. */
  unbatched: number;
  /** What may be sold today (expired batches left out). */
  sellable: number;
  /** FEFO order. */
  batches: BatchView[];
}
