/**
 * @meshtastic/core 2.6.7's types that its mod.d.ts names but never declares (`Types`, `Utils`
 * come out unresolved), restated from its source. Structurally the same as core's, so a value of
 * these types is what MeshDevice takes and gives.
 */

/** Types.DeviceStatusEnum. */
export const DeviceStatus = {
  Restarting: 1,
  Disconnected: 2,
  Connecting: 3,
  Reconnecting: 4,
  Connected: 5,
  Configuring: 6,
  Configured: 7,
} as const;
export type DeviceStatusNumber = (typeof DeviceStatus)[keyof typeof DeviceStatus];

/** Types.DeviceOutput: what a transport yields from the device. */
export type DeviceOutput =
  | { type: 'packet'; data: Uint8Array }
  | { type: 'debug'; data: string }
  | { type: 'status'; data: { status: DeviceStatusNumber; reason?: string } };

/** Types.Transport. */
export interface Transport {
  toDevice: WritableStream<Uint8Array>;
  fromDevice: ReadableStream<DeviceOutput>;
  disconnect(): Promise<void>;
}

/** Types.PacketMetadata: what the per-port events carry. */
export interface PacketMetadata<T> {
  id: number;
  rxTime: Date;
  type: 'broadcast' | 'direct';
  from: number;
  to: number;
  channel: number;
  data: T;
}

/** Types.PacketError: what sendPacket/sendRaw reject with on a routing error or core's timeout. */
export interface PacketError {
  id: number;
  error: number;
}
