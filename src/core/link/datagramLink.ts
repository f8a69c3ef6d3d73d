/**
 * A packet link over a broadcast medium (a Meshtastic LoRa mesh; an in-memory medium in tests):
 * small datagrams to every node in range or to one node, each delivered at most once, in any
 * order, or lost. The radio counterpart of `Link` (a reliable byte stream to one peer): the radio
 * sync engine (src/core/radio/radioSync.ts) runs over it, never knowing which adapter is below.
 */
export interface DatagramLink {
  /** For logs and the status view. */
  readonly label: string;
  /** The largest payload one datagram carries (Meshtastic: 233 bytes). */
  readonly maxPayload: number;
  /** This end's address on the medium (a Meshtastic node number), once the device said it; null before. */
  readonly address: number | null;
  /** Begins delivery. Call once. */
  start(handlers: DatagramHandlers): void;
  /**
   * Hands one datagram to the medium. Resolves once the device took it (Meshtastic: its routing
   * acknowledgement, or a rebroadcast heard); rejects with DatagramLinkError when it was refused,
   * timed out or the link closed. The payload is never longer than `maxPayload`.
   */
  send(payload: Uint8Array, to: number | 'broadcast', options?: DatagramSendOptions): Promise<void>;
  /** Closes the link; `closed` runs with the reason. */
  close(reason: string): void;
}

export interface DatagramSendOptions {
  /** How many times the mesh may rebroadcast it (Meshtastic: 0–7, default 3). */
  hopLimit?: number;
}

export interface Datagram {
  /** The sender's address on the medium. */
  from: number;
  to: number | 'broadcast';
  payload: Uint8Array;
  /** Signal-to-noise ratio of the last hop, in dB, when the medium reports it. */
  snr?: number;
  /** How many hops it crossed, when the medium reports it. */
  hopsAway?: number;
  /** The clock's time when it arrived. */
  receivedAt: number;
}

export interface DatagramHandlers {
  receive(datagram: Datagram): void;
  closed(reason: string): void;
}

export class DatagramLinkError extends Error {
  override name = 'DatagramLinkError';
}
