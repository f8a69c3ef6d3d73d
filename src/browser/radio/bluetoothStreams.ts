/// <reference types="web-bluetooth" />
/**
 * A Meshtastic radio over Web Bluetooth as the same framed byte streams a serial port gives
 * (0x94 0xC3, a 16-bit big-endian length, then a FromRadio or ToRadio protobuf), so the node's
 * Meshtastic client in the worker does not know which way the radio is attached.
 *
 * Over Bluetooth the radio has three characteristics (as @meshtastic/transport-web-bluetooth uses
 * them): ToRadio takes one ToRadio protobuf per write; FromRadio gives one FromRadio protobuf per
 * read, an empty value once nothing more waits; FromNum notifies when something new waits.
 * Web Bluetooth exists only in the page, so this runs in the page and the streams are transferred.
 */

import { frameSerial, SerialDeframer } from '../../meshtastic/serialFraming';

export const MESHTASTIC_SERVICE = '6ba1b218-15a8-461f-9fa8-5dcae273eafd';
export const TO_RADIO = 'f75c76d2-129e-4dad-a1dd-7866124401e7';
export const FROM_RADIO = '2c55e69e-4993-11ed-b878-0242ac120002';
export const FROM_NUM = 'ed9da18c-a800-4f66-a670-aa7547e34453';

export interface BluetoothRadio {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  /** Resolves when the device goes away or is disconnected. */
  gone: Promise<string>;
  disconnect(): void;
}

/** Connects the device's GATT server and makes its characteristics into framed byte streams. */
export async function openBluetoothRadio(device: BluetoothDevice): Promise<BluetoothRadio> {
  const server = await device.gatt?.connect();
  if (!server) throw new Error('The radio did not accept a Bluetooth connection.');
  const service = await server.getPrimaryService(MESHTASTIC_SERVICE);
  const toRadio = await service.getCharacteristic(TO_RADIO);
  const fromRadio = await service.getCharacteristic(FROM_RADIO);
  const fromNum = await service.getCharacteristic(FROM_NUM);

  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let closed = false;
  let reading = false;
  let again = false;
  let resolveGone!: (reason: string) => void;
  const gone = new Promise<string>((resolve) => (resolveGone = resolve));

  const finish = (reason: string) => {
    if (closed) return;
    closed = true;
    device.removeEventListener('gattserverdisconnected', onDisconnected);
    fromNum.removeEventListener('characteristicvaluechanged', onFromNum);
    try {
      controller.close();
    } catch {
      // Already closed or cancelled.
    }
    resolveGone(reason);
  };
  const onDisconnected = () => finish('the Bluetooth radio went away');

  /** Reads FromRadio until it is empty; a FromNum notification during a read reads again. */
  const drain = async () => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        for (;;) {
          if (closed) return;
          const value = await fromRadio.readValue();
          if (value.byteLength === 0) break;
          controller.enqueue(frameSerial(new Uint8Array(value.buffer, value.byteOffset, value.byteLength).slice()));
        }
      } while (again);
    } catch {
      finish('the Bluetooth radio stopped answering');
    } finally {
      reading = false;
    }
  };
  const onFromNum = () => void drain();

  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      finish('the node let the radio go');
      server.disconnect();
    },
  });
  const deframer = new SerialDeframer();
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      for (const protobuf of deframer.push(chunk)) {
        await toRadio.writeValue(protobuf as Uint8Array<ArrayBuffer>);
        void drain();
      }
    },
    close() {
      finish('the node let the radio go');
      server.disconnect();
    },
    abort() {
      finish('the node let the radio go');
      server.disconnect();
    },
  });

  device.addEventListener('gattserverdisconnected', onDisconnected);
  await fromNum.startNotifications();
  fromNum.addEventListener('characteristicvaluechanged', onFromNum);
  void drain();
  return {
    readable,
    writable,
    gone,
    disconnect() {
      finish('disconnected by the merchant');
      server.disconnect();
    },
  };
}
