import * as A from '@automerge/automerge';
import { afterEach, describe, expect, it } from 'vitest';
import { FRESH_BUDGETS } from '../mesh/peerPolicy';
import { compressChange } from '../test/compressChange';
import { HostileOwner, validOffer } from '../test/hostileOwner';
import { eventually, RawPeer } from '../test/rawPeer';
import { toHex } from '../wire/hex';
import { closeAll, link, nodeIdOf, noHonestNodeBlocked, openNode, priceAt, serveWants, shopNode, vaultOf } from './attackKit';

/**
 * Attacks the second outside review (the red team) demonstrated against the first version of
 * these defences; each must now fail.
 */
afterEach(closeAll);

describe('a hostile owner cannot get an honest relay blamed', () => {
  it('changes that each pass but together inflate past the limit are refused by the relay, so a fresh peer never blames it', async () => {
    const relay = await shopNode('Honest relay');
    const fresh = await shopNode('Fresh');
    const owner = new HostileOwner('Bloat', { p: validOffer('p', 'Thing', 300) });
    const seller = new RawPeer(relay, 'hostile owner', owner.keys.device);
    await seller.hello(owner.keys.certificate);
    const { stop } = serveWants(seller, [owner], true);
    await seller.send({ type: 'heads', statements: [owner.statement()] });
    await eventually(() => relay.statementsOf(owner.id)?.[0]?.counter === 1);
    // Version 2: three 6 MiB strings added in separate changes, then deleted; the content stays valid.
    const big = new A.ImmutableString('a'.repeat(6 * 1024 * 1024));
    const before = A.getHeads(owner.doc);
    owner.doc = A.change(owner.doc, (d) => void (d.junk1 = big));
    owner.doc = A.change(owner.doc, (d) => void (d.junk2 = big));
    owner.doc = A.change(owner.doc, (d) => void (d.junk3 = big));
    owner.doc = A.change(owner.doc, (d) => {
      delete d.junk1;
      delete d.junk2;
      delete d.junk3;
    });
    owner.counter += 1;
    expect(A.getChangesSince(owner.doc, before).map(compressChange).reduce((n, c) => n + c.length, 0)).toBeLessThan(64 * 1024);
    await seller.send({ type: 'heads', statements: [owner.statement()] });
    await eventually(() => relay.view().refusals.some((r) => /too large once assembled/.test(r.reason)), 20_000, 'the relay to refuse v2');
    stop();
    expect(relay.statementsOf(owner.id)?.[0]!.counter).toBe(1);
    expect(relay.policy.offences(seller.id)).toBe(1);
    // A fresh peer takes what the relay kept and blames nobody; the relay's own edits reach it.
    link(relay, fresh);
    await eventually(() => priceAt(fresh, 'Thing') === 300);
    const product = await relay.addProduct({ name: 'Bread', sku: 'B', unit: 'loaf', price: 100, stock: 3 });
    await relay.setOffer(product, { quantity: 3, price: 100 });
    await eventually(() => priceAt(fresh, 'Bread') === 100);
    noHonestNodeBlocked(relay, fresh);
  }, 60_000);
});

describe('one identity cannot evict the shops a merchant uses', () => {
  it('large new vaults cost their bringer storage allowance; the honest shop being viewed stays', async () => {
    const owner = await shopNode('Owner');
    const product = await owner.addProduct({ name: 'Honey', sku: 'H', unit: 'jar', price: 700, stock: 9 });
    await owner.setOffer(product, { quantity: 9, price: 700 });
    const victim = await openNode({ vaultBudget: { maxOtherBytes: 8 * 1024 * 1024 } });
    await victim.createShop({ name: 'Victim', area: 'Old Town' });
    link(owner, victim);
    await eventually(() => priceAt(victim, 'Honey') === 700);
    // Vaults of about 1.5 MB each: random bytes written and deleted (few operations, valid content).
    const heavy = Array.from({ length: 8 }, (_, i) => {
      const vault = new HostileOwner(`Heavy ${i}`, { p: validOffer('p', `Heavy ${i}`) });
      const noise = Array.from({ length: 12 }, () => toHex(crypto.getRandomValues(new Uint8Array(62_500)))).join('');
      vault.change((d) => void (d.junk = new A.ImmutableString(noise)));
      vault.change((d) => void delete d.junk);
      return vault;
    });
    const seller = new RawPeer(victim, 'evicter');
    await seller.hello();
    const { stop } = serveWants(seller, heavy);
    await seller.send({ type: 'heads', statements: heavy.map((v) => v.statement()) });
    // The merchant keeps looking at the Marketplace while this goes on.
    for (let i = 0; i < 60; i++) {
      victim.marketplace('');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    stop();
    const taken = heavy.filter((v) => victim.statementsOf(v.id)?.[0] !== undefined).length;
    const brought = heavy.slice(0, taken).reduce((n, v) => n + v.snapshot().length, 0);
    expect(taken).toBeGreaterThanOrEqual(1);
    expect(brought).toBeLessThanOrEqual(FRESH_BUDGETS.vaultBytes.burst + 2 * 1024 * 1024);
    expect(priceAt(victim, 'Honey')).toBe(700);
    expect(victim.statementsOf(vaultOf(owner))?.[0]).toBeDefined();
  }, 60_000);
});

describe('a peer that forwards announcements and never answers', () => {
  it('holds nobody up for long: the version is asked of the shop itself after a few seconds of silence', async () => {
    const owner = await shopNode('Owner');
    const relay = await shopNode('Relay');
    const victim = await shopNode('Victim');
    const product = await owner.addProduct({ name: 'Honey', sku: 'H', unit: 'jar', price: 700, stock: 9 });
    await owner.setOffer(product, { quantity: 9, price: 700 });
    // X hears the owner first and forwards every statement to the victim at once, then never answers.
    const atVictim = new RawPeer(victim, 'X at victim');
    await atVictim.hello();
    const atOwner = new RawPeer(owner, 'X at owner', atVictim.keys);
    await atOwner.hello();
    let forwarded = 0;
    let running = true;
    void (async () => {
      while (running && atVictim.closedReason === undefined) {
        for (const message of atOwner.received.slice(forwarded)) if (message.type === 'heads') await atVictim.send(message);
        forwarded = atOwner.received.length;
        await atVictim.send({ type: 'ping', nonce: 1 }).catch(() => {});
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    link(owner, relay);
    link(relay, victim);
    await eventually(() => priceAt(victim, 'Honey') === 700, 15_000, 'the first version despite X');
    await owner.setOffer(product, { quantity: 9, price: 650 });
    // Before: 25 s (the whole request timeout and a retry). Now: a few seconds of silence, then elsewhere.
    await eventually(() => priceAt(victim, 'Honey') === 650, 15_000, 'the edit despite X');
    running = false;
    expect(atVictim.received.some((m) => m.type === 'want')).toBe(true);
    noHonestNodeBlocked(owner, relay, victim);
    expect(victim.policy.offences(nodeIdOf(relay))).toBe(0);
  }, 60_000);
});

describe('a peer that sends whole documents when changes would do', () => {
  it('pays for every operation it makes the node load: repeated snapshots are deferred past its allowance', async () => {
    const victim = await shopNode('Victim');
    const hostile = new HostileOwner('Churn', { p: validOffer('p', 'Churn', 1) });
    hostile.change((d) => void (d.ballast = new Array(150_000).fill(1)));
    hostile.change((d) => void delete d.ballast);
    const seller = new RawPeer(victim, 'churner', hostile.keys.device);
    await seller.hello(hostile.keys.certificate);
    const { stop } = serveWants(seller, [hostile]);
    const accepted = new Set<number>();
    for (let version = 0; version < 12; version++) {
      hostile.change((d) => void ((d.offerFields as Record<string, unknown>)['p/p'] = version + 2));
      await seller.send({ type: 'heads', statements: [hostile.statement()] });
      await new Promise((resolve) => setTimeout(resolve, 150));
      const counter = victim.statementsOf(hostile.id)?.[0]?.counter;
      if (counter) accepted.add(counter);
    }
    stop();
    const ops = 150_000;
    // The fresh allowance loads about burst / ops documents; a full refill takes minutes.
    expect(accepted.size).toBeLessThanOrEqual(Math.ceil(FRESH_BUDGETS.ops.burst / ops) + 1);
    expect(victim.view().refusals.some((r) => /over its budget/.test(r.reason))).toBe(true);
  }, 60_000);
});

describe('peers that take turns never answering (third review)', () => {
  it('two forwarders that announce a version and then trickle or stay silent cannot hold it back', async () => {
    const owner = await shopNode('Owner');
    const victim = await shopNode('Victim');
    const product = await owner.addProduct({ name: 'Honey', sku: 'H', unit: 'jar', price: 700, stock: 9 });
    await owner.setOffer(product, { quantity: 9, price: 700 });
    const relay = await shopNode('Relay');
    const [ownerEnd] = link(owner, relay);
    await eventually(() => priceAt(relay, 'Honey') === 700);
    void ownerEnd;
    // Two attackers on the victim: one trickles a byte of a never-finishing bundle every second, one says nothing.
    const trickler = new RawPeer(victim, 'trickler');
    await trickler.hello();
    const silent = new RawPeer(victim, 'silent');
    await silent.hello();
    const statement = owner.statementsOf(vaultOf(owner))?.[0]!;
    await trickler.send({ type: 'heads', statements: [statement] });
    await silent.send({ type: 'heads', statements: [statement] });
    let running = true;
    void (async () => {
      await trickler.sendBytes(new Uint8Array([0x53, 0x4b, 2, 4, 1, 0x01, 0x00, 0x00])).catch(() => {});
      while (running && trickler.closedReason === undefined) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        await trickler.sendBytes(new Uint8Array([0])).catch(() => {});
        await silent.send({ type: 'pong', nonce: 1 }).catch(() => {});
      }
    })();
    // The honest relay links afterwards; it has the version too.
    link(relay, victim);
    await eventually(() => priceAt(victim, 'Honey') === 700, 20_000, 'the version despite the two attackers');
    running = false;
    noHonestNodeBlocked(owner, relay, victim);
  }, 40_000);
});

describe('a shop that signs two different versions with one number (third review)', () => {
  it('is called out where the merchant sees refusals; the version held first stays', async () => {
    const victim = await shopNode('Victim');
    const hostile = new HostileOwner('Two Faces', { p: validOffer('p', 'Figs', 100) });
    const base = hostile.doc;
    hostile.change((d) => void ((d.offerFields as Record<string, unknown>)['p/p'] = 111));
    const first = { statement: hostile.statement(), snapshot: hostile.snapshot() };
    hostile.doc = A.change(A.clone(base), (d) => void ((d.offerFields as Record<string, unknown>)['p/p'] = 222));
    const second = hostile.statement();
    expect(second.counter).toBe(first.statement.counter);
    const seller = new RawPeer(victim, 'first face');
    await seller.hello();
    await seller.send({ type: 'heads', statements: [first.statement] });
    await seller.answerWant({ statements: [first.statement], snapshot: true, changes: [first.snapshot] });
    await eventually(() => priceAt(victim, 'Figs') === 111);
    const other = new RawPeer(victim, 'second face');
    await other.hello();
    await other.send({ type: 'heads', statements: [second] });
    await eventually(() => victim.view().refusals.some((r) => /signed two different versions numbered 2/.test(r.reason)));
    expect(priceAt(victim, 'Figs')).toBe(111);
  });
});
