/// <reference types="w3c-web-serial" />
/// <reference types="web-bluetooth" />
import * as Comlink from 'comlink';
import type { NodeApi } from '../../../workers/nodeHost';
import type { RadioConnection, RadioStatus } from '../../core/radio/radioView';
import { MESHTASTIC_SERVICE, openBluetoothRadio } from './bluetoothStreams';
import { SimulatedSerialPort } from './simulatedSerialPort';

/**
 * The page side of the radio. Navigator APIs live here (Web Bluetooth exists only in a page):
 * this tab chooses and opens the radio and hands its byte streams to the node in the worker. One
 * tab of the profile owns the radio at a time (the Web Lock RADIO_LOCK): a tab that connects takes
 * it over; when the owner closes, another open tab reconnects the remembered radio where the
 * browser lets it without a tap. The device is remembered in localStorage for reloads.
 */

type RadioApi = Comlink.Remote<NodeApi>['radio'];

export const RADIO_LOCK = 'souk-radio-owner';
const REMEMBERED = 'souk-radio-device';

export interface RememberedRadio {
  connection: RadioConnection;
  /** Simulated: the medium's address. */
  url?: string;
  /** Serial: the USB ids, to find the granted port again. */
  usbVendorId?: number;
  usbProductId?: number;
  /** Bluetooth: the device id the browser gave. */
  bluetoothId?: string;
}

export function defaultMediumUrl(): string {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/radio-sim`;
}

/** What this browser can do, with the sentence the page shows where it cannot. */
export function radioSupport(): { serial: string | null; bluetooth: string | null } {
  const nav = navigator as Navigator & { serial?: Serial; bluetooth?: Bluetooth };
  return {
    serial: nav.serial
      ? null
      : 'This browser has no Web Serial: connect by USB from Chrome or Edge on a computer (or Chrome on Android 138+), or use Bluetooth.',
    bluetooth:
      nav.bluetooth && typeof nav.bluetooth.requestDevice === 'function'
        ? null
        : 'This browser has no Web Bluetooth: use Chrome or Edge (on Android, a computer, or a Chromebook), or connect by USB.',
  };
}

export function rememberedRadio(): RememberedRadio | null {
  try {
    const value = JSON.parse(localStorage.getItem(REMEMBERED) ?? 'null') as RememberedRadio | null;
    return value && typeof value === 'object' && typeof value.connection === 'string' ? value : null;
  } catch {
    return null;
  }
}

function remember(radio: RememberedRadio | null): void {
  if (radio) localStorage.setItem(REMEMBERED, JSON.stringify(radio));
  else localStorage.removeItem(REMEMBERED);
}

/** Something this tab opened and must let go of. */
interface Held {
  close(): Promise<void>;
}

export class RadioOwner {
  #held: Held | undefined;
  #releaseLock: (() => void) | undefined;
  #hint: string | null = null;
  #listeners = new Set<() => void>();
  #waiting = false;

  constructor(private readonly radio: RadioApi) {
    const serial = (navigator as Navigator & { serial?: Serial }).serial;
    // A granted serial radio plugged back in: take it up again if it is the remembered one.
    serial?.addEventListener('connect', (event) => {
      const port = (event as Event & { target: SerialPort }).target;
      const known = rememberedRadio();
      if (known?.connection === 'serial' && matches(port, known)) void this.#takeOver(() => this.#openSerial(port, known));
    });
  }

  /** A sentence for the merchant from this tab (not from the node): what to do to reconnect. */
  get hint(): string | null {
    return this.#hint;
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #setHint(hint: string | null): void {
    this.#hint = hint;
    for (const listener of this.#listeners) listener();
  }

  /** Asks the merchant for a USB serial port (call from a tap). */
  async connectSerial(): Promise<RadioStatus> {
    const serial = (navigator as Navigator & { serial?: Serial }).serial;
    if (!serial) throw new Error(radioSupport().serial!);
    let port: SerialPort;
    try {
      port = await serial.requestPort();
    } catch {
      throw new Error('No radio was chosen. Plug the radio in by USB and choose it in the list.');
    }
    const info = port.getInfo();
    return this.#takeOver(() => this.#openSerial(port, { connection: 'serial', usbVendorId: info.usbVendorId, usbProductId: info.usbProductId }));
  }

  /** Asks the merchant for a Meshtastic radio over Bluetooth (call from a tap). */
  async connectBluetooth(): Promise<RadioStatus> {
    const bluetooth = (navigator as Navigator & { bluetooth?: Bluetooth }).bluetooth;
    if (!bluetooth) throw new Error(radioSupport().bluetooth!);
    let device: BluetoothDevice;
    try {
      device = await bluetooth.requestDevice({ filters: [{ services: [MESHTASTIC_SERVICE] }] });
    } catch {
      throw new Error('No radio was chosen. Switch the radio on, with Bluetooth enabled, and choose it in the list.');
    }
    return this.#takeOver(() => this.#openBluetooth(device));
  }

  /** Connects a simulated radio on the simulated LoRa medium at `url`. */
  async connectSimulated(url: string): Promise<RadioStatus> {
    let parsed: URL;
    try {
      parsed = new URL(url.trim());
    } catch {
      throw new Error('The medium address must be a WebSocket address, like ws://localhost:8080/radio-sim.');
    }
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') throw new Error('The medium address must start with ws:// or wss://.');
    return this.#takeOver(() => this.#openSimulated(parsed.href));
  }

  /** The merchant disconnects: the node keeps what is queued; the device is forgotten for reloads. */
  async disconnect(): Promise<RadioStatus> {
    remember(null);
    const status = await this.radio.disconnect();
    await this.#drop();
    this.#setHint(null);
    return status;
  }

  /**
   * On load: reconnects the remembered radio when no other tab owns it (now, or once the owning
   * tab closes), where the browser allows it without a tap.
   */
  async resume(): Promise<void> {
    if (this.#waiting || this.#held || !rememberedRadio() || !('locks' in navigator)) return;
    this.#waiting = true;
    void navigator.locks.request(RADIO_LOCK, async () => {
      this.#waiting = false;
      const known = rememberedRadio();
      if (this.#held || !known) return;
      const status = await this.radio.status();
      if (status.state === 'connected' || status.state === 'configuring' || status.state === 'connecting') return;
      const open = await this.#reopen(known);
      if (!open) return;
      try {
        await this.#takeOver(open);
      } catch (error) {
        this.#setHint(`The radio could not be reconnected (${error instanceof Error ? error.message : String(error)}): tap Connect again.`);
      }
    });
  }

  /** How to open the remembered radio without a tap, or null (and a hint) where the browser cannot. */
  async #reopen(known: RememberedRadio): Promise<(() => Promise<Held>) | null> {
    if (known.connection === 'simulated' && known.url) return () => this.#openSimulated(known.url!);
    if (known.connection === 'serial') {
      const serial = (navigator as Navigator & { serial?: Serial }).serial;
      const port = (await serial?.getPorts())?.find((p) => matches(p, known));
      if (port) return () => this.#openSerial(port, known);
      this.#setHint('Your USB radio is not plugged in: plug it in (it reconnects by itself), or tap Connect by USB.');
      return null;
    }
    if (known.connection === 'bluetooth') {
      const bluetooth = (navigator as Navigator & { bluetooth?: Bluetooth }).bluetooth;
      if (typeof bluetooth?.getDevices === 'function') {
        const device = (await bluetooth.getDevices()).find((d) => d.id === known.bluetoothId);
        if (device) return () => this.#openBluetooth(device);
      }
      this.#setHint('This browser needs a tap to reach a Bluetooth radio again: tap Connect by Bluetooth.');
      return null;
    }
    return null;
  }

  /** Opens a radio, takes the radio lock from any other tab, and hands the streams to the node. */
  async #takeOver(open: () => Promise<Held>): Promise<RadioStatus> {
    await this.#drop();
    this.#setHint(null);
    const held = await open();
    this.#held = held;
    if ('locks' in navigator) {
      await new Promise<void>((granted) => {
        navigator.locks
          .request(RADIO_LOCK, { steal: true }, () => {
            granted();
            return new Promise<void>((release) => (this.#releaseLock = release));
          })
          .catch(() => {
            // Another tab took the radio over: this tab lets its radio go.
            if (this.#held === held) void this.#drop();
          });
      });
    }
    return this.radio.status();
  }

  async #openSerial(port: SerialPort, known: RememberedRadio): Promise<Held> {
    if (!port.readable) {
      try {
        await port.open({ baudRate: 115200 });
      } catch (error) {
        throw new Error(`The USB port could not be opened (${error instanceof Error ? error.message : String(error)}); is another app using the radio?`);
      }
    }
    await this.#hand('serial', port.readable!, port.writable!);
    remember(known);
    return { close: () => port.close().catch(() => {}) };
  }

  async #openBluetooth(device: BluetoothDevice): Promise<Held> {
    const radio = await openBluetoothRadio(device);
    await this.#hand('bluetooth', radio.readable, radio.writable);
    remember({ connection: 'bluetooth', bluetoothId: device.id });
    return { close: async () => radio.disconnect() };
  }

  async #openSimulated(url: string): Promise<Held> {
    // The simulated radio keeps one name per browser profile (and so its node number), unless the address names one.
    const port = new SimulatedSerialPort(url, new URL(url).searchParams.has('name') ? undefined : simulatedRadioName());
    try {
      await port.open({ baudRate: 115200 });
    } catch (error) {
      throw new Error(`The simulated radio medium at ${url} did not answer (${error instanceof Error ? error.message : String(error)}).`);
    }
    await this.#hand('simulated', port.readable!, port.writable!);
    remember({ connection: 'simulated', url });
    return { close: () => port.close().catch(() => {}) };
  }

  async #hand(connection: RadioConnection, readable: ReadableStream<Uint8Array>, writable: WritableStream<Uint8Array>): Promise<void> {
    const status = await this.radio.connect(connection, Comlink.transfer({ readable, writable }, [readable as unknown as Transferable, writable as unknown as Transferable]));
    if (status.state === 'failed') throw new Error(status.message ?? 'The radio could not be started.');
  }

  async #drop(): Promise<void> {
    const held = this.#held;
    this.#held = undefined;
    this.#releaseLock?.();
    this.#releaseLock = undefined;
    await held?.close();
  }
}

function simulatedRadioName(): string {
  let name = localStorage.getItem('souk-simulated-radio-name');
  if (!name) {
    name = `souk-${Math.floor(Math.random() * 36 ** 6).toString(36)}`;
    localStorage.setItem('souk-simulated-radio-name', name);
  }
  return name;
}

function matches(port: SerialPort, known: RememberedRadio): boolean {
  const info = port.getInfo();
  return info.usbVendorId === known.usbVendorId && info.usbProductId === known.usbProductId;
}

const owners = new WeakMap<object, RadioOwner>();

/** The page's one radio owner for this node. */
export function radioOwnerFor(node: Comlink.Remote<NodeApi>): RadioOwner {
  let owner = owners.get(node);
  if (!owner) {
    owner = new RadioOwner(node.radio);
    owners.set(node, owner);
  }
  return owner;
}
