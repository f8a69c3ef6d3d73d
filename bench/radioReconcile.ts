import {
  ITEM_ID_BYTES,
  SUMMARY_BYTES_PER_PACKET,
  SYMBOL_BYTES,
  SYMBOLS_PER_PACKET,
  SymbolDecoder,
  SymbolEncoder,
  itemId,
} from '../src/core/radio/reconcile';
import { xorshift32 as random } from '../src/core/seededRandom';

/**
 * `radio-reconcile`: packets of summary traffic when two radio nodes meet. Each side holds one item
 * (vault, device, counter) per stream; "differing by d" means d streams where the sender is one
 * version ahead, so the symmetric difference holds 2d ids. Summary traffic = the packets of coded
 * symbols (SYMBOLS_PER_PACKET a packet, sent one packet at a time) the receiver takes before it
 * decodes, plus the reply naming the difference's ids (ITEM_ID_BYTES each). Seeded, so every run
 * measures the same sets.
 */
const REF_PACKETS = 3;


function bytes(next: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = next() & 0xff;
  return out;
}

interface Meeting {
  packets: number;
  symbols: number;
  difference: number;
}

/** One meeting: n streams on each side; `ahead` of them one version ahead at the sender; `onlySender` streams the receiver lacks. */
function meet(next: () => number, n: number, ahead: number, onlySender: number): Meeting {
  const sender: Uint8Array[] = [];
  const receiver: Uint8Array[] = [];
  for (let s = 0; s < n; s++) {
    const vault = bytes(next, 32);
    const device = bytes(next, 32);
    const counter = 1 + (next() % 1000);
    if (s < onlySender) {
      sender.push(itemId(vault, device, counter));
      continue;
    }
    receiver.push(itemId(vault, device, counter));
    sender.push(itemId(vault, device, s < onlySender + ahead ? counter + 1 : counter));
  }
  const encoder = new SymbolEncoder(sender);
  const decoder = new SymbolDecoder(receiver);
  for (let packet = 0; ; packet++) {
    const first = packet * SYMBOLS_PER_PACKET;
    const result = decoder.add(encoder.symbols(first, SYMBOLS_PER_PACKET), first, encoder.size);
    if ('error' in result) throw new Error(`radio-reconcile: ${result.error}`);
    if (!result.done) continue;
    const difference = result.remoteOnly.length + result.localOnly.length;
    if (result.remoteOnly.length !== ahead + onlySender || result.localOnly.length !== ahead) throw new Error('radio-reconcile: wrong difference');
    const reply = Math.ceil((difference * ITEM_ID_BYTES) / SUMMARY_BYTES_PER_PACKET);
    // symbols actually needed: decode again one symbol at a time (for the report only)
    const exact = new SymbolDecoder(receiver);
    let symbols = 0;
    for (let r = exact.add(encoder.symbols(0, 1), 0, encoder.size); !('done' in r && r.done); r = exact.add(encoder.symbols(symbols, 1), symbols, encoder.size)) {
      symbols++;
      if ('error' in r) throw new Error(`radio-reconcile: ${r.error}`);
    }
    return { packets: packet + 1 + reply, symbols: symbols + 1, difference };
  }
}

function summarise(name: string, runs: Meeting[], withRatio: boolean): void {
  const packets = runs.map((r) => r.packets).sort((a, b) => a - b);
  const symbols = runs.map((r) => r.symbols).sort((a, b) => a - b);
  const mean = packets.reduce((s, p) => s + p, 0) / packets.length;
  const p99 = packets[Math.min(packets.length - 1, Math.ceil(packets.length * 0.99) - 1)]!;
  const meanSymbols = symbols.reduce((s, p) => s + p, 0) / symbols.length;
  const within = packets.filter((p) => p <= REF_PACKETS).length / packets.length;
  const extra = `(${runs.length} meetings, |difference| ${runs[0]!.difference}: symbols mean ${meanSymbols.toFixed(1)} p99 ${symbols[Math.ceil(symbols.length * 0.99) - 1]} of ${SYMBOL_BYTES} bytes, ${SYMBOLS_PER_PACKET} a packet; ≤ ${REF_PACKETS} packets in ${(within * 100).toFixed(1)}%)`;
  console.log(`BENCH ${name} ${mean.toFixed(2)} packets ref=${REF_PACKETS}${withRatio ? ` ratio=${(mean / REF_PACKETS).toFixed(3)}` : ''} ${extra}`);
  if (name === 'radio-reconcile') console.log(`BENCH radio-reconcile-p99 ${p99} packets ref=${REF_PACKETS} ratio=${(p99 / REF_PACKETS).toFixed(3)}`);
}

export async function radioReconcile(): Promise<void> {
  const next = random(2026);
  const trials = (count: number, n: number, ahead: number, onlySender: number) => Array.from({ length: count }, () => meet(next, n, ahead, onlySender));
  summarise('radio-reconcile', trials(200, 1000, 10, 0), true);
  summarise('radio-reconcile-oneside', trials(200, 1000, 0, 10), true);
  summarise('radio-reconcile-10k', trials(20, 10_000, 100, 0), true);
}
