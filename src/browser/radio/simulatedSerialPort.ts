/**
 * A Web Serial SerialPort stand-in whose bytes travel over a WebSocket to the simulated LoRa
 * medium (src/headless/radioMediumServer.ts, path /radio-sim): the app's "simulated radio" mode
 * and Playwright use it where a real port would be. readable and writable are real streams (they
 * can be transferred to the worker). The socket closing ends `readable`, as unplugging a radio
 * ends a real port's, and fires 'disconnect'.
 */

export interface SimulatedSerialPortInfo {
  usbVendorId?: number;
  usbProductId?: number;
}

/** Bytes the page may have queued to the medium before writes wait. */
const HIGH_WATER_BYTES = 64 * 1024;

export class SimulatedSerialPort extends EventTarget {
  readable: ReadableStream<Uint8Array> | null = null;
  writable: WritableStream<Uint8Array> | null = null;
  private socket: WebSocket | null = null;
  private readonly url: string;

  /** `url`: the medium's WebSocket address; a `name` (the radio's, kept across reconnects) is added when given. */
  constructor(url: string, name?: string) {
    super();
    const address = new URL(url);
    if (name) address.searchParams.set('name', name);
    this.url = address.toString();
  }

  async open(_options: { baudRate: number }): Promise<void> {
    if (this.socket) throw new DOMException('The port is already open.', 'InvalidStateError');
    const socket = new WebSocket(this.url);
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    await new Promise<void>((resolve, reject) => {
      socket.addEventListener('open', () => resolve(), { once: true });
      socket.addEventListener('error', () => reject(new Error(`cannot reach ${this.url}`)), { once: true });
    }).catch((error: unknown) => {
      this.socket = null;
      throw error;
    });
    let gone = false;
    const unplugged = () => {
      if (gone) return;
      gone = true;
      this.dispatchEvent(new Event('disconnect'));
    };
    this.readable = new ReadableStream<Uint8Array>({
      start(controller) {
        socket.addEventListener('message', (event: MessageEvent) => {
          if (event.data instanceof ArrayBuffer) controller.enqueue(new Uint8Array(event.data));
        });
        socket.addEventListener('close', () => {
          try {
            controller.close();
          } catch {
            /* cancelled */
          }
          unplugged();
        });
      },
      cancel: () => socket.close(),
    });
    this.writable = new WritableStream<Uint8Array>({
      async write(chunk) {
        if (socket.readyState !== WebSocket.OPEN) throw new DOMException('The device has been lost.', 'NetworkError');
        while (socket.bufferedAmount > HIGH_WATER_BYTES && socket.readyState === WebSocket.OPEN) await new Promise((r) => setTimeout(r, 20));
        socket.send(chunk);
      },
      close: () => socket.close(),
      abort: () => socket.close(),
    });
  }

  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = null;
    socket?.close();
    this.readable = null;
    this.writable = null;
  }

  getInfo(): SimulatedSerialPortInfo {
    return {};
  }

  async forget(): Promise<void> {
    await this.close();
  }
}
