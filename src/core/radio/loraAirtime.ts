/**
 * LoRa airtime and regional duty cycles, as Meshtastic radios use them: the Semtech SX127x/SX126x
 * time-on-air formula with Meshtastic's radio settings (16-symbol preamble, explicit header, CRC
 * on, low-data-rate optimisation when a symbol lasts over 16 ms) and its modem presets.
 * Platform-free; used by the airtime scheduler and the simulated medium alike.
 */

/** Meshtastic's modem presets (Config.LoRaConfig.ModemPreset numbers). */
export const MODEM_PRESETS = {
  LONG_FAST: { id: 0, spreadingFactor: 11, bandwidthHz: 250_000, codingRate: 5 },
  LONG_SLOW: { id: 1, spreadingFactor: 12, bandwidthHz: 125_000, codingRate: 8 },
  VERY_LONG_SLOW: { id: 2, spreadingFactor: 12, bandwidthHz: 62_500, codingRate: 8 },
  MEDIUM_SLOW: { id: 3, spreadingFactor: 10, bandwidthHz: 250_000, codingRate: 5 },
  MEDIUM_FAST: { id: 4, spreadingFactor: 9, bandwidthHz: 250_000, codingRate: 5 },
  SHORT_SLOW: { id: 5, spreadingFactor: 8, bandwidthHz: 250_000, codingRate: 5 },
  SHORT_FAST: { id: 6, spreadingFactor: 7, bandwidthHz: 250_000, codingRate: 5 },
  LONG_MODERATE: { id: 7, spreadingFactor: 11, bandwidthHz: 125_000, codingRate: 8 },
  SHORT_TURBO: { id: 8, spreadingFactor: 7, bandwidthHz: 500_000, codingRate: 5 },
} as const;

export type ModemPresetName = keyof typeof MODEM_PRESETS;
export type ModemPreset = (typeof MODEM_PRESETS)[ModemPresetName];

export function presetByNumber(id: number): { name: ModemPresetName; preset: ModemPreset } | undefined {
  for (const [name, preset] of Object.entries(MODEM_PRESETS)) if (preset.id === id) return { name: name as ModemPresetName, preset };
  return undefined;
}

/**
 * Regions with a duty-cycle limit (Config.LoRaConfig.RegionCode numbers), as the firmware's region
 * table has them: the share of each hour a node may transmit. Regions not listed have none.
 */
export const REGION_DUTY_CYCLE: Readonly<Record<number, { name: string; percent: number }>> = {
  2: { name: 'EU_433', percent: 10 },
  3: { name: 'EU_868', percent: 10 },
  14: { name: 'UA_433', percent: 10 },
  15: { name: 'UA_868', percent: 1 },
};

export const REGION_NAMES: Readonly<Record<number, string>> = {
  0: 'UNSET', 1: 'US', 2: 'EU_433', 3: 'EU_868', 4: 'CN', 5: 'JP', 6: 'ANZ', 7: 'KR', 8: 'TW', 9: 'RU', 10: 'IN',
  11: 'NZ_865', 12: 'TH', 13: 'LORA_24', 14: 'UA_433', 15: 'UA_868', 16: 'MY_433', 17: 'MY_919', 18: 'SG_923',
};

/** The share of an hour (0..1) a node in `region` may transmit; 1 where the region sets no limit. */
export function dutyCycleOf(region: number): number {
  const limit = REGION_DUTY_CYCLE[region];
  return limit ? limit.percent / 100 : 1;
}

/** Meshtastic's header on air before the (encrypted) Data protobuf: to, from, id, flags, channel hash, next hop, relay node. */
export const MESH_HEADER_BYTES = 16;
/** The Data protobuf around an application payload: portnum (2), payload tag and length (3), and room for flags. */
export const DATA_OVERHEAD_BYTES = 6;
/** The largest application payload Meshtastic carries in one packet. */
export const MAX_RADIO_PAYLOAD = 233;
export const PREAMBLE_SYMBOLS = 16;

/** Time on air, in milliseconds, of a LoRa frame of `frameBytes` bytes (everything the modem sends after the preamble). */
export function frameAirtimeMs(frameBytes: number, preset: ModemPreset): number {
  const { spreadingFactor: sf, bandwidthHz, codingRate } = preset;
  const symbolMs = (2 ** sf / bandwidthHz) * 1000;
  const lowDataRate = symbolMs > 16 ? 1 : 0;
  const crc = 1;
  const implicitHeader = 0;
  const cr = codingRate - 4;
  const numerator = 8 * frameBytes - 4 * sf + 28 + 16 * crc - 20 * implicitHeader;
  const payloadSymbols = 8 + Math.max(Math.ceil(numerator / (4 * (sf - 2 * lowDataRate))) * (cr + 4), 0);
  return (PREAMBLE_SYMBOLS + 4.25) * symbolMs + payloadSymbols * symbolMs;
}

/** Time on air of a Meshtastic packet carrying `payloadBytes` of application payload. */
export function packetAirtimeMs(payloadBytes: number, preset: ModemPreset = MODEM_PRESETS.LONG_FAST): number {
  return frameAirtimeMs(MESH_HEADER_BYTES + DATA_OVERHEAD_BYTES + payloadBytes, preset);
}

/** The preset's raw bit rate in bits per second (what the UI calls "1.07 kbps" for LongFast). */
export function bitRate(preset: ModemPreset): number {
  const { spreadingFactor: sf, bandwidthHz, codingRate } = preset;
  return (sf * bandwidthHz * (4 / codingRate)) / 2 ** sf;
}
