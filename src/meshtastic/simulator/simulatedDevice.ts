import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { Channel, Config, Mesh, Portnums, Telemetry } from '@meshtastic/protobufs';
import type { Clock } from '../../core/clock';
import { MAX_RADIO_PAYLOAD, MODEM_PRESETS, packetAirtimeMs, type ModemPresetName } from '../../core/radio/loraAirtime';
import { frameSerial, SerialDeframer } from '../serialFraming';
import { BROADCAST_NUM, seededRandom, type AirPacket, type MediumPort, type Reception, type SimulatedMedium } from './simulatedMedium';

/**
 * A simulated Meshtastic radio at its serial boundary: ToRadio frames in, FromRadio frames out,
 * as the firmware's stream API speaks them, so the real @meshtastic/core client runs unchanged
 * against it. It answers the config handshake, acknowledges each packet with a ROUTING_APP packet
 * (never synchronously), puts packets on a SimulatedMedium and hands the client what it hears.
 *
 * Acknowledgements, as the firmware gives them: a unicast with wantAck is acknowledged by its
 * destination over the air; a broadcast with wantAck by hearing a neighbour rebroadcast it (the
 * implicit ack); either is sent again up to twice and then answered MAX_RETRANSMIT. A packet
 * without wantAck is answered NONE once it is queued for the air (a simulator convenience: the
 * firmware says nothing). Refusals: TOO_LARGE over 233 bytes, NO_CHANNEL for a channel other than
 * the primary, DUTY_CYCLE_LIMIT (or RATE_LIMIT_EXCEEDED) when the transmit queue is full.
 *
 * Simulator shortcut: names of other nodes come from the medium's registry instead of NODEINFO
 * broadcasts.
 */

export interface SimulatedDeviceOptions {
  medium: SimulatedMedium;
  clock: Clock;
  nodeNum: number;
  longName?: string;
  shortName?: string;
  /** Config.LoRaConfig.RegionCode number; EU_868 (3) by default. */
  region?: number;
  preset?: ModemPresetName;
  /** The hop limit the device gives packets whose sender left it 0 (firmware default 3). */
  hopLimit?: number;
  firmware?: string;
  batteryLevel?: number;
  /** How often the device reports its device metrics to the client, ms. */
  telemetryEveryMs?: number;
  /** Packets heard while nobody is plugged in, kept for the next client (the firmware's to-phone queue). */
  heldLimit?: number;
  /** Nodes remembered in the node database. */
  nodeLimit?: number;
}

/** The bytes of one plugged-in client. */
export interface SerialSession {
  /** Bytes from the client (ToRadio frames). */
  write(bytes: Uint8Array): void;
  /** The client went away. */
  end(): void;
}

export interface SerialStreams {
  /** Bytes from the device. */
  readable: ReadableStream<Uint8Array>;
  /** Bytes to the device. */
  writable: WritableStream<Uint8Array>;
}

interface Plug {
  send(bytes: Uint8Array): void;
  ended(): void;
}

interface KnownNode {
  num: number;
  snr: number;
  lastHeard: number;
  hopsAway: number;
}

interface AwaitingAck {
  packet: AirPacket;
  tries: number;
  cancelTimer: (() => void) | null;
}

/** Answer time for the serial API: "a few ms later", never in the same turn. */
const ANSWER_DELAY_MS = 3;
const MAX_TRIES = 3;
const MAX_HOP_LIMIT = 7;

/** A node's display name on the medium, for the simulated node database (see the shortcut above). */
const names = new WeakMap<SimulatedMedium, Map<number, { longName: string; shortName: string }>>();

export class SimulatedDevice {
  readonly nodeNum: number;
  readonly longName: string;
  readonly shortName: string;
  readonly region: number;
  readonly preset: ModemPresetName;
  readonly hopLimit: number;
  /** Bytes the de-framer skipped and frames that did not decode. */
  readonly rejected = { bytes: 0, frames: 0 };
  private readonly clock: Clock;
  private readonly medium: SimulatedMedium;
  private readonly port: MediumPort;
  private readonly firmware: string;
  private readonly batteryLevel: number;
  private readonly heldLimit: number;
  private readonly nodeLimit: number;
  private readonly telemetryEveryMs: number;
  private plug: Plug | null = null;
  private deframer = new SerialDeframer();
  private fromRadioId = 1;
  private held: Uint8Array[] = [];
  private readonly nodes = new Map<number, KnownNode>();
  private readonly awaiting = new Map<number, AwaitingAck>();
  private readonly timers = new Set<() => void>();
  private stopTelemetry: (() => void) | null = null;
  private powered = true;
  private readonly random: () => number;

  constructor(options: SimulatedDeviceOptions) {
    this.clock = options.clock;
    this.medium = options.medium;
    this.nodeNum = options.nodeNum;
    this.random = seededRandom(options.nodeNum ^ 0x5eed);
    const hex = options.nodeNum.toString(16).padStart(8, '0');
    this.longName = options.longName ?? `Meshtastic ${hex.slice(-4)}`;
    this.shortName = options.shortName ?? hex.slice(-4);
    this.region = options.region ?? Config.Config_LoRaConfig_RegionCode.EU_868;
    this.preset = options.preset ?? 'LONG_FAST';
    this.hopLimit = options.hopLimit ?? 3;
    this.firmware = options.firmware ?? '2.6.7-sim';
    this.batteryLevel = options.batteryLevel ?? 87;
    this.heldLimit = options.heldLimit ?? 32;
    this.nodeLimit = options.nodeLimit ?? 64;
    this.telemetryEveryMs = options.telemetryEveryMs ?? 60_000;
    this.port = options.medium.attach({
      nodeNum: options.nodeNum,
      region: this.region,
      preset: MODEM_PRESETS[this.preset],
      station: { heard: (p, r, d) => this.heard(p, r, d), echoed: (id) => this.echoed(id) },
    });
    const registry = names.get(options.medium) ?? new Map();
    registry.set(options.nodeNum, { longName: this.longName, shortName: this.shortName });
    names.set(options.medium, registry);
  }

  /** Plugs a client in (ending any other): `send` gets the device's bytes. */
  connect(send: (bytes: Uint8Array) => void, ended: () => void): SerialSession {
    if (!this.powered) throw new Error('the device is switched off');
    this.unplug();
    const plug: Plug = { send, ended };
    this.plug = plug;
    this.deframer = new SerialDeframer();
    this.stopTelemetry = this.every(this.telemetryEveryMs, () => this.sendTelemetry());
    return {
      write: (bytes) => {
        if (this.plug !== plug) {
          const error = new Error('the device is unplugged') as Error & { code: string };
          error.code = 'ERR_INVALID_STATE';
          throw error;
        }
        this.serialIn(bytes);
      },
      end: () => {
        if (this.plug === plug) this.unplug();
      },
    };
  }

  /** A serial port's streams for a new client (Node tests, the worker). */
  plugIn(): SerialStreams {
    let session: SerialSession | null = null;
    const readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        session = this.connect(
          (bytes) => controller.enqueue(bytes),
          () => {
            try {
              controller.close();
            } catch {
              /* already closed or cancelled */
            }
          },
        );
      },
      cancel: () => session?.end(),
    });
    const writable = new WritableStream<Uint8Array>({
      write: (chunk) => session?.write(chunk),
      close: () => session?.end(),
      abort: () => session?.end(),
    });
    return { readable, writable };
  }

  /** Pulls the cable: the client's byte streams end. The radio stays on the mesh and keeps what it hears. */
  unplug(): void {
    const plug = this.plug;
    if (!plug) return;
    this.plug = null;
    this.stopTelemetry?.();
    this.stopTelemetry = null;
    plug.ended();
  }

  get plugged(): boolean {
    return this.plug !== null;
  }

  /** Airtime this device used in the last hour, ms. */
  airtimeLastHourMs(): number {
    return this.port.airtimeLastHourMs();
  }

  /** Switches the radio off: off the medium, every timer stopped. */
  powerOff(): void {
    if (!this.powered) return;
    this.unplug();
    this.powered = false;
    for (const cancel of this.timers) cancel();
    this.timers.clear();
    for (const waiting of this.awaiting.values()) waiting.cancelTimer?.();
    this.awaiting.clear();
    this.port.detach();
    names.get(this.medium)?.delete(this.nodeNum);
  }

  private after(ms: number, action: () => void): void {
    const cancel = this.clock.setTimer(() => {
      this.timers.delete(cancel);
      action();
    }, ms);
    this.timers.add(cancel);
  }

  private every(ms: number, action: () => void): () => void {
    let cancel: () => void = () => {};
    const tick = () => {
      this.timers.delete(cancel);
      action();
      cancel = this.clock.setTimer(tick, ms);
      this.timers.add(cancel);
    };
    cancel = this.clock.setTimer(tick, ms);
    this.timers.add(cancel);
    return () => {
      cancel();
      this.timers.delete(cancel);
    };
  }

  private serialIn(bytes: Uint8Array): void {
    const before = this.deframer.skipped;
    const frames = this.deframer.push(bytes);
    this.rejected.bytes += this.deframer.skipped - before;
    for (const frame of frames) {
      let toRadio: Mesh.ToRadio;
      try {
        toRadio = fromBinary(Mesh.ToRadioSchema, frame);
      } catch {
        this.rejected.frames++;
        continue;
      }
      this.handle(toRadio);
    }
  }

  /** Sends FromRadio messages to the client, a few ms later and in order. */
  private answer(messages: Mesh.FromRadio[]): void {
    const frames = messages.map((m) => frameSerial(toBinary(Mesh.FromRadioSchema, m)));
    const plug = this.plug;
    if (!plug) return;
    this.after(ANSWER_DELAY_MS, () => {
      if (this.plug !== plug) return;
      for (const frame of frames) plug.send(frame);
    });
  }

  private fromRadio(variant: Mesh.FromRadio['payloadVariant']): Mesh.FromRadio {
    return create(Mesh.FromRadioSchema, { id: this.fromRadioId++, payloadVariant: variant });
  }

  private handle(toRadio: Mesh.ToRadio): void {
    const variant = toRadio.payloadVariant;
    switch (variant.case) {
      case 'wantConfigId':
        return this.answer(this.configMessages(variant.value));
      case 'heartbeat':
        return this.answer([this.fromRadio({ case: 'queueStatus', value: create(Mesh.QueueStatusSchema, { free: 32 - this.port.queued(), maxlen: 32 }) })]);
      case 'packet':
        return this.send(variant.value);
      case 'disconnect':
        return this.unplug();
      default:
        return; // other requests (xmodem, mqtt proxy) are not simulated
    }
  }

  private configMessages(configId: number): Mesh.FromRadio[] {
    const messages: Mesh.FromRadio[] = [
      this.fromRadio({ case: 'myInfo', value: create(Mesh.MyNodeInfoSchema, { myNodeNum: this.nodeNum, rebootCount: 0, minAppVersion: 30200 }) }),
      this.fromRadio({ case: 'nodeInfo', value: this.nodeInfoOf(this.nodeNum, null) }),
    ];
    for (const node of this.nodes.values()) messages.push(this.fromRadio({ case: 'nodeInfo', value: this.nodeInfoOf(node.num, node) }));
    messages.push(
      this.fromRadio({
        case: 'metadata',
        value: create(Mesh.DeviceMetadataSchema, {
          firmwareVersion: this.firmware,
          deviceStateVersion: 23,
          hasSerial: true,
          hwModel: Mesh.HardwareModel.PORTDUINO,
          role: Config.Config_DeviceConfig_Role.CLIENT,
        }),
      }),
      this.fromRadio({
        case: 'config',
        value: create(Config.ConfigSchema, {
          payloadVariant: { case: 'device', value: create(Config.Config_DeviceConfigSchema, { role: Config.Config_DeviceConfig_Role.CLIENT }) },
        }),
      }),
      this.fromRadio({
        case: 'config',
        value: create(Config.ConfigSchema, {
          payloadVariant: {
            case: 'lora',
            value: create(Config.Config_LoRaConfigSchema, {
              usePreset: true,
              modemPreset: MODEM_PRESETS[this.preset].id,
              region: this.region,
              hopLimit: this.hopLimit,
              txEnabled: true,
            }),
          },
        }),
      }),
      this.fromRadio({
        case: 'channel',
        value: create(Channel.ChannelSchema, {
          index: 0,
          role: Channel.Channel_Role.PRIMARY,
          settings: create(Channel.ChannelSettingsSchema, { name: '', psk: new Uint8Array([1]) }),
        }),
      }),
      this.fromRadio({ case: 'configCompleteId', value: configId }),
    );
    const held = this.held;
    this.held = [];
    for (const bytes of held) messages.push(fromBinary(Mesh.FromRadioSchema, bytes));
    this.after(ANSWER_DELAY_MS * 2, () => this.sendTelemetry());
    return messages;
  }

  private nodeInfoOf(num: number, known: KnownNode | null): Mesh.NodeInfo {
    const name = names.get(this.medium)?.get(num);
    const hex = num.toString(16).padStart(8, '0');
    return create(Mesh.NodeInfoSchema, {
      num,
      user: create(Mesh.UserSchema, {
        id: `!${hex}`,
        longName: name?.longName ?? `Meshtastic ${hex.slice(-4)}`,
        shortName: name?.shortName ?? hex.slice(-4),
        hwModel: Mesh.HardwareModel.PORTDUINO,
      }),
      snr: known?.snr ?? 0,
      lastHeard: known ? Math.floor(known.lastHeard / 1000) : Math.floor(this.clock.now() / 1000),
      hopsAway: known?.hopsAway,
    });
  }

  private routingAnswer(requestId: number, error: Mesh.Routing_Error, from = this.nodeNum): Mesh.FromRadio {
    return this.fromRadio({
      case: 'packet',
      value: create(Mesh.MeshPacketSchema, {
        from,
        to: this.nodeNum,
        id: this.randomId(),
        channel: 0,
        rxTime: Math.floor(this.clock.now() / 1000),
        payloadVariant: {
          case: 'decoded',
          value: create(Mesh.DataSchema, {
            portnum: Portnums.PortNum.ROUTING_APP,
            payload: toBinary(Mesh.RoutingSchema, create(Mesh.RoutingSchema, { variant: { case: 'errorReason', value: error } })),
            requestId,
          }),
        },
      }),
    });
  }

  private randomId(): number {
    return (Math.floor(this.random() * 0xfffffffe) + 1) >>> 0;
  }

  private send(packet: Mesh.MeshPacket): void {
    if (packet.payloadVariant.case !== 'decoded') return this.answer([this.routingAnswer(packet.id, Mesh.Routing_Error.BAD_REQUEST)]);
    const data = packet.payloadVariant.value;
    if (data.payload.length > MAX_RADIO_PAYLOAD) return this.answer([this.routingAnswer(packet.id, Mesh.Routing_Error.TOO_LARGE)]);
    if (packet.channel !== 0) return this.answer([this.routingAnswer(packet.id, Mesh.Routing_Error.NO_CHANNEL)]);
    if (packet.to === this.nodeNum || packet.to === 0) return this.answer([this.routingAnswer(packet.id, Mesh.Routing_Error.NONE)]);
    const hopLimit = packet.hopLimit === 0 ? this.hopLimit : Math.min(packet.hopLimit, MAX_HOP_LIMIT);
    const air: AirPacket = {
      id: packet.id,
      from: this.nodeNum,
      to: packet.to,
      channel: 0,
      hopLimit,
      hopStart: hopLimit,
      wantAck: packet.wantAck,
      portnum: data.portnum,
      payload: data.payload,
      requestId: data.requestId,
      relayNode: this.nodeNum,
    };
    if (!packet.wantAck) {
      const result = this.port.transmit(air);
      return this.answer([this.routingAnswer(packet.id, result.queued ? Mesh.Routing_Error.NONE : refusalError(result.refusal))]);
    }
    const waiting: AwaitingAck = { packet: air, tries: 0, cancelTimer: null };
    this.awaiting.set(air.id, waiting);
    this.transmitAwaiting(waiting);
  }

  /** (Re)sends a packet that wants an acknowledgement, and waits for it once it is on air. */
  private transmitAwaiting(waiting: AwaitingAck): void {
    waiting.tries++;
    const result = this.port.transmit(waiting.packet, () => {
      if (this.awaiting.get(waiting.packet.id) !== waiting) return;
      waiting.cancelTimer = this.clock.setTimer(() => this.retransmit(waiting), this.ackWaitMs(waiting.packet));
    });
    if (!result.queued) this.acknowledge(waiting.packet.id, refusalError(result.refusal));
  }

  private retransmit(waiting: AwaitingAck): void {
    waiting.cancelTimer = null;
    if (this.awaiting.get(waiting.packet.id) !== waiting) return;
    if (waiting.tries >= MAX_TRIES) return this.acknowledge(waiting.packet.id, Mesh.Routing_Error.MAX_RETRANSMIT);
    this.transmitAwaiting(waiting);
  }

  /** Long enough for the packet to cross its hops and an answer to come back, with the relays' delays. */
  private ackWaitMs(packet: AirPacket): number {
    const hops = Math.max(1, packet.hopLimit);
    return (2 * hops + 1) * (packetAirtimeMs(packet.payload.length, MODEM_PRESETS[this.preset]) + 500);
  }

  /** Ends the wait for an acknowledgement and tells the client (unless `answered`: the ack itself goes to the client). */
  private acknowledge(id: number, error: Mesh.Routing_Error, answered = false): void {
    const waiting = this.awaiting.get(id);
    if (!waiting) return;
    waiting.cancelTimer?.();
    this.awaiting.delete(id);
    if (!answered) this.toClient(this.routingAnswer(id, error));
  }

  private echoed(packetId: number): void {
    const waiting = this.awaiting.get(packetId);
    if (waiting && waiting.packet.to === BROADCAST_NUM) this.acknowledge(packetId, Mesh.Routing_Error.NONE);
  }

  private heard(packet: AirPacket, reception: Reception, duplicate: boolean): void {
    if (packet.to === this.nodeNum && packet.wantAck) this.sendAckOverAir(packet);
    if (duplicate) return;
    this.learn(packet, reception);
    if (packet.portnum === Portnums.PortNum.ROUTING_APP && packet.to === this.nodeNum && this.awaiting.has(packet.requestId)) {
      this.acknowledge(packet.requestId, Mesh.Routing_Error.NONE, true);
    }
    this.toClient(
      this.fromRadio({
        case: 'packet',
        value: create(Mesh.MeshPacketSchema, {
          from: packet.from,
          to: packet.to,
          id: packet.id,
          channel: packet.channel,
          hopLimit: packet.hopLimit,
          hopStart: packet.hopStart,
          wantAck: packet.wantAck,
          rxSnr: reception.snr,
          rxRssi: reception.rssi,
          rxTime: Math.floor(this.clock.now() / 1000),
          relayNode: packet.relayNode & 0xff,
          payloadVariant: {
            case: 'decoded',
            value: create(Mesh.DataSchema, { portnum: packet.portnum, payload: packet.payload, requestId: packet.requestId }),
          },
        }),
      }),
    );
  }

  private sendAckOverAir(packet: AirPacket): void {
    const routing = toBinary(Mesh.RoutingSchema, create(Mesh.RoutingSchema, { variant: { case: 'errorReason', value: Mesh.Routing_Error.NONE } }));
    this.port.transmit({
      id: this.randomId(),
      from: this.nodeNum,
      to: packet.from,
      channel: 0,
      hopLimit: this.hopLimit,
      hopStart: this.hopLimit,
      wantAck: false,
      portnum: Portnums.PortNum.ROUTING_APP,
      payload: routing,
      requestId: packet.id,
      relayNode: this.nodeNum,
    });
  }

  private learn(packet: AirPacket, reception: Reception): void {
    if (packet.from === this.nodeNum) return;
    this.nodes.delete(packet.from);
    this.nodes.set(packet.from, {
      num: packet.from,
      snr: reception.snr,
      lastHeard: this.clock.now(),
      hopsAway: packet.hopStart - packet.hopLimit,
    });
    while (this.nodes.size > this.nodeLimit) this.nodes.delete(this.nodes.keys().next().value!);
  }

  /** To the client now, or held (bounded, oldest dropped) until one plugs in. */
  private toClient(message: Mesh.FromRadio): void {
    if (this.plug) return this.answer([message]);
    this.held.push(toBinary(Mesh.FromRadioSchema, message));
    if (this.held.length > this.heldLimit) this.held.shift();
  }

  private sendTelemetry(): void {
    if (!this.plug) return;
    const telemetry = create(Telemetry.TelemetrySchema, {
      time: Math.floor(this.clock.now() / 1000),
      variant: {
        case: 'deviceMetrics',
        value: create(Telemetry.DeviceMetricsSchema, {
          batteryLevel: this.batteryLevel,
          voltage: 4.1,
          channelUtilization: this.port.channelUtilization(),
          airUtilTx: (this.port.airtimeLastHourMs() / 3_600_000) * 100,
          uptimeSeconds: 0,
        }),
      },
    });
    this.answer([
      this.fromRadio({
        case: 'packet',
        value: create(Mesh.MeshPacketSchema, {
          from: this.nodeNum,
          to: BROADCAST_NUM,
          id: this.randomId(),
          rxTime: Math.floor(this.clock.now() / 1000),
          payloadVariant: {
            case: 'decoded',
            value: create(Mesh.DataSchema, { portnum: Portnums.PortNum.TELEMETRY_APP, payload: toBinary(Telemetry.TelemetrySchema, telemetry) }),
          },
        }),
      }),
    ]);
  }
}

function refusalError(refusal: 'queue-full-duty-cycle' | 'queue-full'): Mesh.Routing_Error {
  return refusal === 'queue-full-duty-cycle' ? Mesh.Routing_Error.DUTY_CYCLE_LIMIT : Mesh.Routing_Error.RATE_LIMIT_EXCEEDED;
}
