/**
 * What the Radio page shows, as the node reports it (plain data, structured-clone safe).
 */

export type RadioConnection = 'serial' | 'bluetooth' | 'simulated';

/**
 * off: never connected or disconnected by the merchant; connecting: the transport is opening;
 * configuring: the config handshake runs; connected: packets flow; unplugged: the device went
 * away (what is queued is kept, and sent once it is back); failed: see `message`.
 */
export type RadioState = 'off' | 'connecting' | 'configuring' | 'connected' | 'unplugged' | 'failed';

export interface RadioDeviceInfo {
  longName: string;
  shortName: string;
  /** Meshtastic node number, shown as !xxxxxxxx. */
  nodeNum: number;
  firmware: string;
  hardware: string;
  /** Region code name (EU_868, US, …). */
  region: string;
  /** Modem preset name (LONG_FAST, …). */
  preset: string;
  /** The primary channel's name ("" is shown as the preset's default name). */
  channel: string;
  /** 0–100, or 101 when powered; null when the device has not said. */
  batteryLevel: number | null;
}

export interface RadioNeighbour {
  nodeNum: number;
  name: string;
  /** dB, of the last packet heard from it; null when unknown. */
  snr: number | null;
  /** Time last heard (clock ms). */
  lastHeard: number;
  /** 0 for a direct neighbour; null when unknown. */
  hopsAway: number | null;
}

/** Queue classes, most urgent first. */
export const RADIO_CLASSES = ['trade', 'stock', 'offer', 'catchUp'] as const;
export type RadioClass = (typeof RADIO_CLASSES)[number];

export interface RadioBudget {
  /** Airtime this node used in the last hour, ms. */
  usedMs: number;
  /** Airtime the region allows per hour, ms; null where it sets no limit. */
  allowedMs: number | null;
  /** The region's duty cycle, percent (100 where none). */
  dutyCyclePercent: number;
  /** Channel utilisation the device reports, percent; null when unknown. */
  channelUtilization: number | null;
  /** Datagrams waiting, per class. */
  queued: Record<RadioClass, number>;
  /** Payload bytes waiting in all. */
  queuedBytes: number;
  /** Why nothing is being sent right now, when something waits (duty cycle, busy channel, paused, unplugged). */
  waiting: string | null;
  /** When the next datagram may go (clock ms), when something waits. */
  nextSendAt: number | null;
}

export interface RadioStatus {
  state: RadioState;
  connection: RadioConnection | null;
  /** A sentence for the merchant when something went wrong or needs doing. */
  message: string | null;
  device: RadioDeviceInfo | null;
  neighbours: RadioNeighbour[];
  budget: RadioBudget;
  /** Radio sync paused by the merchant: nothing is sent (receiving goes on). */
  paused: boolean;
  /** Datagrams sent and received since the node started. */
  sent: number;
  received: number;
  /** Updates taken from the radio (applied to a vault). */
  taken: number;
  /** The latest refusals (bounded), newest first. */
  refusals: { at: number; reason: string }[];
}
