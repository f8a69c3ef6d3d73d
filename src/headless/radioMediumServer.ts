import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { systemClock, type Clock } from '../core/clock';
import type { ModemPresetName } from '../core/radio/loraAirtime';
import { SimulatedDevice } from '../meshtastic/simulator/simulatedDevice';
import { SimulatedMedium } from '../meshtastic/simulator/simulatedMedium';

/**
 * The simulated LoRa medium as a WebSocket service: each connection to
 * `/radio-sim?name=<name>` is the serial cable of one simulated Meshtastic radio on one shared
 * SimulatedMedium (binary messages are serial bytes, both ways). A name keeps its radio (and node
 * number) across reconnects, so what it heard while unplugged is handed over. Bounded: connections,
 * radios, message size, name length.
 */

export const RADIO_SIM_PATH = '/radio-sim';

export interface RadioMediumOptions {
  clock?: Clock;
  loss?: number;
  preset?: ModemPresetName;
  seed?: number;
  maxConnections?: number;
  /** Connections from one address (one machine cannot take every slot). */
  maxPerAddress?: number;
  /** Radios kept (a name's radio outlives its connection); the oldest unplugged one goes first. */
  maxRadios?: number;
  /** Largest WebSocket message, bytes (a few serial frames). */
  maxMessageBytes?: number;
}

const NAME = /^[A-Za-z0-9 _.-]{1,40}$/;

export class RadioMediumServer {
  readonly medium: SimulatedMedium;
  private readonly wss: WebSocketServer;
  private readonly clock: Clock;
  private readonly options: Required<Omit<RadioMediumOptions, 'clock' | 'seed' | 'loss'>>;
  private readonly radios = new Map<string, SimulatedDevice>();
  private readonly sockets = new Set<WebSocket>();
  private attachedTo: Server | null = null;
  private readonly perAddress = new Map<string, number>();

  constructor(options: RadioMediumOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.medium = new SimulatedMedium({ clock: this.clock, loss: options.loss ?? 0, seed: options.seed ?? 1 });
    this.options = {
      preset: options.preset ?? 'LONG_FAST',
      maxConnections: options.maxConnections ?? 64,
      maxPerAddress: options.maxPerAddress ?? 16,
      maxRadios: options.maxRadios ?? 256,
      maxMessageBytes: options.maxMessageBytes ?? 4096,
    };
    this.wss = new WebSocketServer({ noServer: true, maxPayload: this.options.maxMessageBytes });
    this.wss.on('error', () => {});
  }

  /** Handles an HTTP upgrade if it is for RADIO_SIM_PATH; false (untouched) otherwise. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const url = new URL(request.url ?? '/', 'http://localhost');
    if (url.pathname !== RADIO_SIM_PATH) return false;
    socket.on('error', () => socket.destroy());
    const name = url.searchParams.get('name') ?? `radio-${Math.floor(Math.random() * 1e9).toString(36)}`;
    const address = request.socket.remoteAddress ?? '';
    if (!NAME.test(name) || this.sockets.size >= this.options.maxConnections || (this.perAddress.get(address) ?? 0) >= this.options.maxPerAddress) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return true;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.admit(ws, name, address));
    return true;
  }

  /** Serves RADIO_SIM_PATH on `server` (alongside its other upgrades). */
  attach(server: Server): void {
    this.attachedTo = server;
    server.on('upgrade', this.onUpgrade);
  }

  stats(): { connections: number; radios: number; packetsOnAir: number } {
    return { connections: this.sockets.size, radios: this.radios.size, packetsOnAir: this.medium.stats.packetsOnAir };
  }

  close(): Promise<void> {
    this.attachedTo?.off('upgrade', this.onUpgrade);
    for (const socket of this.sockets) socket.terminate();
    for (const radio of this.radios.values()) radio.powerOff();
    this.radios.clear();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }

  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    try {
      this.handleUpgrade(request, socket, head);
    } catch {
      socket.destroy();
    }
  };

  private radioFor(name: string): SimulatedDevice {
    const known = this.radios.get(name);
    if (known) return known;
    while (this.radios.size >= this.options.maxRadios) {
      const idle = [...this.radios.entries()].find(([, radio]) => !radio.plugged);
      if (!idle) throw new Error('no room for another radio');
      idle[1].powerOff();
      this.radios.delete(idle[0]);
    }
    let nodeNum = nodeNumberOf(name);
    while (this.medium.nodeNums().includes(nodeNum)) nodeNum = (nodeNum % 0xfffffffd) + 1;
    const radio = new SimulatedDevice({ medium: this.medium, clock: this.clock, nodeNum, longName: name, shortName: name.slice(0, 4), preset: this.options.preset });
    this.radios.set(name, radio);
    return radio;
  }

  private admit(ws: WebSocket, name: string, address: string): void {
    let radio: SimulatedDevice;
    try {
      radio = this.radioFor(name);
    } catch (error) {
      ws.close(1013, error instanceof Error ? error.message : 'refused');
      return;
    }
    this.sockets.add(ws);
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    const session = radio.connect(
      (bytes) => {
        if (ws.readyState === ws.OPEN) ws.send(bytes);
      },
      () => ws.close(1000, 'unplugged'),
    );
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!isBinary) return;
      const chunks = Array.isArray(data) ? data : [data instanceof ArrayBuffer ? Buffer.from(data) : data];
      try {
        for (const chunk of chunks) session.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      } catch {
        ws.close(1000, 'unplugged');
      }
    });
    ws.on('close', () => {
      this.sockets.delete(ws);
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.perAddress.set(address, left);
      else this.perAddress.delete(address);
      session.end();
    });
    ws.on('error', () => ws.terminate());
  }
}

/** A stable node number for a name (FNV-1a), never 0 or broadcast. */
function nodeNumberOf(name: string): number {
  let hash = 0x811c9dc5;
  for (const char of name) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  return (hash % 0xfffffffd) + 1;
}

/** A standalone medium server on `port` (0: any free port), for tests and trying it out. */
export async function startRadioMediumServer(port: number, options: RadioMediumOptions = {}): Promise<{ url: string; medium: RadioMediumServer; close(): Promise<void> }> {
  const server = createServer((_request, response) => response.writeHead(404).end());
  const medium = new RadioMediumServer(options);
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    try {
      if (!medium.handleUpgrade(request, socket, head)) socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    } catch {
      socket.destroy();
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address();
  const actual = typeof address === 'object' && address ? address.port : port;
  return {
    url: `ws://127.0.0.1:${actual}${RADIO_SIM_PATH}`,
    medium,
    async close() {
      await medium.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
