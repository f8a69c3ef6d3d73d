import { LinkClosedError, type Link, type LinkHandlers } from './link';

/** Counts what crosses a memory link, for tests that inspect every byte a node sends. */
export interface LinkTap {
  (direction: 'a-to-b' | 'b-to-a', bytes: Uint8Array): void;
}

/** One end of an in-memory link. Delivery is asynchronous and in order, like a data channel. */
class MemoryLinkEnd implements Link {
  peer!: MemoryLinkEnd;
  private handlers: LinkHandlers | undefined;
  private inbox: Uint8Array[] = [];
  private closedReason: string | undefined;
  private delivering = false;

  constructor(
    readonly label: string,
    private readonly tap: ((bytes: Uint8Array) => void) | undefined,
  ) {}

  start(handlers: LinkHandlers): void {
    if (this.handlers) throw new Error(`link ${this.label} already started`);
    this.handlers = handlers;
    this.scheduleDelivery();
  }

  async send(bytes: Uint8Array): Promise<void> {
    if (this.closedReason !== undefined) throw new LinkClosedError(this.label, this.closedReason);
    const copy = bytes.slice();
    this.tap?.(copy);
    this.peer.inbox.push(copy);
    this.peer.scheduleDelivery();
  }

  close(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.scheduleDelivery();
    this.peer.remoteClosed(reason);
  }

  private remoteClosed(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.scheduleDelivery();
  }

  private scheduleDelivery(): void {
    if (this.delivering || !this.handlers) return;
    this.delivering = true;
    setTimeout(() => {
      this.delivering = false;
      const handlers = this.handlers!;
      const chunks = this.inbox;
      this.inbox = [];
      for (const chunk of chunks) handlers.receive(chunk);
      if (this.closedReason !== undefined && this.inbox.length === 0) {
        const reason = this.closedReason;
        this.handlers = { receive: () => {}, closed: () => {} };
        handlers.closed(reason);
      } else if (this.inbox.length) this.scheduleDelivery();
    }, 0);
  }
}

export function createMemoryLinkPair(labelA = 'a', labelB = 'b', tap?: LinkTap): [Link, Link] {
  const a = new MemoryLinkEnd(labelA, tap && ((bytes) => tap('a-to-b', bytes)));
  const b = new MemoryLinkEnd(labelB, tap && ((bytes) => tap('b-to-a', bytes)));
  a.peer = b;
  b.peer = a;
  return [a, b];
}
