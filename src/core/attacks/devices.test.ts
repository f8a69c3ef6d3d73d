import * as A from '@automerge/automerge';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, link, openNode, servedSnapshot, shopNode } from './attackKit';
import { RawPeer, eventually } from '../test/rawPeer';
import { MemoryStorage } from '../storage/memoryStorage';
import { keyPairFromSecret } from '../crypto/ed25519';
import { decodeShopKeys } from '../vault/shopKeys';
import { signHeads } from '../vault/signedHeads';
import { deviceOf } from '../vault/vaultVersion';
import { toHex } from '../wire/hex';
import type { SoukNode } from '../node/soukNode';

afterEach(closeAll);

const offered = (node: SoukNode, name: string) => node.marketplace(name).offers.find((o) => o.name.startsWith(name));

/** A shop on `first`, a laptop joined to it, then stolen: the thief holds the laptop's keys. */
async function stolenLaptop() {
  const first = await shopNode('Two Tills');
  const honey = await first.addProduct({ name: 'Honey', sku: 'H', unit: 'jar', price: 700, stock: 10 });
  await first.setOffer(honey, { quantity: 8, price: 700 });
  const laptopStorage = new MemoryStorage();
  const laptop = await openNode({ storage: laptopStorage });
  const ends = link(first, laptop);
  await laptop.joinShop(first.startPairing().code, 'Laptop');
  await laptop.setOffer(honey, { quantity: 7, price: 705 });
  const laptopKey = toHex(laptop.nodeId);
  await eventually(() => (first.devices().find((d) => d.publicKey === laptopKey)?.counter ?? 0) >= 2, 10_000, 'the root to hold the laptop’s edit');
  for (const end of ends) end.close('laptop stolen');
  await first.revokeDevice(laptopKey);
  const nodeKey = keyPairFromSecret((await laptopStorage.load(['node', 'key']))!);
  const shopKeys = decodeShopKeys((await laptopStorage.load(['keys', 'shop']))!);
  const vault = toHex(shopKeys.vaultId);
  const statements = first.statementsOf(vault)!;
  return {
    first,
    honey,
    vault,
    nodeKey,
    shopKeys,
    laptopStatement: statements.find((s) => deviceOf(s) === laptopKey)!,
    rootStatement: statements.find((s) => deviceOf(s) !== laptopKey)!,
  };
}

describe('a stolen device after its revocation (review of the multi-device landing)', () => {
  it('re-signing something else under its last counter is refused, the relay is not blamed', async () => {
    const { first, honey, vault, nodeKey, shopKeys, laptopStatement, rootStatement } = await stolenLaptop();
    const shared = A.load<Record<string, Record<string, unknown>>>(await servedSnapshot(first, vault), { actor: toHex(nodeKey.publicKey).slice(0, 32) });
    const forged = A.change(shared, (d) => {
      d.offerFields![`${honey}/n`] = new A.ImmutableString('Honey - pay first at scam.example');
      d.offerFields![`${honey}/p`] = 1;
    });
    const forgedStatement = signHeads(nodeKey, shopKeys.certificate, laptopStatement.counter, A.getHeads(forged));
    const buyer = await shopNode('Buyer');
    const relay = new RawPeer(buyer, 'relay');
    await relay.hello();
    await relay.send({ type: 'heads', statements: [rootStatement, forgedStatement] });
    await relay.answerWant({ statements: [rootStatement, forgedStatement], snapshot: true, changes: [A.save(forged)] });
    await eventually(() => buyer.view().refusals.some((r) => /was revoked/.test(r.reason)), 10_000, 'the forgery to be refused');
    expect(offered(buyer, 'Honey')).toBeUndefined();
    expect(buyer.policy.offences(relay.id)).toBe(0);
    // The true shop still gets through.
    link(first, buyer);
    await eventually(() => offered(buyer, 'Honey')?.price === 705, 10_000, 'the true offer');
  });

  it('a fork that deletes its revocation fools only a peer that never heard of it, and only until an honest peer arrives', async () => {
    const { first, honey, vault, nodeKey, shopKeys, rootStatement } = await stolenLaptop();
    const shared = A.load<Record<string, Record<string, unknown>>>(await servedSnapshot(first, vault), { actor: toHex(nodeKey.publicKey).slice(0, 32) });
    const forged = A.change(shared, (d) => {
      delete d.revocations![toHex(nodeKey.publicKey)];
      d.offerFields![`${honey}/n`] = new A.ImmutableString('Honey - pay first at scam.example');
      d.offerFields![`${honey}/p`] = 1;
    });
    const forgedStatement = signHeads(nodeKey, shopKeys.certificate, 99, A.getHeads(forged));
    const buyer = await shopNode('Buyer');
    const relay = new RawPeer(buyer, 'relay');
    await relay.hello();
    await relay.send({ type: 'heads', statements: [rootStatement, forgedStatement] });
    // The relay withholds the revocation: a peer that never heard of it cannot know.
    await relay.answerWant({ statements: [rootStatement, forgedStatement], snapshot: true, changes: [A.save(forged)] });
    await eventually(() => offered(buyer, 'Honey')?.price === 1, 10_000, 'the fork (unavoidable without the revocation)');
    // An honest peer's bundle carries the revocation: the buyer drops the fork and takes the true shop.
    link(first, buyer);
    await first.setOffer(honey, { quantity: 6, price: 800 });
    await eventually(() => offered(buyer, 'Honey')?.price === 800, 10_000, 'the true shop after the fork is dropped');
    expect(offered(buyer, 'Honey')?.name).toBe('Honey');
    // And the revocation sticks: the fork offered again is refused.
    const again = new RawPeer(buyer, 'relay again');
    await again.hello();
    await again.send({ type: 'heads', statements: [forgedStatement] });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(offered(buyer, 'Honey')?.price).toBe(800);
  });
});

describe('a device revoked after another device took its later edit (second review)', () => {
  it('the device that took it vouches for it: the shop does not split, and the revoked device’s catalog is not taken afterwards', async () => {
    const root = await shopNode('Three Tills');
    const honey = await root.addProduct({ name: 'Honey', sku: 'H', unit: 'jar', price: 700, stock: 10 });
    const figs = await root.addProduct({ name: 'Figs', sku: 'F', unit: 'kg', price: 300, stock: 10 });
    await root.setOffer(honey, { quantity: 8, price: 700 });
    const till = await openNode();
    const ends = link(root, till);
    await till.joinShop(root.startPairing().code, 'Till');
    const laptop = await openNode();
    const ends2 = link(root, laptop);
    await laptop.joinShop(root.startPairing().code, 'Laptop');
    const L = toHex(laptop.nodeId);
    await eventually(() => root.devices().length === 3 && till.devices().length === 3 && laptop.devices().length === 3, 10_000, 'three devices');
    for (const end of [...ends, ...ends2]) end.close('apart');
    // The laptop and the till meet while the root is away: the laptop re-prices honey, the till takes it.
    const lt = link(laptop, till);
    await laptop.setOffer(honey, { quantity: 7, price: 650 });
    // Both halves: the shared offer and the private catalog travel separately.
    await eventually(() => offered(till, 'Honey')?.price === 650 && till.products('Honey').products[0]?.offer?.price === 650, 10_000, 'the till to take the laptop’s edit');
    for (const end of lt) end.close('apart');
    // The laptop is lost; the root revokes it with what the root knew.
    await root.revokeDevice(L);
    await root.setOffer(figs, { quantity: 5, price: 310 });
    await till.setOffer(figs, { quantity: 4, price: 299 });
    link(root, till);
    await eventually(() => root.view().shop?.name === 'Three Tills' && root.products('Honey').products[0]?.offer?.price === 650, 10_000, 'the root to take the till’s version, the laptop’s edit vouched');
    await root.updateProfile({ name: 'Three Tills v2', area: 'x' });
    await eventually(() => till.view().shop?.name === 'Three Tills v2', 10_000, 'the till to take the root’s next version');
    await eventually(() => till.devices().find((d) => d.publicKey === L)?.revokedAt != null, 10_000, 'the till to know the revocation');
    // The revoked laptop meets the till: its catalog edits are not taken, nor passed on.
    link(laptop, till);
    await laptop.adjustStock(figs, -7).catch(() => {});
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(till.products('Figs').products[0]?.stock).toBe(10);
  });
});
