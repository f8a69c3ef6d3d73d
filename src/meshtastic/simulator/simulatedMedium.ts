import type { Clock } from '../../core/clock';
import { dutyCycleOf, packetAirtimeMs, type ModemPreset } from '../../core/radio/loraAirtime';
import { seededRandom } from '../../core/seededRandom';
export { seededRandom };

/**
 * A simulated LoRa medium: nodes at places in a topology, one shared channel per neighbourhood,
 * airtime from the preset, listen-before-talk, loss, Meshtastic's managed flooding (a node that
 * hears a packet it has not seen, with hops left, rebroadcasts it once after a short random delay,
 * and drops its own rebroadcast when it hears a neighbour's first) and each node's duty cycle over
 * a rolling hour (a node over its budget holds packets in a bounded queue). Time is the injected
 * clock's; chance is a seeded generator, so a run repeats exactly.
 */

export const BROADCAST_NUM = 0xffffffff;
const HOUR_MS = 3_600_000;
/** Channel utilisation is measured over the last minute, as the firmware does. */
const UTILIZATION_WINDOW_MS = 60_000;

/** One packet on air: the header fields a Meshtastic radio sends, and the decoded Data. */
export interface AirPacket {
  id: number;
  from: number;
  /** A node number, or BROADCAST_NUM. */
  to: number;
  channel: number;
  hopLimit: number;
  hopStart: number;
  wantAck: boolean;
  portnum: number;
  payload: Uint8Array;
  /** For ROUTING_APP answers: the id of the packet answered. */
  requestId: number;
  /** The node that put this copy on air (the sender, or a relay). */
  relayNode: number;
}

export interface Reception {
  snr: number;
  rssi: number;
}

/** What a node on the medium is told. */
export interface MediumStation {
  /**
   * A packet for this node (to it, or broadcast). `duplicate`: heard before (a relay's copy or a
   * retransmission); the device answers a duplicate only to acknowledge it again.
   */
  heard(packet: AirPacket, reception: Reception, duplicate: boolean): void;
  /** A neighbour rebroadcast a packet this node sent: Meshtastic's implicit acknowledgement. */
  echoed(packetId: number): void;
}

export interface MediumNodeOptions {
  nodeNum: number;
  /** Config.LoRaConfig.RegionCode number (EU_868 = 3). */
  region: number;
  preset: ModemPreset;
  station: MediumStation;
}

export type TransmitRefusal = 'queue-full-duty-cycle' | 'queue-full';

export interface MediumPort {
  /**
   * Queues a packet for the air. `onAir` runs when its transmission ends. Refused when the
   * node's queue is full (with the reason: over its duty cycle, or just busy).
   */
  transmit(packet: AirPacket, onAir?: () => void): { queued: true } | { queued: false; refusal: TransmitRefusal };
  /** Airtime this node used in the last hour, ms. */
  airtimeLastHourMs(): number;
  /** Share (0..100) of the last minute the channel was busy as this node hears it. */
  channelUtilization(): number;
  /** Packets waiting in this node's queue. */
  queued(): number;
  detach(): void;
}

export interface MediumOptions {
  clock: Clock;
  /** Seed of the medium's random generator. */
  seed?: number;
  /** Chance (0..1) that one reception is lost. */
  loss?: number;
  /**
   * Who hears whom: node number → the node numbers it hears (made symmetric). Nodes not listed
   * hear nobody. Absent: everyone hears everyone.
   */
  neighbours?: ReadonlyMap<number, readonly number[]>;
  /** A node's transmit queue (its own packets and rebroadcasts). */
  queueLimit?: number;
  /** Rebroadcast delay range, ms (a relay waits this long before it contends for the channel). */
  rebroadcastDelayMs?: readonly [number, number];
  /** Packets each node remembers as seen (for dropping duplicates). */
  seenLimit?: number;
}

export interface MediumStats {
  packetsOnAir: number;
  receptions: number;
  lost: number;
  /** Total airtime per node since the start, ms. */
  airtimeMs: Map<number, number>;
}

/** One transmission, for duty-cycle accounting and utilisation. */
export interface Transmission {
  nodeNum: number;
  start: number;
  end: number;
  packet: AirPacket;
}

interface Outgoing {
  packet: AirPacket;
  onAir?: () => void;
  /** A rebroadcast, not the node's own packet: dropped when a neighbour's copy is heard first. */
  relay: boolean;
  notBefore: number;
}

interface NodeState {
  options: MediumNodeOptions;
  queue: Outgoing[];
  seen: Map<string, true>;
  /** This node's transmissions that ended less than an hour ago. */
  log: Transmission[];
  transmitting: Transmission | null;
  wakeTimer: (() => void) | null;
  totalAirtimeMs: number;
}


const keyOf = (packet: AirPacket): string => `${packet.from}:${packet.id}`;

export class SimulatedMedium {
  readonly stats: MediumStats = { packetsOnAir: 0, receptions: 0, lost: 0, airtimeMs: new Map() };
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly nodes = new Map<number, NodeState>();
  private readonly neighbours: Map<number, Set<number>> | null;
  private readonly queueLimit: number;
  private readonly rebroadcastDelayMs: readonly [number, number];
  private readonly seenLimit: number;
  private loss: number;
  /** Every transmission that ended within the last minute (bounded by time; pruned on each use). */
  private recent: Transmission[] = [];
  private readonly transmissionListeners = new Set<(t: Transmission) => void>();

  constructor(options: MediumOptions) {
    this.clock = options.clock;
    this.random = seededRandom(options.seed ?? 1);
    this.loss = checkLoss(options.loss ?? 0);
    this.queueLimit = options.queueLimit ?? 32;
    this.rebroadcastDelayMs = options.rebroadcastDelayMs ?? [20, 400];
    this.seenLimit = options.seenLimit ?? 512;
    if (options.neighbours) {
      this.neighbours = new Map();
      for (const [a, list] of options.neighbours) {
        for (const b of list) {
          if (a === b) continue;
          this.link(a, b);
          this.link(b, a);
        }
      }
    } else this.neighbours = null;
  }

  /** A line a–b–c–…: each node hears only the ones beside it. */
  static line(nodeNums: readonly number[]): Map<number, number[]> {
    const graph = new Map<number, number[]>();
    nodeNums.forEach((n, i) => graph.set(n, [nodeNums[i - 1], nodeNums[i + 1]].filter((x): x is number => x !== undefined)));
    return graph;
  }

  setLoss(loss: number): void {
    this.loss = checkLoss(loss);
  }

  /** Every transmission as it ends (for tests and the stats view). Returns the unsubscribe. */
  onTransmission(listener: (t: Transmission) => void): () => void {
    this.transmissionListeners.add(listener);
    return () => this.transmissionListeners.delete(listener);
  }

  nodeNums(): number[] {
    return [...this.nodes.keys()];
  }

  attach(options: MediumNodeOptions): MediumPort {
    if (!Number.isInteger(options.nodeNum) || options.nodeNum <= 0 || options.nodeNum >= BROADCAST_NUM) {
      throw new RangeError(`node number ${options.nodeNum} is not a Meshtastic node number`);
    }
    if (this.nodes.has(options.nodeNum)) throw new Error(`node ${options.nodeNum} is already on the medium`);
    const state: NodeState = {
      options,
      queue: [],
      seen: new Map(),
      log: [],
      transmitting: null,
      wakeTimer: null,
      totalAirtimeMs: 0,
    };
    this.nodes.set(options.nodeNum, state);
    return {
      transmit: (packet, onAir) => {
        if (this.nodes.get(options.nodeNum) !== state) throw new Error('detached from the medium');
        if (state.queue.length >= this.queueLimit) {
          const overBudget = this.dutyCycleWait(state, packet, this.clock.now()) > 0;
          return { queued: false, refusal: overBudget ? 'queue-full-duty-cycle' : 'queue-full' };
        }
        this.remember(state, keyOf(packet));
        state.queue.push({ packet: { ...packet, relayNode: options.nodeNum }, onAir, relay: false, notBefore: this.clock.now() });
        this.pump(state);
        return { queued: true };
      },
      airtimeLastHourMs: () => this.airtimeInWindow(state, this.clock.now() - HOUR_MS, this.clock.now()),
      channelUtilization: () => this.channelUtilization(state),
      queued: () => state.queue.length,
      detach: () => {
        if (this.nodes.get(options.nodeNum) !== state) return;
        state.wakeTimer?.();
        state.wakeTimer = null;
        state.queue = [];
        this.nodes.delete(options.nodeNum);
      },
    };
  }

  /** This node's transmissions of the last hour (for duty-cycle checks in tests). */
  transmissionsOf(nodeNum: number): readonly Transmission[] {
    return this.nodes.get(nodeNum)?.log ?? [];
  }

  private link(a: number, b: number): void {
    const set = this.neighbours!.get(a) ?? new Set<number>();
    set.add(b);
    this.neighbours!.set(a, set);
  }

  private hears(listener: number, sender: number): boolean {
    if (listener === sender) return false;
    return this.neighbours ? (this.neighbours.get(listener)?.has(sender) ?? false) : true;
  }

  private remember(state: NodeState, key: string): void {
    state.seen.delete(key);
    state.seen.set(key, true);
    while (state.seen.size > this.seenLimit) state.seen.delete(state.seen.keys().next().value!);
  }

  /** When the channel as `state` hears it is free again (now when free). */
  private channelFreeAt(state: NodeState, now: number): number {
    let free = now;
    for (const other of this.nodes.values()) {
      const t = other.transmitting;
      if (t && t.end > now && (other === state || this.hears(state.options.nodeNum, other.options.nodeNum))) free = Math.max(free, t.end);
    }
    return free;
  }

  /** Airtime of `state`'s transmissions overlapping [from, to]. */
  private airtimeInWindow(state: NodeState, from: number, to: number): number {
    let sum = 0;
    for (const t of state.log) sum += Math.max(0, Math.min(t.end, to) - Math.max(t.start, from));
    return sum;
  }

  /**
   * How long `state` must wait before sending `packet` so that no rolling hour ending at the end
   * of any of its transmissions holds more than the region's share (0 when it may send now).
   * Checking the hours that end at transmission ends suffices: the airtime in a sliding hour
   * grows only while its end lies inside a transmission.
   */
  private dutyCycleWait(state: NodeState, packet: AirPacket, now: number): number {
    const share = dutyCycleOf(state.options.region);
    if (share >= 1) return 0;
    const budget = share * HOUR_MS;
    const airtime = packetAirtimeMs(packet.payload.length, state.options.preset);
    if (airtime > budget) return Number.POSITIVE_INFINITY;
    const fits = (start: number) => this.airtimeInWindow(state, start + airtime - HOUR_MS, start + airtime) + airtime <= budget;
    if (fits(now)) return 0;
    const candidates = state.log
      .flatMap((t) => [t.end + HOUR_MS - airtime, t.start + HOUR_MS - airtime])
      .filter((at) => at > now)
      .sort((a, b) => a - b);
    for (const at of candidates) if (fits(at)) return at - now;
    return HOUR_MS;
  }

  private prune(state: NodeState, now: number): void {
    state.log = state.log.filter((t) => t.end > now - HOUR_MS);
  }

  private schedule(state: NodeState, ms: number): void {
    state.wakeTimer?.();
    state.wakeTimer = this.clock.setTimer(() => {
      state.wakeTimer = null;
      this.pump(state);
    }, Math.max(0, Math.ceil(ms))); // whole ms: a clock with whole-ms time must not wake a hair early, forever
  }

  /** Sends the next packet of `state` if the channel, the duty cycle and its delay allow; else waits. */
  private pump(state: NodeState): void {
    if (this.nodes.get(state.options.nodeNum) !== state || state.transmitting) return;
    const next = state.queue[0];
    if (!next) return;
    const now = this.clock.now();
    this.prune(state, now);
    if (next.notBefore > now) return this.schedule(state, next.notBefore - now);
    const freeAt = this.channelFreeAt(state, now);
    if (freeAt > now) return this.schedule(state, freeAt - now + Math.floor(this.random() * 50));
    const wait = this.dutyCycleWait(state, next.packet, now);
    if (wait === Number.POSITIVE_INFINITY) {
      state.queue.shift(); // can never go: longer than the whole budget
      return this.pump(state);
    }
    if (wait > 0) return this.schedule(state, wait);
    state.queue.shift();
    const airtime = packetAirtimeMs(next.packet.payload.length, state.options.preset);
    const transmission: Transmission = { nodeNum: state.options.nodeNum, start: now, end: now + airtime, packet: next.packet };
    state.transmitting = transmission;
    this.stats.packetsOnAir++;
    state.totalAirtimeMs += airtime;
    this.stats.airtimeMs.set(state.options.nodeNum, state.totalAirtimeMs);
    this.clock.setTimer(() => this.finish(state, transmission, next), airtime);
  }

  private finish(state: NodeState, transmission: Transmission, sent: Outgoing): void {
    state.transmitting = null;
    state.log.push(transmission);
    const now = this.clock.now();
    this.recent = this.recent.filter((t) => t.end > now - UTILIZATION_WINDOW_MS);
    this.recent.push(transmission);
    for (const listener of this.transmissionListeners) listener(transmission);
    // Who hears it. A node detached meanwhile hears nothing, and sends nothing more.
    for (const listener of [...this.nodes.values()]) {
      if (!this.hears(listener.options.nodeNum, transmission.nodeNum)) continue;
      if (this.random() < this.loss) {
        this.stats.lost++;
        continue;
      }
      this.stats.receptions++;
      this.receive(listener, transmission.packet);
    }
    if (this.nodes.get(state.options.nodeNum) === state) sent.onAir?.();
    this.pump(state);
  }

  private receive(state: NodeState, packet: AirPacket): void {
    const me = state.options.nodeNum;
    const key = keyOf(packet);
    const duplicate = state.seen.has(key);
    const reception = { snr: Math.round((-12 + this.random() * 22) * 4) / 4, rssi: Math.round(-125 + this.random() * 60) };
    if (duplicate) {
      if (packet.from === me) state.options.station.echoed(packet.id);
      // Managed flooding: a neighbour already rebroadcast it, so ours is not needed.
      state.queue = state.queue.filter((o) => !(o.relay && keyOf(o.packet) === key));
      if (packet.to === me && packet.wantAck) state.options.station.heard(packet, reception, true);
      return;
    }
    this.remember(state, key);
    if (packet.to === me || packet.to === BROADCAST_NUM) state.options.station.heard(packet, reception, false);
    if (packet.to !== me && packet.hopLimit > 0 && state.queue.length < this.queueLimit) {
      const [min, max] = this.rebroadcastDelayMs;
      state.queue.push({
        packet: { ...packet, hopLimit: packet.hopLimit - 1, relayNode: me },
        relay: true,
        notBefore: this.clock.now() + Math.round(min + this.random() * (max - min)),
      });
      this.pump(state);
    }
  }

  private channelUtilization(state: NodeState): number {
    const now = this.clock.now();
    const from = now - UTILIZATION_WINDOW_MS;
    let busy = 0;
    for (const t of this.recent) {
      if (t.nodeNum !== state.options.nodeNum && !this.hears(state.options.nodeNum, t.nodeNum)) continue;
      busy += Math.max(0, Math.min(t.end, now) - Math.max(t.start, from));
    }
    return Math.min(100, (busy / UTILIZATION_WINDOW_MS) * 100);
  }
}

function checkLoss(loss: number): number {
  if (!(loss >= 0 && loss <= 1)) throw new RangeError(`loss must be between 0 and 1, not ${loss}`);
  return loss;
}

