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
