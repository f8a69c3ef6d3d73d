/**
 * A reliable, ordered byte stream to one peer: a WebRTC data channel handed over from the leader
 * tab, an in-memory pipe in tests, later a radio. Chunk boundaries carry no meaning; frames do.
 */
export interface Link {
  /** For logs and the peer list: where the link goes. */
  readonly label: string;
  /** Begins delivery. Chunks that arrived before are delivered first, in order. Call once. */
  start(handlers: LinkHandlers): void;
  /** Queues bytes; resolves when the link can take more (backpressure). Rejects with LinkClosedError once closed. */
  send(bytes: Uint8Array): Promise<void>;
  /** Closes both directions; the other side's `closed` handler runs with the reason where the link can carry it. */
  close(reason: string): void;
}

export interface LinkHandlers {
  receive(bytes: Uint8Array): void;
  closed(reason: string): void;
}

export class LinkClosedError extends Error {
  constructor(label: string, reason: string) {
    super(`link ${label} is closed: ${reason}`);
    this.name = 'LinkClosedError';
  }
}
