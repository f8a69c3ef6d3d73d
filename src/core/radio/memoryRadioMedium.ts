import type { Clock } from '../clock';
import { DatagramLinkError, type Datagram, type DatagramHandlers, type DatagramLink, type DatagramSendOptions } from '../link/datagramLink';
import { MAX_RADIO_PAYLOAD } from './loraAirtime';

/**
 * An in-memory radio medium for tests: every attached link hears every broadcast (a unicast only
 * its addressee), each delivery lost with probability `loss` drawn from a seeded random, after
 * `latencyMs` on the injected clock. It records every datagram put on it, so tests count the
 * bytes that really went on air. No hops, no airtime: the engine's scheduler is what is tested.
 */
export interface MemoryRadioMediumOptions {
  clock: Clock;
  random: () => number;
  loss?: number;
  latencyMs?: number;
}

export interface AiredDatagram {
  from: number;
  to: number | 'broadcast';
  payload: Uint8Array;
  hopLimit: number | undefined;
  at: number;
}

export class MemoryRadioMedium {
  /** Every datagram handed to the medium, in order. */
  readonly aired: AiredDatagram[] = [];
  loss: number;
  private readonly links = new Map<number, MemoryDatagramLink>();

  constructor(private readonly options: MemoryRadioMediumOptions) {
    this.loss = options.loss ?? 0;
  }

  /** A link for the node `address` on this medium (replacing any link attached there before). */
  attach(address: number, label = `memory radio !${address.toString(16).padStart(8, '0')}`): MemoryDatagramLink {
    const link = new MemoryDatagramLink(this, address, label);
    this.links.get(address)?.close('another link took this address');
    this.links.set(address, link);
    return link;
  }

  /** Delivers a datagram as if some node sent it (a test's hostile sender can claim any number). */
  inject(datagram: Omit<Datagram, 'receivedAt'>): void {
    this.deliver(datagram.from, datagram.to, datagram.payload, false);
  }

  /** @internal */
  remove(link: MemoryDatagramLink): void {
    if (this.links.get(link.address) === link) this.links.delete(link.address);
  }

  /** @internal */
  transmit(from: number, to: number | 'broadcast', payload: Uint8Array, hopLimit: number | undefined): void {
    this.aired.push({ from, to, payload: payload.slice(), hopLimit, at: this.options.clock.now() });
    this.deliver(from, to, payload, true);
  }

  private deliver(from: number, to: number | 'broadcast', payload: Uint8Array, lossy: boolean): void {
    for (const [address, link] of this.links) {
      if (address === from || (to !== 'broadcast' && to !== address)) continue;
      if (lossy && this.options.random() < this.loss) continue;
      const copy = payload.slice();
      this.options.clock.setTimer(() => link.hear({ from, to, payload: copy, receivedAt: this.options.clock.now(), snr: 6, hopsAway: 0 }), this.options.latencyMs ?? 50);
    }
  }
}

export class MemoryDatagramLink implements DatagramLink {
  readonly maxPayload = MAX_RADIO_PAYLOAD;
  private handlers: DatagramHandlers | undefined;
  private isClosed = false;

  constructor(
    private readonly medium: MemoryRadioMedium,
    readonly address: number,
    readonly label: string,
  ) {}

  start(handlers: DatagramHandlers): void {
    if (this.handlers) throw new DatagramLinkError('start called twice');
    this.handlers = handlers;
  }

  send(payload: Uint8Array, to: number | 'broadcast', options: DatagramSendOptions = {}): Promise<void> {
    if (this.isClosed) return Promise.reject(new DatagramLinkError('the link is closed'));
    if (payload.length > this.maxPayload) return Promise.reject(new DatagramLinkError(`payload over ${this.maxPayload} bytes`));
    this.medium.transmit(this.address, to, payload, options.hopLimit);
    return Promise.resolve();
  }

  close(reason: string): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.medium.remove(this);
    this.handlers?.closed(reason);
  }

  /** @internal */
  hear(datagram: Datagram): void {
    if (!this.isClosed) this.handlers?.receive(datagram);
  }
}
