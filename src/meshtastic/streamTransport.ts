import { Utils } from '@meshtastic/core';
import { DeviceStatus, type DeviceOutput, type Transport } from './clientTypes';

/**
 * A @meshtastic/core Transport over a pair of serial byte streams (a Web Serial port's, handed to
 * the worker; a simulated device's in Node tests). Framing is core's own (toDeviceStream and
 * fromDeviceStream: 0x94 0xC3, 16-bit big-endian length, protobuf). The device's stream ending or
 * failing, a failed write, and disconnect() each surface once as a DeviceDisconnected status with
 * a reason, then the output ends; the output never errors (MeshDevice pipes it unguarded).
 */
export interface StreamTransport extends Transport {
  /** Resolves with the reason once the device is gone (or disconnect() ran). */
  readonly disconnected: Promise<string>;
}

export function streamTransport(fromDevice: ReadableStream<Uint8Array>, toDevice: WritableStream<Uint8Array>): StreamTransport {
  const abort = new AbortController();
  let output: ReadableStreamDefaultController<DeviceOutput> | null = null;
  let gone: string | null = null;
  let resolveGone!: (reason: string) => void;
  const disconnected = new Promise<string>((resolve) => (resolveGone = resolve));
  const pending: DeviceOutput[] = [];

  const emit = (item: DeviceOutput) => {
    if (output) output.enqueue(item);
    else pending.push(item);
  };
  const end = (reason: string) => {
    if (gone !== null) return;
    gone = reason;
    abort.abort();
    emit({ type: 'status', data: { status: DeviceStatus.Disconnected, reason } });
    try {
      output?.close();
    } catch {
      /* the client cancelled its side */
    }
    resolveGone(reason);
  };

  const framing: TransformStream<Uint8Array, Uint8Array> = Utils.toDeviceStream();
  framing.readable.pipeTo(toDevice, { signal: abort.signal }).then(
    () => end('the link to the device closed'),
    (error: unknown) => end(abort.signal.aborted ? (gone ?? 'disconnected') : `writing to the device failed: ${describe(error)}`),
  );

  const frames = fromDevice.pipeThrough<DeviceOutput>(Utils.fromDeviceStream());
  const reader = frames.getReader();
  const output$ = new ReadableStream<DeviceOutput>({
    start(controller) {
      output = controller;
      for (const item of pending.splice(0)) controller.enqueue(item);
      if (gone !== null) {
        controller.close();
        return;
      }
      controller.enqueue({ type: 'status', data: { status: DeviceStatus.Connecting } });
      controller.enqueue({ type: 'status', data: { status: DeviceStatus.Connected } });
      void (async () => {
        try {
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            if (gone === null) controller.enqueue(value);
          }
          end('the device went away (its serial stream ended)');
        } catch (error) {
          end(gone ?? `reading from the device failed: ${describe(error)}`);
        }
      })();
    },
    cancel() {
      end('the client stopped reading');
      void reader.cancel().catch(() => {});
    },
  });

  return {
    toDevice: framing.writable,
    fromDevice: output$,
    disconnected,
    async disconnect() {
      if (gone === null) {
        end('disconnected');
        await reader.cancel().catch(() => {});
      }
    },
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
