import { afterEach, describe, expect, it } from 'vitest';
import { FRESH_BUDGETS } from '../mesh/peerPolicy';
import { SoukNode } from '../node/soukNode';
import { MemoryStorage } from '../storage/memoryStorage';
import type { StorageKey } from '../storage/storage';
import { MessageType, RefusalCode } from '../sync/syncMessages';
import { PING_EVERY_MS, SILENT_PEER_MS } from '../sync/syncSession';
import { HostileOwner, validOffer } from '../test/hostileOwner';
import { ManualClock } from '../test/manualClock';
import { eventually, RawPeer } from '../test/rawPeer';
import { FLAG_MORE } from '../wire/frame';
import { fromHex, toHex } from '../wire/hex';
import { closeAll, link, serveWants, noHonestNodeBlocked, openNode, opened, ownerAndVictim, priceAt, shopNode, vaultOf } from './attackKit';

/**
 * Attacks 6, 7, 8 and 13 of the review: unbounded cost, one slow peer freezing the node, one
 * link one lane, zombie links. (Attack 9, the signaling server, is in signaling/signalingServer.test.ts;
 * zombie data channels in a real browser are in e2e/zombieLinks.spec.ts.)
 */
afterEach(closeAll);

/** Text that does not compress, so vaults have the size a real catalog's would. */
const noise = (bytes: number) => toHex(crypto.getRandomValues(new Uint8Array(bytes / 2)));

/** A storage that counts what is read, to see what start-up touches. */
class CountingStorage extends MemoryStorage {
  bytesRead = 0;
  keysRead: string[] = [];
  override async load(key: StorageKey) {
    const data = await super.load(key);
    this.bytesRead += data?.length ?? 0;
    this.keysRead.push(key.join('/'));
    return data;
  }
  override async loadRange(prefix: StorageKey) {
    const rows = await super.loadRange(prefix);
    for (const row of rows) {
      this.bytesRead += row.data.length;
      this.keysRead.push(row.key.join('/'));
    }
    return rows;
  }
}

describe('attack 6: unbounded cost', () => {
  it('others’ vaults are kept within a budget, least recently used evicted; own and trusted vaults never', async () => {
    const { owner, victim: _ } = await ownerAndVictim();
    void _;
    const storage = new MemoryStorage();
    const victim = await SoukNode.open({ storage, vaultBudget: { maxOtherVaults: 10 } });
    opened.push(victim);
    await victim.createShop({ name: 'Victim', area: 'Old Town' });
    link(owner, victim);
    await eventually(() => priceAt(victim, 'Honey') === 700);
    await victim.setTrusted(vaultOf(owner), true);
    const minted = Array.from({ length: 30 }, (_, i) => new HostileOwner(`Minted ${i}`, { p: validOffer('p', `Spam ${i}`) }));
    // Two minters, fifteen vaults each (within each one's fresh allowance), one after the other.
    for (const batch of [minted.slice(0, 15), minted.slice(15)]) {
      const seller = new RawPeer(victim, 'minter');
      await seller.hello();
      const { stop } = serveWants(seller, batch);
      for (const owner of batch) await seller.send({ type: 'heads', statements: [owner.statement()] });
      await eventually(() => victim.statementsOf(batch.at(-1)!.id)?.[0] !== undefined, 10_000, 'the batch');
      stop();
    }
    await eventually(() => minted.slice(-3).every((o) => victim.statementsOf(o.id)?.[0] !== undefined), 10_000, 'the last minted vaults');
    const vaults = victim.view().vaults;
    expect(vaults.filter((v) => !v.own && !v.trusted).length).toBe(10);
    expect(vaults.some((v) => v.vaultId === vaultOf(owner) && v.trusted)).toBe(true);
    expect(vaults.some((v) => v.own)).toBe(true);
    // Storage holds exactly what memory does: evicted vaults are gone from disk too.
    const stored = (await storage.loadRange(['vaultIndex'])).map((r) => r.key[1]).sort();
    expect(stored).toEqual(vaults.map((v) => v.vaultId).sort());
    // The most recent survive.
    const kept = new Set(vaults.map((v) => v.vaultId));
    expect(minted.slice(-5).every((o) => kept.has(o.id))).toBe(true);
    expect(minted.slice(0, 10).some((o) => kept.has(o.id))).toBe(false);
  });

  it('wants are answered within a per-peer upload budget, then “busy”', async () => {
    const { owner, vault } = await ownerAndVictim();
    // A bigger vault: about 250 KB.
    await owner.importProducts(
      Array.from({ length: 1500 }, (_, i) => ({ name: `Product ${i} ${noise(100)}`, sku: `S${i}`, unit: 'each', price: 100 + i, stock: 5, offerQuantity: 5 })),
    );
    const rogue = new RawPeer(owner, 'leech');
    await rogue.hello();
    for (let i = 0; i < 200; i++) await rogue.send({ type: 'want', vaultId: fromHex(vault), have: [] });
    await eventually(() => rogue.received.filter((m) => m.type === 'changes' || m.type === 'refusal').length >= 200, 30_000, 'every want answered');
    const bundles = rogue.received.filter((m) => m.type === 'changes');
    const busy = rogue.received.filter((m) => m.type === 'refusal' && m.code === RefusalCode.busy);
    const size = bundles[0]!.type === 'changes' ? bundles[0]!.changes[0]!.length : 0;
    expect(size).toBeGreaterThan(100_000);
    const servedBytes = bundles.length * size;
    expect(servedBytes).toBeLessThanOrEqual(FRESH_BUDGETS.servedBytes.burst + size + 2 * FRESH_BUDGETS.servedBytes.perSecond * 30);
    expect(busy.length).toBeGreaterThan(0);
    expect(bundles.length + busy.length).toBe(200);
  });

  it('start-up reads the vault index, not every stored vault', async () => {
    const storage = new CountingStorage();
    const victim = await SoukNode.open({ storage });
    await victim.createShop({ name: 'Victim', area: 'Old Town' });
    const minted = Array.from({ length: 40 }, (_, i) =>
      new HostileOwner(`Shop ${i}`, Object.fromEntries(Array.from({ length: 40 }, (_, j) => [`p${j}`, validOffer(`p${j}`, `Item ${j} of shop ${i}`)]))),
    );
    for (const batch of [minted.slice(0, 20), minted.slice(20)]) {
      const seller = new RawPeer(victim, 'seller');
      await seller.hello();
      const { stop } = serveWants(seller, batch);
      for (const owner of batch) await seller.send({ type: 'heads', statements: [owner.statement()] });
      await eventually(() => batch.every((o) => victim.statementsOf(o.id)?.[0] !== undefined), 10_000, 'the batch');
      stop();
    }
    expect(victim.view().vaults.length).toBe(41);
    victim.close();
    const stored = (await storage.loadRange(['vault'])).reduce((n, r) => n + r.data.length, 0);
    storage.bytesRead = 0;
    storage.keysRead = [];
    const again = await SoukNode.open({ storage });
    opened.push(again);
    // Opening touched no vault document, and a small fraction of the stored bytes.
    expect(storage.keysRead.filter((k) => k.endsWith('/doc'))).toEqual([]);
    expect(storage.bytesRead).toBeLessThan(stored / 4);
    expect(again.view().vaults.length).toBe(41);
    // Content fills in afterwards.
    await again.whenContentLoaded();
    expect(again.marketplace('', 5000).offers.filter((o) => o.seller === 'Shop 39')).toHaveLength(40);
  });

  it('the refusal list, offences and blocks stay bounded under a stream of bad peers', async () => {
    const victim = await shopNode('Victim');
    for (let i = 0; i < 40; i++) {
      const rogue = new RawPeer(victim, `rogue ${i}`);
      await rogue.hello();
      const forged = { ...new HostileOwner(`x${i}`).statement(), signature: new Uint8Array(64) };
      for (let j = 0; j < 4; j++) await rogue.send({ type: 'heads', statements: [{ ...forged, counter: j + 1 }] }).catch(() => {});
    }
    await eventually(() => victim.view().blockedPeers.length === 40);
    expect(victim.view().refusals.length).toBeLessThanOrEqual(100);
  });
});

describe('attack 7: one slow peer cannot freeze the node', () => {
  it('a peer that asks and stops reading slows only its own link: own edits and other peers’ vaults still flow', async () => {
    const { owner, victim, product, vault } = await ownerAndVictim();
    await victim.importProducts(Array.from({ length: 3000 }, (_, i) => ({ name: `Bulk ${i} ${noise(150)}`, sku: '', unit: 'each', price: 1, stock: 1, offerQuantity: 1 })));
    const slow = new RawPeer(victim, 'slow reader');
    await slow.hello();
    slow.end.pauseDelivery();
    // Asks for everything, over and over, while staying "alive" by sending pings.
    for (let i = 0; i < 100; i++) {
      await slow.send({ type: 'want', vaultId: fromHex(vaultOf(victim)), have: [] });
      await slow.send({ type: 'want', vaultId: fromHex(vault), have: [] });
      await slow.send({ type: 'ping', nonce: i });
    }
    // The merchant's own edit completes at once.
    const id = await victim.addProduct({ name: 'Fresh bread', sku: 'B', unit: 'loaf', price: 300, stock: 20 });
    await victim.setOffer(id, { quantity: 10, price: 300 });
    // And the honest owner's update still arrives.
    await owner.setOffer(product, { quantity: 9, price: 688 });
    await eventually(() => priceAt(victim, 'Honey') === 688, 5000, 'the honest update despite the slow peer');
    // The slow peer's link is still open (it is slow, not hostile), and holds a bounded queue.
    expect(slow.closedReason).toBeUndefined();
    noHonestNodeBlocked(owner, victim);
    slow.end.resumeDelivery();
    await eventually(() => slow.received.some((m) => m.type === 'refusal' && m.code === RefusalCode.busy), 10_000, 'busy answers once it reads again');
  });
});

describe('attack 8: one link, one lane', () => {
  it('control messages (heads, pings) go between the fragments of a large bundle', async () => {
    const owner = await shopNode('Big Owner');
    await owner.importProducts(
      Array.from({ length: 8000 }, (_, i) => ({ name: `Item ${i} ${noise(120)}`, sku: `Z${i}`, unit: 'each', price: 100, stock: 5, offerQuantity: 5 })),
    );
    const small = await owner.addProduct({ name: 'Small', sku: 'SM', unit: 'each', price: 10, stock: 5 });
    const victim = await shopNode('Victim');
    const sent: { type: number; more: boolean }[] = [];
    // A slow link (about 1 MB/s) from the owner to the victim, recording every frame that leaves.
    link(owner, victim, (direction, bytes) => {
      if (direction === 'a-to-b') sent.push({ type: bytes[3]!, more: (bytes[4]! & FLAG_MORE) !== 0 });
    }, { bytesPerMs: 1000 });
    await eventually(() => sent.filter((f) => f.type === MessageType.changes).length >= 2, 10_000, 'the bundle to start');
    await owner.setOffer(small, { quantity: 5, price: 11 });
    await eventually(() => priceAt(victim, 'Small') === 11, 30_000, 'the small edit');
    const firstBundle = sent.findIndex((f) => f.type === MessageType.changes);
    const lastFragment = sent.findIndex((f, i) => i > firstBundle && f.type === MessageType.changes && !f.more);
    expect(lastFragment - firstBundle).toBeGreaterThan(3);
    const between = sent.slice(firstBundle, lastFragment).filter((f) => f.type === MessageType.heads);
    expect(between.length).toBeGreaterThanOrEqual(1);
  });
});

describe('attack 13: zombie links', () => {
  it('a link that stops carrying data is dropped by the heartbeat, and peer counts are true', async () => {
    const time = new ManualClock();
    const a = await openNode({ clock: time });
    const b = await openNode({ clock: time });
    await a.createShop({ name: 'A', area: 'x' });
    await b.createShop({ name: 'B', area: 'x' });
    const [x] = link(a, b);
    await eventually(() => a.view().peers.length === 1 && b.view().peers.length === 1);
    // The transport goes quiet without reporting a close: b stops hearing anything from a.
    x.pauseDelivery();
    const [x2, y2] = link(a, b);
    void x2;
    void y2;
    for (let t = 0; t <= SILENT_PEER_MS + 2 * PING_EVERY_MS; t += 1000) {
      time.advance(1000);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    // One live link each way remains; the zombie no longer counts.
    await eventually(() => a.view().peers.length === 1 && b.view().peers.length === 1);
  });
});
