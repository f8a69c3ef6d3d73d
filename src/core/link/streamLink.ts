import { LinkClosedError, type Link, type LinkHandlers } from './link';

/**
 * A link over a pair of web streams. The leader tab hands the node a data channel this way
 * (streams are transferable to workers); the writable side carries backpressure back.
 */
export class StreamLink implements Link {
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private handlers: LinkHandlers | undefined;
  private early: Uint8Array[] = [];
  private closedReason: string | undefined;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(
    readonly label: string,
    readable: ReadableStream<Uint8Array>,
    writable: WritableStream<Uint8Array>,
  ) {
    this.writer = writable.getWriter();
    this.reader = readable.getReader();
    void this.pump();
    this.writer.closed.catch((error) => this.finish(`write side failed: ${describe(error)}`));
  }

  start(handlers: LinkHandlers): void {
    if (this.handlers) throw new Error(`link ${this.label} already started`);
    this.handlers = handlers;
    for (const chunk of this.early) handlers.receive(chunk);
    this.early = [];
    if (this.closedReason !== undefined) handlers.closed(this.closedReason);
  }

  async send(bytes: Uint8Array): Promise<void> {
    if (this.closedReason !== undefined) throw new LinkClosedError(this.label, this.closedReason);
    try {
      await this.writer.ready;
      this.writer.write(bytes.slice()).catch((error) => this.finish(`write failed: ${describe(error)}`));
    } catch (error) {
      this.finish(`write failed: ${describe(error)}`);
      throw new LinkClosedError(this.label, this.closedReason ?? 'closed');
    }
  }

  close(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.writer.abort(reason).catch(() => {});
    this.reader.cancel(reason).catch(() => {});
    this.finish(reason);
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        const { value, done } = await this.reader.read();
        if (done) break;
        if (this.handlers) this.handlers.receive(value);
        else this.early.push(value);
      }
      this.finish('remote closed the link');
    } catch (error) {
      this.finish(`read failed: ${describe(error)}`);
    }
  }

  private finish(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.handlers?.closed(reason);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
