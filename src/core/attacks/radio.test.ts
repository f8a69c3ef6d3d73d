import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, radioApart } from './attackKit';
import { FakeSource, kindOf, network } from '../test/fakeRadioNetwork';
import { decodeEnvelope, encodeEnvelope, MAX_DIFFERENCE_IDS, MAX_SET_SIZE, missingBitmap } from '../radio/radioEnvelope';
import { cutBundle } from '../radio/radioFragments';
import { MODEM_PRESETS, packetAirtimeMs } from '../radio/loraAirtime';
import { itemId, SymbolEncoder, SYMBOLS_PER_PACKET } from '../radio/reconcile';
import { RADIO_SYNC_LIMITS } from '../radio/radioSync';
import type { RadioUpdate } from '../radio/radioVaultSource';
import type { SoukNode } from '../node/soukNode';

/**
 * The radio review (issue 8): the sender's node number on the radio is not authenticated, so
 * anyone can claim anyone's. Each test is one attack an outside review scripted against the
 * first cut; each failed on it.
 */

afterEach(closeAll);
const HOUR = 3_600_000;
const rnd = (n: number) => Uint8Array.from({ length: 32 }, (_, i) => (n * 31 + i * 7) & 0xff);
const offered = (node: SoukNode, name: string) => node.marketplace(name).offers.find((o) => o.name === name);
const airtimeOf = (payloads: { payload: Uint8Array }[]) => payloads.reduce((n, a) => n + packetAirtimeMs(a.payload.length, MODEM_PRESETS.LONG_FAST), 0);

describe('a spoofed node number', () => {
  it('garbage claiming an honest node’s number does not make the victim drop that node’s genuine update', async () => {
    const { nodes, run, medium } = network(1);
    const victim = nodes[0]!;
    victim.source.hold(9, 1);
    const HONEST = 2;
    // Attacker: 9 one-line garbage packets, claiming to be node 2.
    for (let i = 0; i < 9; i++) medium.inject({ from: HONEST, to: 'broadcast', payload: Uint8Array.of(0x1f, 0, i) });
    await run(1_000);
    // Node 2 (honest) now sends a genuinely signed update.
    const genuine = new FakeSource().compact(9, 2).bytes;
    medium.inject({ from: HONEST, to: 'broadcast', payload: encodeEnvelope({ kind: 'update', cls: 'stock', urgent: false, update: genuine }) });
    await run(1_000);
    expect(victim.source.counter(9)).toBe(2);
  });
  it('a spoofed conflicting fragment claiming the honest sender neither drops the honest bundle in progress nor counts against it', async () => {
    const { nodes, run, medium } = network(1);
    const victim = nodes[0]!;
    victim.source.hold(5, 20);
    const big = new FakeSource().bundle(5, 0, 21).bytes; // 6,311 bytes -> 28 fragments
    const fragments = cutBundle(big, 0x1234);
    const half = Math.floor(fragments.length / 2);
    for (const f of fragments.slice(0, half)) medium.inject({ from: 2, to: 'broadcast', payload: encodeEnvelope(f) });
    await run(500);
    // Attacker: claims node 2, same message id and index 0, other bytes (one 235-byte packet).
    const evil = { ...fragments[0]!, bytes: fragments[0]!.bytes.slice() };
    evil.bytes[0]! ^= 0xff;
    medium.inject({ from: 2, to: 'broadcast', payload: encodeEnvelope(evil) });
    await run(500);
    for (const f of fragments.slice(half)) medium.inject({ from: 2, to: 'broadcast', payload: encodeEnvelope(f) });
    await run(1_000);
    expect.soft(victim.sync.status().refusals.filter((r) => r.reason.startsWith('!00000002'))).toHaveLength(0);
    expect.soft(victim.source.counter(5)).toBe(21);
  });
});

describe('airtime amplification', () => {
  it('tiny `missing` packets asking for every fragment again and again get each fragment re-sent only a few times', async () => {
    const { nodes, run, medium } = network(1);
    const victim = nodes[0]!;
    victim.source.hold(7, 52);
    victim.source.edit(7, true); // own edit as a ~16 KB bundle: 69 fragments, broadcast
    await run(10 * 60_000);
    const original = medium.aired.filter((a) => a.from === 1 && kindOf(a.payload) === 'fragment');
    const first = decodeEnvelope(original[0]!.payload) as { envelope: { messageId: number; count: number } };
    const { messageId, count } = first.envelope;
    expect(count).toBeGreaterThan(60);
    const before = medium.aired.length;
    // Attacker: ONE claimed number, one 14-byte `missing` naming every fragment every 160 s
    // (just after the previous answer has gone; the queue only dedups what is still waiting).
    let attackerAirtime = 0;
    let sentByAttacker = 0;
    for (let i = 0; i < 10; i++) {
      const payload = encodeEnvelope({ kind: 'missing', messageId, count, bitmap: missingBitmap(Array.from({ length: count }, (_, k) => k), count) });
      attackerAirtime += packetAirtimeMs(payload.length, MODEM_PRESETS.LONG_FAST);
      sentByAttacker += 1;
      medium.inject({ from: 0x1000, to: 'broadcast', payload });
      await run(160_000, undefined, 2_000);
    }
    const resent = medium.aired.slice(before).filter((a) => a.from === 1 && kindOf(a.payload) === 'fragment');
    const victimAirtime = resent.reduce((n, a) => n + packetAirtimeMs(a.payload.length, MODEM_PRESETS.LONG_FAST), 0);
    // Each fragment should be re-sent at most a few times whatever the number of askers.
    expect(resent.length).toBeLessThanOrEqual(2 * count);
  });
  it('a stream of 5-byte `more` packets under spoofed numbers costs the victim less airtime than the attacker', async () => {
    const { nodes, run, medium } = network(1);
    const victim = nodes[0]!;
    for (let v = 0; v < 50; v++) victim.source.hold(v, 3);
    await run(30_000); // the victim greets the medium with a summary on attach
    const summary = medium.aired.find((a) => a.from === 1 && kindOf(a.payload) === 'summary')!;
    const session = (decodeEnvelope(summary.payload) as { envelope: { session: number } }).envelope.session;
    const before = medium.aired.length;
    let attackerAirtime = 0;
    const asks = 300;
    for (let i = 0; i < asks; i++) {
      const next = (i % 100) * SYMBOLS_PER_PACKET; // distinct ranges: the queue cannot merge them
      const payload = encodeEnvelope({ kind: 'more', session, next });
      attackerAirtime += packetAirtimeMs(payload.length, MODEM_PRESETS.LONG_FAST);
      medium.inject({ from: 0x2000 + Math.floor(i / 50), to: 'broadcast', payload }); // 6 claimed numbers, 50 asks each (< budget 60)
      await run(2_000, undefined, 1_000);
    }
    await run(30 * 60_000, undefined, 5_000);
    const answers = medium.aired.slice(before).filter((a) => a.from === 1 && kindOf(a.payload) === 'summary');
    const victimAirtime = answers.reduce((n, a) => n + packetAirtimeMs(a.payload.length, MODEM_PRESETS.LONG_FAST), 0);
    expect(victimAirtime).toBeLessThanOrEqual(attackerAirtime);
  });
  it('a forged difference (never heard sender) buys at most the reply share of the victim’s airtime per hour, and one whole vault per stream per hour', async () => {
    const { nodes, run, medium } = network(1, { region: 3 });
    const victim = nodes[0]!;
    for (let v = 0; v < 40; v++) victim.source.hold(v, 50);
    await run(30_000);
    const summary = medium.aired.find((a) => a.from === 1 && kindOf(a.payload) === 'summary')!;
    const session = (decodeEnvelope(summary.payload) as { envelope: { session: number } }).envelope.session;
    const lacking = Array.from({ length: MAX_DIFFERENCE_IDS }, (_, v) => itemId(victim.source.item(v, 50).vaultId, victim.source.item(v, 50).deviceKey, 50));
    const payload = encodeEnvelope({ kind: 'difference', session, lacking, holding: [] });
    const before = medium.aired.length;
    for (let i = 0; i < 5; i++) medium.inject({ from: 0xdead + i, to: 'broadcast', payload });
    await run(3 * HOUR, undefined, 10_000);
    const out = medium.aired.slice(before).filter((a) => a.from === 1);
    const share = 0.1 * HOUR * RADIO_SYNC_LIMITS.replyShare;
    for (const a of out) {
      const inHour = out.filter((o) => o.at > a.at - HOUR && o.at <= a.at);
      expect(airtimeOf(inHour)).toBeLessThanOrEqual(share + 2_200);
    }
    // The same difference five times over sent each stream's whole vault once.
    const messages = new Set(out.filter((a) => kindOf(a.payload) === 'fragment').map((a) => (decodeEnvelope(a.payload) as { envelope: { messageId: number } }).envelope.messageId));
    expect(messages.size).toBeLessThanOrEqual(MAX_DIFFERENCE_IDS);
  });
});

describe('reconciliation for others', () => {
  it('after 16 spoofed summaries, an honest neighbour’s summary is still decoded and answered', async () => {
    const { nodes, run, medium } = network(1);
    const victim = nodes[0]!;
    for (let v = 0; v < 20; v++) victim.source.hold(v, 2);
    await run(70_000);
    // Attacker: 16 plausible summaries (big fake sets, so the victim keeps asking `more`).
    for (let s = 0; s < 16; s++) {
      const ids = Array.from({ length: 2000 }, (_, k) => itemId(rnd(s * 5000 + k), rnd(k), 1));
      const enc = new SymbolEncoder(ids);
      medium.inject({ from: 0x3000 + (s >> 1), to: 'broadcast', payload: encodeEnvelope({ kind: 'summary', session: s & 1, setSize: Math.min(enc.size, MAX_SET_SIZE), first: 0, symbols: enc.symbols(0, SYMBOLS_PER_PACKET) }) });
    }
    await run(5_000);
    // Honest node 2: holds the victim's 20 items plus 3 newer ones, and sends its summary.
    const honestIds = [...victim.source.radioItems(), victim.source.item(100, 1), victim.source.item(101, 1), victim.source.item(102, 1)].map((i) => itemId(i.vaultId, i.deviceKey, i.counter));
    const enc = new SymbolEncoder(honestIds);
    const before = medium.aired.length;
    medium.inject({ from: 2, to: 'broadcast', payload: encodeEnvelope({ kind: 'summary', session: 7, setSize: enc.size, first: 0, symbols: enc.symbols(0, SYMBOLS_PER_PACKET) }) });
    await run(3 * 60_000);
    const toHonest = medium.aired.slice(before).filter((a) => a.from === 1 && a.to === 2 && ['difference', 'more'].includes(kindOf(a.payload)));
    const toAttacker = medium.aired.slice(before).filter((a) => a.from === 1 && typeof a.to === 'number' && a.to >= 0x3000);
    expect(toHonest.length).toBeGreaterThan(0);
  });
});

describe('parked updates', () => {
  it('junk "behind" updates under a spoofed number do not evict an honest parked update', async () => {
    const { seller, buyer, honey, updates } = await radioApart();
    await seller.setOffer(honey, { quantity: 7, price: 700 });
    await seller.setOffer(honey, { quantity: 6, price: 700 });
    const [first, second] = updates as [RadioUpdate, RadioUpdate];
    const src = buyer.radioSource();
    expect(await src.takeCompact(second.bytes, '!00000002')).toMatchObject({ taken: false, behind: true }); // honest, parked
    for (let i = 0; i < 16; i++) {
      const junk = second.bytes.slice();
      junk[junk.length - 1] = i ^ 0x5a; // a different (bad) signature each time
      junk[junk.length - 2]! ^= 0xa5;
      const out = await src.takeCompact(junk, '!0000bad0');
      expect(out).toMatchObject({ taken: false, offence: false }); // not even counted against the attacker
    }
    expect(await src.takeCompact(first.bytes, '!00000002')).toMatchObject({ taken: true });
    expect(offered(buyer, 'Honey')?.quantity).toBe(6);
  });
});
