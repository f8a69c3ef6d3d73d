import * as A from '@automerge/automerge';
import { afterEach, describe, expect, it } from 'vitest';
import { SoukNode } from '../node/soukNode';
import { MemoryStorage } from '../storage/memoryStorage';
import { HostileOwner, validOffer } from '../test/hostileOwner';
import { eventually, RawPeer } from '../test/rawPeer';
import type { SharedVaultDoc } from '../vault/vaultDocuments';
import { concatBytes } from '../wire/hex';
import {
  closeAll,
  honestEditFlows,
  link,
  noHonestNodeBlocked,
  opened,
  ownerAndVictim,
  priceAt,
  servedSnapshot,
  shopNode,
  storesCanonicalBytes,
  vaultOf,
} from './attackKit';

/**
 * Attacks 1–4 of the review ("Trust under attack"): poisoned bundles, no rollback, poisoned
 * content, decompression bombs and padding. Each attack must fail, leave honest state intact,
 * block no honest node, and let the honest owner's edits still flow.
 */
afterEach(closeAll);

const concat = concatBytes;

describe('attack 1: a poisoned bundle (a genuine snapshot with a queued change appended)', () => {
  it('is refused; the honest owner is never blamed, even by nodes that never met the relay', async () => {
    const owner = await shopNode('Owner');
    const victim = await shopNode('Victim');
    const bystander = await shopNode('Bystander');
    const product = await owner.addProduct({ name: 'Honey', sku: 'H', unit: 'jar', price: 700, stock: 9 });
    await owner.setOffer(product, { quantity: 9, price: 700 });
    const vault = vaultOf(owner);
    const [ownerEnd] = link(owner, victim);
    link(victim, bystander);
    await eventually(() => priceAt(bystander, 'Honey') === 700);

    // The owner signs version N while away from the victim; the victim has N-1 and only the relay offers N.
    ownerEnd.close('owner goes offline');
    await owner.setOffer(product, { quantity: 9, price: 710 });
    const genuine = await servedSnapshot(owner, vault);
    const statement = owner.statementsOf(vault)?.[0]!;
    // A change whose dependency is missing: Automerge would keep it queued and the heads would still match.
    const base = A.load<SharedVaultDoc>(genuine);
    const step1 = A.change(A.clone(base), (d) => void (d.profile.name = new A.ImmutableString('Owner (step 1)')));
    const step2 = A.change(A.clone(step1), (d) => {
      for (const key of Object.keys(d.offerFields)) if (key.endsWith('/p')) d.offerFields[key] = 1;
    });
    const orphan = A.getChangesSince(step2, A.getHeads(step1));
    expect(orphan).toHaveLength(1);
    const poisoned = concat(genuine, orphan[0]!);
    // Automerge itself would take it: the heads look right, one change waits for its dependency.
    const loaded = A.load<SharedVaultDoc>(poisoned);
    expect(A.getHeads(loaded).sort()).toEqual([...statement.heads]);
    expect(A.getMissingDeps(loaded, []).length).toBeGreaterThan(0);

    const relay = new RawPeer(victim, 'relay');
    await relay.hello();
    await relay.send({ type: 'heads', statements: [statement] });
    await relay.answerWant({ statements: [statement], snapshot: true, changes: [poisoned] });
    await eventually(() => victim.view().refusals.some((r) => /dependencies are missing/.test(r.reason)));
    expect(victim.policy.offences(relay.id)).toBe(1);

    expect(priceAt(victim, 'Honey')).toBe(700);
    expect(priceAt(bystander, 'Honey')).toBe(700);
    // The owner comes back: the victim takes the genuine version, stores its own canonical bytes, and serves them.
    link(owner, victim);
    await eventually(() => victim.statementsOf(vault)?.[0]!.counter === statement.counter);
    const served = await servedSnapshot(victim, vault);
    expect(A.getMissingDeps(A.load(served), [])).toEqual([]);
    // The owner's next genuine edit applies everywhere; nobody blames the owner or the victim.
    await honestEditFlows(owner, victim, product, 720);
    await eventually(() => priceAt(bystander, 'Honey') === 720);
    noHonestNodeBlocked(owner, victim, bystander);
  });

  it('a change bundle with an orphan change appended is refused the same way', async () => {
    const owner = await shopNode('Owner');
    const victim = await shopNode('Victim');
    const product = await owner.addProduct({ name: 'Honey', sku: 'H', unit: 'jar', price: 700, stock: 9 });
    await owner.setOffer(product, { quantity: 9, price: 700 });
    const vault = vaultOf(owner);
    const [ownerEnd] = link(owner, victim);
    await eventually(() => priceAt(victim, 'Honey') === 700);
    ownerEnd.close('owner goes offline');
    const have = victim.statementsOf(vault)?.[0]!;
    const before = A.load<SharedVaultDoc>(await servedSnapshot(owner, vault));
    await owner.setOffer(product, { quantity: 9, price: 730 });
    const after = A.load<SharedVaultDoc>(await servedSnapshot(owner, vault));
    const genuineChanges = A.getChangesSince(after, have.heads);
    const side = A.change(A.clone(before), (d) => void (d.profile.area = new A.ImmutableString('x')));
    const orphan = A.getChanges(side, A.change(A.clone(side), (d) => void (d.profile.area = new A.ImmutableString('z'))));
    const relay = new RawPeer(victim, 'relay');
    await relay.hello();
    await relay.send({ type: 'heads', statements: [owner.statementsOf(vault)?.[0]!] });
    await relay.answerWant({ statements: [owner.statementsOf(vault)?.[0]!], snapshot: false, changes: [...genuineChanges, ...orphan] });
    await eventually(() => victim.view().refusals.some((r) => /dependencies are missing/.test(r.reason)));
    expect(priceAt(victim, 'Honey')).toBe(700);
    expect(victim.policy.offences(relay.id)).toBe(1);
    link(owner, victim);
    await eventually(() => priceAt(victim, 'Honey') === 730);
    noHonestNodeBlocked(owner, victim);
  });
});

describe('attack 2: a validly signed change that breaks the vault’s shape', () => {
  it('is refused and leaves memory and storage exactly at the last verified state', async () => {
    const storage = new MemoryStorage();
    const victim = await SoukNode.open({ storage });
    opened.push(victim);
    await victim.createShop({ name: 'Victim', area: 'Old Town' });
    const bystander = await shopNode('Bystander');
    const hostile = new HostileOwner('Shapeshifter', { p1: validOffer('p1', 'Figs', 300) });
    const seller = new RawPeer(victim, 'hostile owner', hostile.keys.device);
    await seller.hello(hostile.keys.certificate);
    await seller.send({ type: 'heads', statements: [hostile.statement()] });
    await seller.answerWant({ statements: [hostile.statement()], snapshot: true, changes: [hostile.snapshot()] });
    await eventually(() => priceAt(victim, 'Figs') === 300);
    const keptBefore = await storesCanonicalBytes(storage, hostile.id);

    // Version 2 deletes the profile, signed by the owner's own certified device.
    const base = hostile.doc;
    hostile.change((d) => void delete d.profile);
    await seller.send({ type: 'heads', statements: [hostile.statement()] });
    await seller.answerWant({ statements: [hostile.statement()], snapshot: false, changes: A.getChangesSince(hostile.doc, A.getHeads(base)) });
    await eventually(() => victim.view().refusals.some((r) => /vault content is invalid: vault has no profile/.test(r.reason)));
    expect(victim.statementsOf(hostile.id)?.[0]!.counter).toBe(1);
    expect(await storage.load(['vault', hostile.id, 'doc'])).toEqual(keptBefore);
    expect(priceAt(victim, 'Figs')).toBe(300);

    // What the victim serves still matches what it announces: a third node takes it and blames nobody.
    link(victim, bystander);
    await eventually(() => priceAt(bystander, 'Figs') === 300);
    expect(bystander.view().refusals.filter((r) => /refused/.test(r.reason))).toEqual([]);
    noHonestNodeBlocked(victim, bystander);
  });
});

describe('attack 3: poisoned content (offer fields of the wrong types)', () => {
  it('is refused before it is kept; every view keeps working and shows the honest offers', async () => {
    const { owner, victim, product } = await ownerAndVictim();
    const bad: Record<string, unknown>[] = [
      { ...validOffer('p1', 'Bad price'), price: 'free' },
      { ...validOffer('p1', 'Bad name'), name: 12345 },
      { ...validOffer('p1', 'Bad quantity'), quantity: { toString: 'x' } },
      { ...validOffer('p1', 'Huge name'), name: 'x'.repeat(100_000) },
      { ...validOffer('p1', 'Nested'), area: ['a', ['b']] },
      { ...validOffer('p1', 'Negative'), quantity: -5 },
      { ...validOffer('p1', 'Extra'), script: '<img onerror=alert(1)>' },
    ];
    for (const [i, offer] of bad.entries()) {
      const hostile = new HostileOwner(`Poison ${i}`, { p1: offer });
      const seller = new RawPeer(victim, `poison ${i}`);
      await seller.hello();
      await seller.send({ type: 'heads', statements: [hostile.statement()] });
      await seller.answerWant({ statements: [hostile.statement()], snapshot: true, changes: [hostile.snapshot()] });
      await eventually(() => victim.view().refusals.some((r) => r.reason.includes(hostile.id.slice(0, 8))));
      expect(victim.statementsOf(hostile.id)?.[0]).toBeUndefined();
    }
    expect(victim.view().refusals.filter((r) => /vault content is invalid/.test(r.reason))).toHaveLength(bad.length);
    const market = victim.marketplace('');
    expect(market.offers.map((o) => o.name)).toEqual(['Honey']);
    expect(() => JSON.stringify(victim.view())).not.toThrow();
    await honestEditFlows(owner, victim, product, 705);
  });
});

describe('attack 4: decompression bomb and padding', () => {
  it('a tiny signed snapshot that expands past the operation limit is refused before it is loaded, and never stored', async () => {
    const storage = new MemoryStorage();
    const { owner, product } = await ownerAndVictim();
    const victim = await SoukNode.open({ storage });
    opened.push(victim);
    await victim.createShop({ name: 'Victim 2', area: 'Old Town' });
    link(owner, victim);
    await eventually(() => priceAt(victim, 'Honey') === 700);
    const hostile = new HostileOwner('Bomb');
    hostile.change((d) => void (d.junk = new Array(420_000).fill(7)));
    const bomb = hostile.snapshot();
    expect(bomb.length).toBeLessThan(4096);
    const seller = new RawPeer(victim, 'bomber');
    await seller.hello();
    await seller.send({ type: 'heads', statements: [hostile.statement()] });
    await seller.answerWant({ statements: [hostile.statement()], snapshot: true, changes: [bomb] });
    await eventually(() => victim.view().refusals.some((r) => /operations/.test(r.reason) && r.reason.includes(hostile.id.slice(0, 8))));
    expect(victim.statementsOf(hostile.id)?.[0]).toBeUndefined();
    expect(await storage.loadRange(['vault', hostile.id])).toEqual([]);
    await honestEditFlows(owner, victim, product, 777);
    // Start-up does not meet the bomb either: it was never kept.
    victim.close();
    const again = await SoukNode.open({ storage });
    opened.push(again);
    expect(again.statementsOf(hostile.id)?.[0]).toBeUndefined();
  });

  it('a genuine document padded with a megabyte is refused; what is kept is never a peer’s bytes', async () => {
    const storage = new MemoryStorage();
    const victim = await SoukNode.open({ storage });
    opened.push(victim);
    const hostile = new HostileOwner('Padded', { p1: validOffer('p1', 'Olives', 450) });
    const seller = new RawPeer(victim, 'padder');
    await seller.hello();
    await seller.send({ type: 'heads', statements: [hostile.statement()] });
    const padded = concat(hostile.snapshot(), new Uint8Array(1024 * 1024));
    await seller.answerWant({ statements: [hostile.statement()], snapshot: true, changes: [padded] });
    await eventually(() => victim.view().refusals.some((r) => /padding|bytes after/.test(r.reason)));
    expect(victim.statementsOf(hostile.id)?.[0]).toBeUndefined();
    // The same document sent properly, but from a peer that re-encoded it differently, is kept as this node's own encoding.
    const honestSeller = new RawPeer(victim, 'honest seller');
    await honestSeller.hello();
    await honestSeller.send({ type: 'heads', statements: [hostile.statement()] });
    const changes = A.getAllChanges(hostile.doc);
    const reencoded = A.save(A.applyChanges(A.init(), changes)[0]);
    await honestSeller.answerWant({ statements: [hostile.statement()], snapshot: true, changes: [reencoded] });
    await eventually(() => priceAt(victim, 'Olives') === 450);
    const stored = await storesCanonicalBytes(storage, hostile.id);
    expect(stored.length).toBeLessThan(2048);
  });
});
