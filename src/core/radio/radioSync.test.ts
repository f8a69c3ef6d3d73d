import { describe, expect, it } from 'vitest';
import { FakeSource, kindOf, network, seeded } from '../test/fakeRadioNetwork';
import { toHex } from '../wire/hex';
import { HOUR_MS } from './airtimeScheduler';
import { MODEM_PRESETS, packetAirtimeMs } from './loraAirtime';
import { decodeEnvelope, encodeEnvelope } from './radioEnvelope';
import { RADIO_SYNC_LIMITS, RadioSync } from './radioSync';

function converged(nodes: { source: FakeSource }[]): boolean {
  const latest = new Map<string, number>();
  for (const n of nodes) for (const [s, h] of n.source.held) latest.set(s, Math.max(latest.get(s) ?? 0, h.counter));
  return nodes.every((n) => [...latest].every(([s, c]) => n.source.held.get(s)?.counter === c));
}

describe('radio sync', () => {
  for (const count of [2, 5]) {
    it(`${count} engines at 30% loss converge: every item's latest counter reaches everyone`, async () => {
      const { nodes, run, medium } = network(count, { loss: 0.3, seed: count });
      const random = seeded(77);
      nodes.forEach((n, i) => {
        n.source.hold(i, 3);
        // Some hold older versions of others' vaults, some none.
        for (let j = 0; j < count; j++) if (j !== i && random() < 0.5) n.source.hold(j, 1 + Math.floor(random() * 2));
      });
      nodes.forEach((n, i) => n.source.edit(i));
      await run(20 * 60_000);
      nodes.forEach((n, i) => n.source.edit(i, i % 2 === 1)); // some go as bundles (fragments under loss)
      const done = await run(6 * HOUR_MS, () => converged(nodes));
      expect(done).toBe(true);
      expect(nodes.every((n, i) => nodes.every((m) => m.source.counter(i) === n.source.counter(i) && m.source.counter(i) === 5))).toBe(true);
      expect(medium.aired.some((a) => kindOf(a.payload) === 'fragment')).toBe(true);
      expect(medium.aired.every((a) => kindOf(a.payload) !== 'refused')).toBe(true);
    }, 120_000);
  }

  it('an over-budget burst at EU_868 waits instead of breaking the duty cycle, and all of it goes', async () => {
    const { nodes, run, medium, clock } = network(1, { region: 3, compactBytes: 190 });
    const [{ source, sync }] = nodes as [(typeof nodes)[0]];
    const start = clock.now();
    for (let v = 0; v < 250; v++) source.edit(v);
    await run(10 * 60_000);
    const status = sync.status();
    expect(status.budget.allowedMs).toBe(360_000);
    expect(status.budget.dutyCyclePercent).toBe(10);
    await run(2 * HOUR_MS);
    const sends = medium.aired.map((a) => ({ at: a.at, airtime: packetAirtimeMs(a.payload.length, MODEM_PRESETS.LONG_FAST) }));
    expect(medium.aired.filter((a) => kindOf(a.payload) === 'update')).toHaveLength(250);
    for (const s of sends) {
      const inHour = sends.filter((o) => o.at > s.at - HOUR_MS && o.at <= s.at).reduce((n, o) => n + o.airtime, 0);
      expect(inHour).toBeLessThanOrEqual(360_000);
    }
    // More than an hour's allowance: the last ones waited for the hour to roll.
    expect(sends.reduce((n, s) => n + s.airtime, 0)).toBeGreaterThan(360_000);
    expect(sends.at(-1)!.at - start).toBeGreaterThan(HOUR_MS);
    expect(sync.status().budget.usedMs).toBeLessThanOrEqual(360_000);
  });

  it('reports that it waits for the duty cycle while the burst is held back', async () => {
    const { nodes, run } = network(1, { region: 3, compactBytes: 190 });
    const [{ source, sync }] = nodes as [(typeof nodes)[0]];
    for (let v = 0; v < 250; v++) source.edit(v);
    await run(50 * 60_000);
    const budget = sync.status().budget;
    expect(budget.waiting).toBe('the hourly airtime allowance (duty cycle) is used up');
    expect(budget.nextSendAt).toBeGreaterThan(0);
    expect(budget.queued.stock).toBeGreaterThan(0);
  });

  it('drops duplicates: the same datagram heard twice is taken once', async () => {
    const { nodes, run, medium } = network(1);
    const [{ source, sync }] = nodes as [(typeof nodes)[0]];
    const other = new FakeSource();
    other.hold(9, 0);
    const payload = encodeEnvelope({ kind: 'update', cls: 'stock', urgent: false, update: other.compact(9, 1).bytes });
    medium.inject({ from: 50, to: 'broadcast', payload });
    medium.inject({ from: 51, to: 'broadcast', payload });
    await run(1_000);
    expect(source.counter(9)).toBe(1);
    expect(source.takes).toBe(1);
    expect(sync.status()).toMatchObject({ taken: 1, duplicates: 1, received: 2 });
  });

  it('a forged update is refused and changes nothing; a number over its refusal budget loses its requests, never its signed updates (numbers can be spoofed)', async () => {
    const { nodes, run, medium } = network(1);
    const [{ source, sync }] = nodes as [(typeof nodes)[0]];
    source.hold(9, 1);
    const genuine = new FakeSource().compact(9, 2).bytes;
    const forged = genuine.slice();
    forged[20]! ^= 1;
    medium.inject({ from: 66, to: 'broadcast', payload: encodeEnvelope({ kind: 'update', cls: 'stock', urgent: false, update: forged }) });
    await run(1_000);
    expect(source.counter(9)).toBe(1);
    expect(sync.status().refusals[0]!.reason).toBe('!00000042: bad signature');
    // Garbage claiming 66 until it is over budget: its requests are ignored for a while, but a
    // genuine update under that number is still judged and taken.
    for (let i = 0; i < 20; i++) medium.inject({ from: 66, to: 'broadcast', payload: Uint8Array.of(0x1f, 0, i) });
    await run(1_000);
    const refusals = sync.status().refusals.filter((r) => r.reason.startsWith('!00000042'));
    expect(refusals.length).toBe(9);
    expect(refusals[0]!.reason).toBe('!00000042: unknown envelope kind 15');
    const payload = encodeEnvelope({ kind: 'update', cls: 'stock', urgent: false, update: genuine });
    const asked = medium.aired.length;
    medium.inject({ from: 66, to: 'broadcast', payload: encodeEnvelope({ kind: 'more', session: 0, next: 25 }) });
    await run(1_000);
    expect(medium.aired.length).toBe(asked);
    medium.inject({ from: 66, to: 'broadcast', payload });
    await run(1_000);
    expect(source.counter(9)).toBe(2);
  });

  it('reconciliation finds exactly the difference and only the missing updates go on air', async () => {
    const { nodes, run, medium } = network(2, { seed: 9 });
    const [a, b] = nodes as [(typeof nodes)[0], (typeof nodes)[0]];
    const random = seeded(5);
    for (let v = 0; v < 300; v++) {
      const c = 1 + Math.floor(random() * 5);
      a.source.hold(v, c);
      b.source.hold(v, c);
    }
    const newerOnA = [3, 50, 77, 120, 200, 299];
    for (const v of newerOnA) a.source.hold(v, a.source.counter(v) + 1);
    const onlyOnB = [400, 401, 402, 403];
    for (const v of onlyOnB) b.source.hold(v, 2);
    a.source.edit(300); // a new item of A's own: B hears it, meets A, and they reconcile
    const done = await run(HOUR_MS, () => converged(nodes));
    expect(done).toBe(true);
    const sent = medium.aired.map((x) => ({ from: x.from, kind: kindOf(x.payload), bytes: x.payload.length }));
    const updatesFromA = sent.filter((s) => s.from === 1 && s.kind === 'update');
    expect(updatesFromA.length).toBe(1 + newerOnA.length);
    expect(sent.filter((s) => s.from === 2 && s.kind === 'update')).toHaveLength(0);
    const bundles = sent.filter((s) => s.kind === 'fragment');
    expect(bundles.every((s) => s.from === 2)).toBe(true);
    expect(bundles.length).toBe(onlyOnB.length * 3); // 611 bytes each: 3 fragments
    // Each side greets the medium with a summary when its radio is attached: each session stays within 3 packets.
    for (const from of [1, 2]) expect(sent.filter((s) => s.kind === 'summary' && s.from === from).length).toBeLessThanOrEqual(3);
  });

  it('pause sends nothing, receiving goes on; resuming sends what waited', async () => {
    const { nodes, run, medium } = network(1);
    const [{ source, sync }] = nodes as [(typeof nodes)[0]];
    sync.pause(true);
    source.edit(1);
    source.edit(2);
    const other = new FakeSource();
    medium.inject({ from: 40, to: 'broadcast', payload: encodeEnvelope({ kind: 'update', cls: 'stock', urgent: false, update: other.compact(9, 1).bytes }) });
    await run(HOUR_MS);
    expect(medium.aired).toHaveLength(0);
    expect(source.counter(9)).toBe(1);
    expect(sync.status().budget.waiting).toBe('radio sync is paused');
    sync.pause(false);
    await run(60_000);
    expect(medium.aired.filter((a) => kindOf(a.payload) === 'update')).toHaveLength(2);
  });

  it('detach and attach keep the queue: nothing queued is lost while unplugged', async () => {
    const { nodes, run, medium } = network(1);
    const [{ source, sync, address }] = nodes as [(typeof nodes)[0]];
    sync.detach();
    for (let v = 0; v < 3; v++) source.edit(v);
    const id = sync.queueView()[2]!.id;
    expect(sync.markUrgent(id)).toBe(true);
    await run(60_000);
    expect(medium.aired).toHaveLength(0);
    expect(sync.queueView().filter((e) => e.label.startsWith('vault')).map((e) => e.label)).toEqual(['vault 2: 1', 'vault 0: 1', 'vault 1: 1']);
    expect(sync.status().budget).toMatchObject({ waiting: 'the radio is unplugged', queued: { stock: 3 } });
    sync.attach(medium.attach(address));
    await run(60_000);
    expect(medium.aired.filter((a) => kindOf(a.payload) === 'update').map((a) => [kindOf(a.payload), a.hopLimit])).toEqual([
      ['update', 7],
      ['update', 3],
      ['update', 3],
    ]);
    expect(sync.queueView()).toHaveLength(0);
  });

  it('a send the old radio never settles does not hold the queue: the next radio sends it at once', async () => {
    const { nodes, run, medium, clock } = network(1);
    const [{ source, sync, address }] = nodes as [(typeof nodes)[0]];
    const handed: Uint8Array[] = [];
    const stuck = { label: 'stuck', maxPayload: 233, address, start() {}, send: (p: Uint8Array) => (handed.push(p), new Promise<void>(() => {})), close() {} };
    sync.attach(stuck);
    source.edit(1);
    source.edit(2);
    await run(1_000);
    expect(handed).toHaveLength(1);
    sync.detach();
    sync.attach(medium.attach(address));
    const start = clock.now();
    await run(5_000);
    expect(clock.now() - start).toBeLessThan(RADIO_SYNC_LIMITS.sendTimeoutMs);
    expect(medium.aired.filter((a) => kindOf(a.payload) === 'update')).toHaveLength(2);
  });

  it('a link closed under it (unplugged) keeps what was queued for the next one', async () => {
    const { nodes, run, medium } = network(1, { region: 3, compactBytes: 190 });
    const [{ source, sync, address }] = nodes as [(typeof nodes)[0]];
    for (let v = 0; v < 5; v++) source.edit(v);
    const link = medium.attach(address); // takes the address: the engine's link is closed
    void link;
    await run(60_000);
    expect(sync.status().attached).toBe(false);
    const before = medium.aired.length;
    expect(before).toBeLessThan(5);
    sync.attach(medium.attach(address));
    await run(60_000);
    // The one on air when the radio went is sent again on the next (a copy that got out is dropped as a duplicate).
    expect(new Set(medium.aired.filter((a) => kindOf(a.payload) === 'update').map((a) => toHex(a.payload))).size).toBe(5);
    expect(medium.aired.filter((a) => kindOf(a.payload) === 'summary').length).toBeGreaterThan(0); // it greets the medium on attach
  });
});
