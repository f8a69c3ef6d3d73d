import { create, toBinary } from '@bufbuild/protobuf';
import { Constants, MeshDevice, Protobuf } from '@meshtastic/core';
import { DeviceStatus, type PacketError, type PacketMetadata, type Transport } from './clientTypes';
import { systemClock, type Clock } from '../core/clock';
import { DatagramLinkError, type DatagramHandlers, type DatagramLink, type DatagramSendOptions } from '../core/link/datagramLink';
import { MAX_RADIO_PAYLOAD, presetByNumber, REGION_NAMES } from '../core/radio/loraAirtime';
import type { RadioDeviceInfo, RadioNeighbour } from '../core/radio/radioView';

/**
 * The DatagramLink over a Meshtastic radio, through @meshtastic/core's MeshDevice: datagrams are
 * Data packets on the private application port (PortNum.PRIVATE_APP, 256). A send resolves on the
 * radio's routing acknowledgement: for a unicast, the destination's ack; for a broadcast, the
 * implicit ack (the radio heard a neighbour rebroadcast it). Both ask for wantAck, since without
 * it the firmware answers nothing and core would wait its 60 s out. A refusal (Routing error), the
 * link's own timeout or the link closing rejects with DatagramLinkError.
 *
 * configure() is started, never awaited (it resolves only on a 60 s timeout): the link is ready on
 * the DeviceConfigured status. A DeviceDisconnected status (cable pulled, stream ended) closes it.
 */

export type MeshtasticLinkState = 'configuring' | 'connected' | 'unplugged' | 'off';

export interface MeshtasticRadioInfo {
  device: RadioDeviceInfo | null;
  /** Nodes heard, most recent first (bounded). */
  neighbours: RadioNeighbour[];
  /** Config.LoRaConfig.RegionCode number (0 = unset, until the device said). */
  region: number;
  /** Modem preset number (LONG_FAST = 0). */
  preset: number;
  /** Percent, as the device last reported; null until it did. */
  channelUtilization: number | null;
  state: MeshtasticLinkState;
}

export interface MeshtasticLinkOptions {
  /** The node's clock (timeouts, heartbeat, when a datagram arrived); the system's by default. */
  clock?: Clock;
  label?: string;
  /** How long a send may wait for its acknowledgement, ms (core's own limit is 60 s). */
  sendTimeoutMs?: number;
  /** How long the config handshake may take before the link gives up, ms. */
  configureTimeoutMs?: number;
  /** Datagrams awaiting acknowledgement at once. */
  maxInFlight?: number;
  /** Neighbours kept for the Radio page. */
  neighbourLimit?: number;
  /** Heartbeat to the radio (the firmware drops a silent serial client), ms; 0 for none. */
  heartbeatMs?: number;
}

const MAX_HOP_LIMIT = 7;
const INFO_LISTENER_LIMIT = 16;

interface InFlight {
  reject(error: DatagramLinkError): void;
}

export class MeshtasticLink implements DatagramLink {
  readonly label: string;
  readonly maxPayload = MAX_RADIO_PAYLOAD;
  private readonly clock: Clock;
  private readonly options: Required<Omit<MeshtasticLinkOptions, 'clock' | 'label'>>;
  private handlers: DatagramHandlers | null = null;
  private state: MeshtasticLinkState = 'configuring';
  private myNodeNum: number | null = null;
  private own: { longName: string; shortName: string; hardware: string } | null = null;
  private firmware = '';
  private region = 0;
  private preset = 0;
  private channelName = '';
  private batteryLevel: number | null = null;
  private channelUtilization: number | null = null;
  private readonly neighbours = new Map<number, RadioNeighbour>();
  private readonly names = new Map<number, string>();
  private readonly inFlight = new Set<InFlight>();
  private readonly infoListeners = new Set<(info: MeshtasticRadioInfo) => void>();
  private readonly unsubscribers: (() => void)[] = [];
  private readonly cancelTimers: (() => void)[] = [];
  private cancelHeartbeat: () => void = () => {};
  private lastMeshPacket: Protobuf.Mesh.MeshPacket | null = null;
  private ended = false;

  /** The @meshtastic/core client under the link (for its log settings and tests). */
  readonly device: MeshDevice;

  constructor(transport: Transport, options: MeshtasticLinkOptions = {}) {
    this.device = new MeshDevice(transport);
    this.clock = options.clock ?? systemClock;
    this.label = options.label ?? 'Meshtastic radio';
    this.options = {
      sendTimeoutMs: options.sendTimeoutMs ?? 45_000,
      configureTimeoutMs: options.configureTimeoutMs ?? 30_000,
      maxInFlight: options.maxInFlight ?? 32,
      neighbourLimit: options.neighbourLimit ?? 64,
      heartbeatMs: options.heartbeatMs ?? 5 * 60_000,
    };
  }

  get address(): number | null {
    return this.myNodeNum;
  }

  start(handlers: DatagramHandlers): void {
    if (this.handlers) throw new Error('MeshtasticLink.start runs once');
    this.handlers = handlers;
    const events = this.device.events;
    this.unsubscribers.push(
      events.onDeviceStatus.subscribe((status: number) => this.status(status)),
      events.onMyNodeInfo.subscribe((info: Protobuf.Mesh.MyNodeInfo) => {
        this.myNodeNum = info.myNodeNum;
        this.changed();
      }),
      events.onNodeInfoPacket.subscribe((node: Protobuf.Mesh.NodeInfo) => this.nodeInfo(node)),
      events.onDeviceMetadataPacket.subscribe((packet: PacketMetadata<Protobuf.Mesh.DeviceMetadata>) => {
        this.firmware = packet.data.firmwareVersion;
        this.changed();
      }),
      events.onConfigPacket.subscribe((config: Protobuf.Config.Config) => {
        if (config.payloadVariant.case !== 'lora') return;
        this.region = config.payloadVariant.value.region;
        this.preset = config.payloadVariant.value.modemPreset;
        this.changed();
      }),
      events.onChannelPacket.subscribe((channel: Protobuf.Channel.Channel) => {
        if (channel.index !== 0) return;
        this.channelName = channel.settings?.name ?? '';
        this.changed();
      }),
      events.onTelemetryPacket.subscribe((packet: PacketMetadata<Protobuf.Telemetry.Telemetry>) => {
        if (packet.from !== this.myNodeNum || packet.data.variant.case !== 'deviceMetrics') return;
        const metrics = packet.data.variant.value;
        if (metrics.batteryLevel !== undefined) this.batteryLevel = metrics.batteryLevel;
        if (metrics.channelUtilization !== undefined) this.channelUtilization = metrics.channelUtilization;
        this.changed();
      }),
      events.onMeshPacket.subscribe((packet: Protobuf.Mesh.MeshPacket) => this.meshPacket(packet)),
      events.onPrivatePacket.subscribe((packet: PacketMetadata<Uint8Array>) => this.privatePacket(packet)),
    );
    this.cancelTimers.push(
      this.clock.setTimer(() => {
        if (this.state === 'configuring') this.end('the radio did not finish its configuration in time', true);
      }, this.options.configureTimeoutMs),
    );
    this.device.configure().catch(() => {
      /* resolves or rejects on core's 60 s timer; readiness comes from DeviceConfigured */
    });
  }

  send(payload: Uint8Array, to: number | 'broadcast', options: DatagramSendOptions = {}): Promise<void> {
    if (this.ended) return Promise.reject(new DatagramLinkError('the radio link is closed'));
    if (this.state !== 'connected' || this.myNodeNum === null) return Promise.reject(new DatagramLinkError('the radio is not ready yet'));
    if (payload.length > this.maxPayload) return Promise.reject(new DatagramLinkError(`a datagram carries at most ${this.maxPayload} bytes, not ${payload.length}`));
    if (to !== 'broadcast' && !(Number.isInteger(to) && to > 0 && to < Constants.broadcastNum)) {
      return Promise.reject(new DatagramLinkError(`${String(to)} is not a node number`));
    }
    const hopLimit = options.hopLimit ?? 0;
    if (!Number.isInteger(hopLimit) || hopLimit < 0 || hopLimit > MAX_HOP_LIMIT) {
      return Promise.reject(new DatagramLinkError(`hop limit must be 0–${MAX_HOP_LIMIT}, not ${hopLimit}`));
    }
    if (this.inFlight.size >= this.options.maxInFlight) {
      return Promise.reject(new DatagramLinkError(`${this.options.maxInFlight} datagrams already wait for the radio`));
    }
    const id = packetId();
    const toRadio = create(Protobuf.Mesh.ToRadioSchema, {
      payloadVariant: {
        case: 'packet',
        value: create(Protobuf.Mesh.MeshPacketSchema, {
          from: this.myNodeNum,
          to: to === 'broadcast' ? Constants.broadcastNum : to,
          id,
          channel: 0,
          wantAck: true,
          // 0 lets the radio use its configured hop limit (the serial API cannot ask for 0 hops).
          hopLimit,
          payloadVariant: { case: 'decoded', value: create(Protobuf.Mesh.DataSchema, { portnum: Protobuf.Portnums.PortNum.PRIVATE_APP, payload }) },
        }),
      },
    });
    const bytes = toBinary(Protobuf.Mesh.ToRadioSchema, toRadio);
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      const entry: InFlight = {
        reject: (error) => finish(() => reject(error)),
      };
      const cancelTimer = this.clock.setTimer(
        () => entry.reject(new DatagramLinkError(`the radio did not acknowledge the datagram within ${this.options.sendTimeoutMs} ms`)),
        this.options.sendTimeoutMs,
      );
      const finish = (settle: () => void) => {
        if (settled) return;
        settled = true;
        cancelTimer();
        this.inFlight.delete(entry);
        settle();
      };
      this.inFlight.add(entry);
      const sending = this.device.sendRaw(bytes, id);
      // Core rejects the queued item's own promise when the radio's answer comes while its queue
      // is still writing other packets, before sendRaw reaches queue.wait(): mark it handled so
      // it is not an unhandled rejection (the same outcome reaches us through `sending`).
      for (const item of this.device.queue.getState()) if (item.id === id) item.promise.catch(() => {});
      sending.then(
        () => finish(resolve),
        (error: unknown) => entry.reject(new DatagramLinkError(`the radio refused the datagram: ${routingReason(error)}`)),
      );
    });
  }

  close(reason: string): void {
    this.end(reason, false);
  }

  info(): MeshtasticRadioInfo {
    const device: RadioDeviceInfo | null =
      this.myNodeNum === null
        ? null
        : {
            longName: this.own?.longName ?? '',
            shortName: this.own?.shortName ?? '',
            nodeNum: this.myNodeNum,
            firmware: this.firmware,
            hardware: this.own?.hardware ?? '',
            region: REGION_NAMES[this.region] ?? String(this.region),
            preset: presetByNumber(this.preset)?.name ?? String(this.preset),
            channel: this.channelName,
            batteryLevel: this.batteryLevel,
          };
    return {
      device,
      neighbours: [...this.neighbours.values()].reverse().map((n) => ({ ...n })),
      region: this.region,
      preset: this.preset,
      channelUtilization: this.channelUtilization,
      state: this.state,
    };
  }

  /** Runs `listener` with the new info on every change. Returns the unsubscribe. */
  onInfo(listener: (info: MeshtasticRadioInfo) => void): () => void {
    if (this.infoListeners.size >= INFO_LISTENER_LIMIT) throw new Error(`at most ${INFO_LISTENER_LIMIT} radio info listeners`);
    this.infoListeners.add(listener);
    return () => this.infoListeners.delete(listener);
  }

  private changed(): void {
    if (this.infoListeners.size === 0) return;
    const info = this.info();
    for (const listener of [...this.infoListeners]) listener(info);
  }

  private status(status: number): void {
    if (status === DeviceStatus.Configured && this.state === 'configuring') {
      this.state = 'connected';
      if (this.options.heartbeatMs > 0) this.heartbeat();
      this.changed();
    } else if (status === DeviceStatus.Disconnected) {
      this.end('the radio was unplugged or went away', true);
    }
  }

  private heartbeat(): void {
    this.cancelHeartbeat = this.clock.setTimer(() => {
      if (this.ended) return;
      this.device.heartbeat().catch(() => {});
      this.heartbeat();
    }, this.options.heartbeatMs);
  }

  private nodeInfo(node: Protobuf.Mesh.NodeInfo): void {
    if (node.num === this.myNodeNum) {
      if (node.user) {
        this.own = {
          longName: node.user.longName,
          shortName: node.user.shortName,
          hardware: Protobuf.Mesh.HardwareModel[node.user.hwModel] ?? String(node.user.hwModel),
        };
      }
      this.changed();
      return;
    }
    if (node.user) {
      this.names.delete(node.num);
      this.names.set(node.num, node.user.longName);
      while (this.names.size > this.options.neighbourLimit * 2) this.names.delete(this.names.keys().next().value!);
    }
    this.neighbour(node.num, {
      snr: node.snr,
      lastHeard: node.lastHeard * 1000,
      hopsAway: node.hopsAway ?? null,
    });
  }

  private meshPacket(packet: Protobuf.Mesh.MeshPacket): void {
    this.lastMeshPacket = packet;
    if (packet.from === this.myNodeNum || packet.from === 0 || packet.rxTime === 0) return;
    this.neighbour(packet.from, {
      snr: packet.rxSnr,
      lastHeard: this.clock.now(),
      hopsAway: packet.hopStart > 0 ? packet.hopStart - packet.hopLimit : null,
    });
  }

  private neighbour(nodeNum: number, seen: Omit<RadioNeighbour, 'nodeNum' | 'name'>): void {
    this.neighbours.delete(nodeNum);
    this.neighbours.set(nodeNum, { nodeNum, name: this.names.get(nodeNum) ?? `!${nodeNum.toString(16).padStart(8, '0')}`, ...seen });
    while (this.neighbours.size > this.options.neighbourLimit) this.neighbours.delete(this.neighbours.keys().next().value!);
    this.changed();
  }

  private privatePacket(packet: PacketMetadata<Uint8Array>): void {
    if (this.ended || !this.handlers || packet.from === this.myNodeNum) return;
    const mesh = this.lastMeshPacket?.id === packet.id && this.lastMeshPacket.from === packet.from ? this.lastMeshPacket : null;
    this.handlers.receive({
      from: packet.from,
      to: packet.to === Constants.broadcastNum ? 'broadcast' : packet.to,
      payload: packet.data,
      snr: mesh ? mesh.rxSnr : undefined,
      hopsAway: mesh && mesh.hopStart > 0 ? mesh.hopStart - mesh.hopLimit : undefined,
      receivedAt: this.clock.now(),
    });
  }

  private end(reason: string, unplugged: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.state = unplugged ? 'unplugged' : 'off';
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    for (const cancel of this.cancelTimers.splice(0)) cancel();
    this.cancelHeartbeat();
    for (const entry of [...this.inFlight]) entry.reject(new DatagramLinkError(`the radio link closed: ${reason}`));
    this.changed();
    this.infoListeners.clear();
    this.device.disconnect().catch(() => {});
    const handlers = this.handlers;
    this.handlers = null;
    handlers?.closed(reason);
  }
}

function routingReason(error: unknown): string {
  if (error && typeof error === 'object' && 'error' in error && typeof (error as PacketError).error === 'number') {
    const code = (error as PacketError).error;
    return Protobuf.Mesh.Routing_Error[code] ?? `routing error ${code}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** A packet id as the client makes them: random, non-zero. */
function packetId(): number {
  const [value] = crypto.getRandomValues(new Uint32Array(1));
  return value! % 0xfffffffe + 1;
}
