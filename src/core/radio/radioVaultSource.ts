import type { RadioClass } from './radioView';

/**
 * The boundary between the radio sync engine (radioSync.ts) and the node (SoukNode implements
 * it): the engine moves bytes, the node decides what they mean and whether to keep them, with
 * exactly the checks WebRTC sync runs.
 */

/** One stream of updates a node holds: a device's latest statement for a vault. */
export interface RadioItem {
  /** 32-byte vault id (the shop's root public key). */
  vaultId: Uint8Array;
  /** 32-byte device public key. */
  deviceKey: Uint8Array;
  /** The device's statement counter held. */
  counter: number;
}

/** Something to put on the air. */
export interface RadioUpdate {
  /**
   * compact: a compact signed update (src/core/vault/compactUpdate.ts, at most 200 bytes): one
   * datagram. bundle: a radio bundle (at most MAX_RADIO_BUNDLE_BYTES), sent as fragments.
   */
  kind: 'compact' | 'bundle';
  bytes: Uint8Array;
  cls: RadioClass;
  /** For the queue view: what it is, in the merchant's words ("Honey: stock 7"). */
  label: string;
  /** The item it brings the receiver to. */
  item: RadioItem;
}

/** A radio bundle's limit: larger catch-ups wait for another link. */
export const MAX_RADIO_BUNDLE_BYTES = 16 * 1024;

export type RadioTakeOutcome =
  | { taken: true; label: string }
  /**
   * stale: already held (a duplicate or a replay; not an offence). behind: it builds on
   * something this node lacks (reconciliation fetches it). offence: forged or malformed.
   */
  | { taken: false; reason: string; offence: boolean; stale?: boolean; behind?: boolean };

export interface RadioVaultSource {
  /** The reconciliation set: the latest statement of each device of each vault this node holds and carries by radio (bounded; own shop and trading partners first). */
  radioItems(): RadioItem[];
  /**
   * What brings a holder of `fromCounter` (0: nothing) of `item`'s stream up to what this node
   * holds: compact updates in order when it has them all, else one bundle; [] when it cannot (the
   * catch-up is over MAX_RADIO_BUNDLE_BYTES, or the stream is not held). May answer later (a
   * vault read from storage): await the result.
   */
  radioCatchUp(item: RadioItem, fromCounter: number): RadioUpdate[] | Promise<RadioUpdate[]>;
  /** This node's own new updates (the merchant's edits), each as soon as it is signed. Returns unsubscribe. */
  onOwnUpdate(listener: (update: RadioUpdate) => void): () => void;
  /** A compact update heard on the radio, from the node number `from`. */
  takeCompact(bytes: Uint8Array, from: string): Promise<RadioTakeOutcome>;
  /** A reassembled radio bundle heard on the radio. */
  takeBundle(bytes: Uint8Array, from: string): Promise<RadioTakeOutcome>;
}
