import { PROTOCOL_VERSION } from '../sync/syncMessages';
import { afterEach, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../crypto/ed25519';
import { FRESH_BUDGETS } from '../mesh/peerPolicy';
import { proveLink } from '../sync/linkProof';
import { HostileOwner, validOffer } from '../test/hostileOwner';
import { eventually, RawPeer } from '../test/rawPeer';
import { signHeads } from '../vault/signedHeads';
import { fromHex } from '../wire/hex';
import { closeAll, honestEditFlows, link, nodeIdOf, noHonestNodeBlocked, openNode, ownerAndVictim, priceAt, serveWants, shopNode, vaultOf } from './attackKit';

/**
 * Attacks 5, 10, 11, 12 and 14 of the review: unproven identity, small-order keys, valid input
 * that could never link, a link out of step after a bad message, look-alike shops.
 */
afterEach(closeAll);

// The canonical encoding of the identity point: small order, anyone can "sign" for it.
const SMALL_ORDER_KEY = fromHex('0100000000000000000000000000000000000000000000000000000000000000');

describe('attack 5: unproven identity', () => {
  it('a rogue claiming an honest node’s id cannot prove it: it is dropped, and the honest node is neither blamed nor disconnected', async () => {
    const { owner, victim, product } = await ownerAndVictim();
    const rogue = new RawPeer(victim, 'rogue');
    // Claims the owner's node id in hello, then answers the challenge with its own key.
    await rogue.send({ type: 'hello', nodeId: owner.nodeId, challenge: new Uint8Array(32) });
    const theirHello = await rogue.waitFor('hello');
    await rogue.send({ type: 'proof', signature: proveLink(rogue.keys, theirHello.challenge, theirHello.nodeId) });
    // And misbehaves, as if it were the owner.
    await rogue.send({ type: 'heads', statements: [{ ...owner.statementsOf(vaultOf(owner))?.[0]!, counter: 99 }] }).catch(() => {});
    await eventually(() => rogue.closedReason !== undefined);
    expect(rogue.closedReason).toMatch(/link proof does not verify/);
    expect(victim.policy.offences(nodeIdOf(owner))).toBe(0);
    expect(victim.view().peers.map((p) => p.nodeId)).toEqual([nodeIdOf(owner)]);
    await honestEditFlows(owner, victim, product, 710);
    noHonestNodeBlocked(owner, victim);
  });

  it('a rogue claiming another shop (copying its certificate) is refused, counted against the rogue, and never listed under that name', async () => {
    const { owner, victim } = await ownerAndVictim();
    // The owner's real certificate, as it travels in its proofs.
    const real = owner.statementsOf(vaultOf(owner))?.[0]!.certificate;
    const rogue = new RawPeer(victim, 'rogue');
    await rogue.hello(real);
    expect(rogue.closedReason).toMatch(/shop certificate is for another device/);
    expect(victim.policy.offences(rogue.id)).toBe(1);
    expect(victim.view().peers.filter((p) => p.name === 'Owner').map((p) => p.nodeId)).toEqual([nodeIdOf(owner)]);
    noHonestNodeBlocked(owner, victim);
  });

  it('a blocked peer that comes back under a fresh id starts again with the smallest budget', async () => {
    const victim = await shopNode('Victim');
    const keys = generateKeyPair();
    const first = new RawPeer(victim, 'spammer', keys);
    await first.hello();
    for (let i = 0; i < 3; i++) {
      const forged = { ...new HostileOwner(`x${i}`).statement(), signature: new Uint8Array(64) };
      await first.send({ type: 'heads', statements: [forged] }).catch(() => {});
    }
    await eventually(() => first.closedReason !== undefined);
    expect(victim.view().blockedPeers).toEqual([first.id]);
    // Fresh key: accepted as a peer, but new vaults from it are limited to the fresh allowance.
    const fresh = new RawPeer(victim, 'fresh spammer');
    await fresh.hello();
    expect(fresh.closedReason).toBeUndefined();
    const owners = Array.from({ length: FRESH_BUDGETS.newVaults.burst + 20 }, (_, i) => new HostileOwner(`Minted ${i}`));
    for (let i = 0; i < owners.length; i += 50) await fresh.send({ type: 'heads', statements: owners.slice(i, i + 50).map((o) => o.statement()) });
    // Serve every want that comes, until the allowance is spent and a moment more.
    const { stop, served } = serveWants(fresh, owners);
    await eventually(() => served.size >= FRESH_BUDGETS.newVaults.burst - 1, 10_000, 'the fresh allowance');
    await new Promise((resolve) => setTimeout(resolve, 200));
    stop();
    // It got its fresh allowance, and not one vault more.
    expect(served.size).toBeGreaterThanOrEqual(FRESH_BUDGETS.newVaults.burst - 1);
    expect(served.size).toBeLessThanOrEqual(FRESH_BUDGETS.newVaults.burst + 1);
    expect(victim.view().vaults.length).toBeLessThanOrEqual(FRESH_BUDGETS.newVaults.burst + 2);
  });
});

describe('attack 10: small-order keys', () => {
  it('a vault id that is a small-order point cannot be signed for', async () => {
    const victim = await shopNode('Victim');
    const hostile = new HostileOwner('Anyone can sign', { p: validOffer('p', 'Free lunch') });
    const statement = signHeads(hostile.keys.device, { ...hostile.keys.certificate, vaultId: SMALL_ORDER_KEY, signature: new Uint8Array(64) }, 1, hostile.statement().heads);
    const rogue = new RawPeer(victim);
    await rogue.hello();
    await rogue.send({ type: 'heads', statements: [{ ...statement, vaultId: SMALL_ORDER_KEY }] });
    await eventually(() => victim.view().refusals.some((r) => /small-order|not an acceptable/.test(r.reason)));
    expect(victim.view().vaults.map((v) => v.vaultId)).toEqual([vaultOf(victim)]);
  });

  it('a node id that is a small-order point never proves itself', async () => {
    const victim = await shopNode('Victim');
    const rogue = new RawPeer(victim);
    await rogue.send({ type: 'hello', nodeId: SMALL_ORDER_KEY, challenge: new Uint8Array(32) });
    await rogue.waitFor('hello');
    // With a small-order key, R = identity and S = 0 "verifies" in permissive verifiers.
    const forged = new Uint8Array(64);
    forged[0] = 1;
    await rogue.send({ type: 'proof', signature: forged });
    await eventually(() => rogue.closedReason !== undefined);
    expect(rogue.closedReason).toMatch(/link proof does not verify/);
    expect(victim.view().peers).toEqual([]);
  });
});

describe('attack 11: valid input that could never link', () => {
  it('a shop name over the byte limit is refused where it is typed, with the byte count; one at the limit links', async () => {
    const node = await openNode();
    await expect(node.createShop({ name: 'ب'.repeat(75), area: 'Souk' })).rejects.toThrow(/Shop name is too long: 150 bytes, the limit is 120/);
    expect(node.hasShop).toBe(false);
    await node.createShop({ name: 'ب'.repeat(60), area: 'سوق الحميدية' });
    const peer = await shopNode('Peer');
    const product = await node.addProduct({ name: 'زيت زيتون'.repeat(8), sku: '', unit: 'لتر', price: 900, stock: 3 });
    await node.setOffer(product, { quantity: 3, price: 900 });
    link(node, peer);
    await eventually(() => peer.marketplace('').offers.some((o) => o.seller === 'ب'.repeat(60)));
    expect(peer.view().refusals).toEqual([]);
  });
});

describe('attack 12: out of step after a bad message', () => {
  it('a frame that decodes but whose message does not closes the link like a frame error, and counts', async () => {
    const { owner, victim, product } = await ownerAndVictim();
    const rogue = new RawPeer(victim);
    await rogue.hello();
    // A valid frame header for "want" whose payload is too short for a vault id.
    await rogue.sendBytes(new Uint8Array([0x53, 0x4b, PROTOCOL_VERSION, 3, 0, 0, 0, 3, 1, 2, 3]));
    await eventually(() => rogue.closedReason !== undefined);
    expect(victim.view().refusals[0]!.reason).toMatch(/bad frame: truncated vault id/);
    expect(victim.policy.offences(rogue.id)).toBe(1);
    await honestEditFlows(owner, victim, product, 711);
  });
});

describe('attack 14: look-alike shops', () => {
  it('a new shop taking a known shop’s name is flagged and told apart by its key', async () => {
    const { owner, victim } = await ownerAndVictim();
    const copycat = new HostileOwner('Owner', { p: validOffer('p', 'Honey', 650) });
    const rogue = new RawPeer(victim, 'copycat', copycat.keys.device);
    await rogue.hello(copycat.keys.certificate);
    await rogue.send({ type: 'heads', statements: [copycat.statement()] });
    await rogue.answerWant({ statements: [copycat.statement()], snapshot: true, changes: [copycat.snapshot()] });
    await eventually(() => victim.marketplace('honey').total === 2);
    const [a, b] = victim.marketplace('honey').offers;
    expect(a!.fingerprint).not.toBe(b!.fingerprint);
    const fake = victim.marketplace('honey').offers.find((o) => o.vaultId === copycat.id)!;
    const genuine = victim.marketplace('honey').offers.find((o) => o.vaultId === vaultOf(owner))!;
    expect(fake.lookAlikeOf).toBe(vaultOf(owner));
    expect(genuine.lookAlikeOf).toBeNull();
    // Marking the genuine shop trusted keeps it the original even against an older impostor.
    await victim.setTrusted(vaultOf(owner), true);
    expect(victim.marketplace('honey').offers.find((o) => o.vaultId === vaultOf(owner))).toMatchObject({ trusted: true, lookAlikeOf: null });
    expect(victim.view().vaults.find((v) => v.vaultId === copycat.id)!.lookAlikeOf).toBe(vaultOf(owner));
    expect(priceAt(victim, 'Honey', 'Owner')).toBeDefined();
  });
});
