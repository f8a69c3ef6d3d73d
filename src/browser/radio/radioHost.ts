import { systemClock } from '../../core/clock';
import type { DatagramLink } from '../../core/link/datagramLink';
import type { RadioVaultSource } from '../../core/radio/radioVaultSource';
import {
  RADIO_CLASSES,
  type RadioBudget,
  type RadioClass,
  type RadioConnection,
  type RadioDeviceInfo,
  type RadioNeighbour,
  type RadioState,
  type RadioStatus,
} from '../../core/radio/radioView';
import type { RadioSync } from '../../core/radio/radioSync';
import type { MeshtasticRadioInfo } from '../../meshtastic/meshtasticLink';

/**
 * The node's radio, in the worker: the page hands over a radio's byte streams (serial bytes in
 * Meshtastic's framing, whatever carried them: Web Serial, Web Bluetooth made into frames, or a
 * simulated device), this builds the Meshtastic client over them and attaches it to the node's one
 * radio sync engine. The engine lives as long as the node, so what is queued outlives an unplugged
 * radio and goes once another is attached.
 *
 * @meshtastic/core is loaded only when a radio is first connected: the node starts without it.
 */

export interface RadioStreams {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
}

export interface RadioQueueEntry {
  id: string;
  class: RadioClass;
  label: string;
  bytes: number;
  urgent: boolean;
}

type LinkInfo = MeshtasticRadioInfo;

interface OpenedLink {
  link: DatagramLink;
  info(): LinkInfo;
  onInfo(listener: (info: LinkInfo) => void): () => void;
}

const EMPTY_QUEUE = Object.fromEntries(RADIO_CLASSES.map((c) => [c, 0])) as Record<RadioClass, number>;

function emptyBudget(): RadioBudget {
  return {
    usedMs: 0,
    allowedMs: null,
    dutyCyclePercent: 100,
    channelUtilization: null,
    queued: { ...EMPTY_QUEUE },
    queuedBytes: 0,
    waiting: null,
    nextSendAt: null,
  };
}

/** Opens @meshtastic/core over the streams: streamTransport → MeshDevice → MeshtasticLink. */
async function openLink(streams: RadioStreams, label: string): Promise<OpenedLink> {
  const { streamTransport } = await import('../../meshtastic/streamTransport');
  const { MeshtasticLink } = await import('../../meshtastic/meshtasticLink');
  const transport = streamTransport(streams.readable, streams.writable);
  const link = new MeshtasticLink(transport, { label });
  return { link, info: () => link.info(), onInfo: (listener) => link.onInfo(listener) };
}

export class RadioHost {
  #sync: RadioSync | undefined;
  #opened: OpenedLink | undefined;
  #stopInfo: (() => void) | undefined;
  #state: RadioState = 'off';
  #connection: RadioConnection | null = null;
  #message: string | null = null;
  #device: RadioDeviceInfo | null = null;
  #neighbours: RadioNeighbour[] = [];
  #paused = false;
  /** Rises with each connect, so a late event of an older link changes nothing. */
  #generation = 0;

  constructor(private readonly source: () => RadioVaultSource) {}

  async #engine(): Promise<RadioSync> {
    if (!this.#sync) {
      const { RadioSync } = await import('../../core/radio/radioSync');
      this.#sync ??= new RadioSync({ source: this.source(), clock: systemClock });
      this.#sync.pause(this.#paused);
    }
    return this.#sync;
  }

  status(): RadioStatus {
    const engine = this.#sync?.status();
    const budget: RadioBudget = engine?.budget ?? emptyBudget();
    const waiting = RADIO_CLASSES.reduce((sum, c) => sum + (budget.queued[c] ?? 0), 0);
    let message = this.#message;
    if (this.#state === 'unplugged') {
      message =
        waiting > 0
          ? `Radio unplugged — ${waiting} ${waiting === 1 ? 'update waits' : 'updates wait'}; they go when it is back.`
          : 'Radio unplugged — nothing waits; connect it again to hear the mesh.';
    }
    return {
      state: this.#state,
      connection: this.#connection,
      message,
      device: this.#device,
      neighbours: this.#neighbours,
      budget: this.#state === 'unplugged' && waiting > 0 && !budget.waiting ? { ...budget, waiting: 'the radio is unplugged' } : budget,
      paused: this.#paused,
      sent: engine?.sent ?? 0,
      received: engine?.received ?? 0,
      taken: engine?.taken ?? 0,
      refusals: engine?.refusals ?? [],
    };
  }

  /** Takes a radio's byte streams; any radio attached before is let go. */
  async connect(connection: RadioConnection, streams: RadioStreams): Promise<RadioStatus> {
    this.#release('another radio was connected');
    const generation = ++this.#generation;
    this.#connection = connection;
    this.#state = 'connecting';
    this.#message = null;
    try {
      const engine = await this.#engine();
      const opened = await openLink(streams, `radio (${connection})`);
      if (generation !== this.#generation) {
        opened.link.close('another radio was connected');
        return this.status();
      }
      this.#opened = opened;
      this.#state = 'configuring';
      this.#stopInfo = opened.onInfo((info) => {
        if (generation === this.#generation) this.#takeInfo(info, engine);
      });
      engine.attach(wrapClosed(opened.link, (reason) => generation === this.#generation && this.#lost(reason)));
      this.#takeInfo(opened.info(), engine);
    } catch (error) {
      if (generation === this.#generation) {
        this.#state = 'failed';
        this.#message = `The radio could not be started: ${error instanceof Error ? error.message : String(error)}`;
        void streams.readable.cancel().catch(() => {});
        void streams.writable.abort().catch(() => {});
      }
    }
    return this.status();
  }

  /** The merchant disconnects the radio: nothing queued is lost. */
  disconnect(): RadioStatus {
    this.#generation++;
    this.#release('disconnected by the merchant');
    this.#state = 'off';
    this.#message = null;
    return this.status();
  }

  pause(paused: boolean): RadioStatus {
    this.#paused = paused;
    this.#sync?.pause(paused);
    return this.status();
  }

  queue(): RadioQueueEntry[] {
    return (this.#sync?.queueView() ?? []).map((entry) => ({
      id: String(entry.id),
      class: entry.class,
      label: entry.label,
      bytes: entry.bytes,
      urgent: entry.urgent,
    }));
  }

  markUrgent(id: string): RadioQueueEntry[] {
    this.#sync?.markUrgent(id);
    return this.queue();
  }

  close(): void {
    this.#generation++;
    this.#release('the node is closing');
    this.#sync?.close();
  }

  #takeInfo(info: LinkInfo, engine: RadioSync): void {
    if (info.device) this.#device = info.device;
    this.#neighbours = Array.isArray(info.neighbours) ? info.neighbours : [];
    if (info.region !== 0) engine.setRadio({ region: info.region, preset: info.preset, channelUtilization: info.channelUtilization });
    if (info.state === 'connected' || info.state === 'configuring') this.#state = info.state;
    else if (info.state === 'unplugged') this.#lost('the radio was unplugged or went away');
  }

  #lost(reason: string): void {
    if (this.#state === 'off') return;
    this.#release(reason);
    this.#state = 'unplugged';
  }

  #release(reason: string): void {
    this.#stopInfo?.();
    this.#stopInfo = undefined;
    const opened = this.#opened;
    this.#opened = undefined;
    if (opened) {
      this.#sync?.detach();
      opened.link.close(reason);
    }
  }
}

/** The link as the engine sees it, with its `closed` also told to the host. */
function wrapClosed(link: DatagramLink, onClosed: (reason: string) => void): DatagramLink {
  return {
    get label() {
      return link.label;
    },
    get maxPayload() {
      return link.maxPayload;
    },
    get address() {
      return link.address;
    },
    start(handlers) {
      link.start({
        receive: (datagram) => handlers.receive(datagram),
        closed: (reason) => {
          handlers.closed(reason);
          onClosed(reason);
        },
      });
    },
    send: (payload, to, options) => link.send(payload, to, options),
    close: (reason) => link.close(reason),
  };
}
