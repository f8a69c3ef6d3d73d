/**
 * What the UI sees of packages (files attached to products and offers) and what it may ask the
 * node to do with them. The node implements PackageApi (soukNode.packages); the worker host hands
 * it to the UI through Comlink, so everything here is cloneable.
 */

/** A photo (with a thumbnail made on the merchant's device) or any other file. */
export type AttachmentKind = 'photo' | 'file';

/** A file attached to a product, as listed on the product or on its offer. */
export interface AttachmentView {
  /** The package's root (64 hex), its name everywhere. */
  root: string;
  /** The shop (vault) whose product it is attached to. */
  vaultId: string;
  productId: string;
  kind: AttachmentKind;
  name: string;
  mediaType: string;
  size: number;
  /** Shown with the offer to other shops; false: only this shop's own devices have it. */
  shared: boolean;
  /** A photo's thumbnail package (root), fetched as soon as the offer is shown. */
  thumbnail: string | null;
  addedAt: number;
}

export type PackageState = 'missing' | 'downloading' | 'complete' | 'failed';

/** A package as this node holds it: whole, partly (a download), or not at all. */
export interface PackageProgress {
  root: string;
  name: string;
  mediaType: string;
  size: number;
  state: PackageState;
  /** Verified bytes held. */
  bytesDone: number;
  /** Over the last few seconds. */
  bytesPerSecond: number;
  /** At the current speed; null when unknown. */
  secondsLeft: number | null;
  /** Peers that sent verified chunks of it in the last few seconds. */
  peersServing: number;
  /** Why it failed or is stalled (no peer has it, the disk is full), for the merchant. */
  problem: string | null;
  /** This shop's own file (never evicted) or a cached copy of another's. */
  own: boolean;
}

/** Where the bytes on this device go. */
export interface StorageUse {
  /** This shop's own files (never evicted). */
  ownFilesBytes: number;
  /** Other shops' files kept to view and to serve (evicted least recently used past the budget). */
  cachedFilesBytes: number;
  /** Vault documents and the node's records. */
  vaultBytes: number;
  /** The budget for cached files of others, set by the merchant. */
  cacheBudgetBytes: number;
  packages: { own: number; cached: number };
}

/** What the merchant sets for files. */
export interface PackageSettings {
  /** Serve other shops' files this node holds to peers (own files are always served). */
  serveOthersFiles: boolean;
  /** Upload cap for serving chunks, in bytes per second; 0 = no cap. */
  uploadCapBytesPerSecond: number;
  /** Cached files of others past this are evicted, least recently used first. */
  cacheBudgetBytes: number;
}

export const DEFAULT_PACKAGE_SETTINGS: PackageSettings = {
  serveOthersFiles: true,
  uploadCapBytesPerSecond: 0,
  cacheBudgetBytes: 2 * 1024 * 1024 * 1024,
};

/** A file handed to the node to attach: read in slices (a browser File works through `read`). */
export interface AttachmentInput {
  name: string;
  mediaType: string;
  size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface PackageApi {
  /**
   * Attaches a file to one of this shop's products: chunked, hashed, stored, and its manifest
   * written into the vault (the shared one when `shared`). A photo needs its thumbnail (made on
   * this device, at most 64 KiB). Resolves with the attachment once it is durable.
   */
  attach(
    productId: string,
    file: AttachmentInput,
    options: { kind: AttachmentKind; shared: boolean; thumbnail?: AttachmentInput },
    onProgress?: (done: number, total: number) => void,
  ): Promise<AttachmentView>;
  /** Takes an attachment off a product; its chunks go once nothing else holds them. */
  detach(productId: string, root: string): Promise<void>;
  /** This shop's attachments of one product. */
  attachmentsOf(productId: string): AttachmentView[];
  /** Another shop's shared attachments of an offered product. */
  offerAttachments(vaultId: string, productId: string): AttachmentView[];
  /** Starts (or resumes) fetching a package named by an attachment this node knows of. */
  fetch(root: string): PackageProgress;
  progress(root: string): PackageProgress;
  /** Every package being fetched, and those that failed. */
  downloads(): PackageProgress[];
  /** Stops a download; what is verified stays for later. */
  cancel(root: string): void;
  /** The hashes of a complete package's chunks, in order (the host makes a Blob of them). */
  chunksOf(root: string): string[] | undefined;
  storageUse(): StorageUse;
  /** Removes every cached file of others; own files stay. Returns the bytes freed. */
  freeCachedFiles(): Promise<number>;
  settings(): PackageSettings;
  updateSettings(settings: Partial<PackageSettings>): Promise<PackageSettings>;
}
