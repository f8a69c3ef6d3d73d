import * as A from '@automerge/automerge';
import { afterEach, describe, expect, it } from 'vitest';
import type { Link } from '../link/link';
import { createMemoryLinkPair } from '../link/memoryLink';
import { MemoryStorage } from '../storage/memoryStorage';
import { StorageError } from '../storage/storage';
import { decodeMessage, SYNC_FRAME_LIMITS } from '../sync/syncMessages';
import { createShopKeys } from '../vault/shopKeys';
import { generateKeyPair } from '../crypto/ed25519';
import { toHex } from '../wire/hex';
import { signHeads } from '../vault/signedHeads';
import type { SharedVaultDoc } from '../vault/vaultDocuments';
import { eventually, RawPeer } from '../test/rawPeer';
import { FrameDecoder } from '../wire/frame';
import { SoukNode } from './soukNode';

const open: SoukNode[] = [];
async function shopNode(name: string, storage = new MemoryStorage()): Promise<SoukNode> {
  const node = await SoukNode.open({ storage });
  open.push(node);
  if (!node.hasShop) await node.createShop({ name, area: 'Old Town', currency: 'EUR', exactLocation: 'Stall 14, back row' });
  return node;
}

function link(a: SoukNode, b: SoukNode): void {
  const [x, y] = createMemoryLinkPair('a', 'b');
  a.addLink(x);
  b.addLink(y);
}

const vaultOf = (node: SoukNode) => node.view().shop!.vaultId;
const offerPrice = (node: SoukNode, name: string) => node.marketplace(name).offers.find((o) => o.name === name)?.price;

afterEach(() => {
  for (const node of open.splice(0)) node.close();
});

describe('a shop on one node', () => {
  it('keeps a catalog and offers a product, coarsening what is shared', async () => {
    const node = await shopNode('Ada Groceries');
    const id = await node.addProduct({
      name: 'Rice 5kg',
      sku: 'RICE-5',
      unit: 'bag',
      price: 1250,
      stock: 40,
      costPrice: 900,
      supplierNotes: 'Cousin Omar, pays late',
      shelf: 'B3',
      batches: [
        { quantity: 20, expiresOn: '2027-03-05T17:45:00Z' },
        { quantity: 20, expiresOn: '2027-01-10' },
      ],
    });
    await expect(node.setOffer(id, { quantity: 50, price: 1200 })).rejects.toThrow(/more than stock \(40\)/);
    await node.setOffer(id, { quantity: 30, price: 1200 });
    const [offer] = node.marketplace('rice').offers;
    expect(offer).toMatchObject({ name: 'Rice 5kg', quantity: 30, price: 1200, expiresOn: '2027-01-10', area: 'Old Town', own: true });
    // Selling stock below the offered quantity shrinks the offer.
    await node.adjustStock(id, -25);
    expect(node.marketplace('rice').offers[0]!.quantity).toBe(15);
    await expect(node.adjustStock(id, -16)).rejects.toThrow(/Only 15 bag in stock/);
    await node.removeProduct(id);
    expect(node.marketplace('').total).toBe(0);
    expect(node.products()).toEqual({ products: [], total: 0 });
  });

  it('runs concurrent edits one after another and loses none', async () => {
    const node = await shopNode('Busy Stall');
    const id = await node.addProduct({ name: 'Tea', sku: 'T1', unit: 'box', price: 300, stock: 10 });
    await Promise.all([
      node.adjustStock(id, 5),
      node.adjustStock(id, -3),
      node.setOffer(id, { quantity: 4, price: 280 }),
      node.addProduct({ name: 'Sugar', sku: 'S1', unit: 'kg', price: 120, stock: 8 }),
    ]);
    expect(node.products().products.map((p) => [p.name, p.stock])).toEqual([
      ['Sugar', 8],
      ['Tea', 12],
    ]);
    expect(node.marketplace('tea').offers[0]!.price).toBe(280);
    // Search and a limit, for catalogs of thousands.
    expect(node.products('s1').products.map((p) => p.name)).toEqual(['Sugar']);
    const firstOnly = node.products('', 1);
    expect([firstOnly.products.length, firstOnly.total]).toEqual([1, 2]);
  });

  it('restores everything from storage, across compactions', async () => {
    const storage = new MemoryStorage();
    const node = await shopNode('Keeper', storage);
    const id = await node.addProduct({ name: 'Oil', sku: 'O1', unit: 'l', price: 500, stock: 100 });
    await node.setOffer(id, { quantity: 10, price: 480 });
    for (let i = 0; i < 150; i++) await node.adjustStock(id, -0.5);
    node.close();
    const again = await SoukNode.open({ storage });
    open.push(again);
    await again.whenContentLoaded();
    expect(again.products().products[0]!.stock).toBe(25);
    expect(again.marketplace('oil').offers[0]!.quantity).toBe(10);
    expect(again.view().shop!.exactLocation).toBe('Stall 14, back row');
    expect(again.statementsOf(vaultOf(again))?.[0]!.counter).toBe(node.statementsOf(vaultOf(node))?.[0]!.counter);
  });

  it('reports a full disk clearly and keeps the last saved state', async () => {
    const storage = new MemoryStorage();
    const node = await shopNode('Full Disk', storage);
    const id = await node.addProduct({ name: 'Salt', sku: 'S', unit: 'kg', price: 100, stock: 3 });
    storage.failWrites = new StorageError('full', 'This device is out of storage space; the change was not saved.');
    await expect(node.adjustStock(id, 10)).rejects.toThrow(/out of storage space/);
    expect(node.products().products[0]!.stock).toBe(3);
    storage.failWrites = undefined;
    await node.adjustStock(id, 1);
    expect(node.products().products[0]!.stock).toBe(4);
  });
});

describe('sync between nodes', () => {
  it('replicates offers and follows live changes', async () => {
    const a = await shopNode('Ada');
    const b = await shopNode('Bo');
    const id = await a.addProduct({ name: 'Dates', sku: 'D', unit: 'kg', price: 900, stock: 10 });
    await a.setOffer(id, { quantity: 5, price: 900 });
    link(a, b);
    await eventually(() => offerPrice(b, 'Dates') === 900);
    await a.setOffer(id, { quantity: 5, price: 850 });
    await eventually(() => offerPrice(b, 'Dates') === 850);
    expect(b.view().peers.map((p) => p.name)).toEqual(['Ada']);
    expect(b.view().vaults.find((v) => v.name === 'Ada')!.offers).toBe(1);
  });

  it('never sends a private field: every frame, decoded and loaded, is free of them', async () => {
    const frames: Uint8Array[] = [];
    const a = await shopNode('Secretive');
    const b = await shopNode('Curious');
    const id = await a.addProduct({
      name: 'Saffron',
      sku: 'SAF',
      unit: 'g',
      price: 1500,
      stock: 100,
      costPrice: 987654,
      supplierNotes: 'PRIVATE-SUPPLIER-NOTE',
      shelf: 'PRIVATE-SHELF-9',
    });
    await a.setOffer(id, { quantity: 10, price: 1500 });
    const [x, y] = createMemoryLinkPair('a', 'b', (direction, bytes) => direction === 'a-to-b' && frames.push(bytes));
    a.addLink(x);
    b.addLink(y);
    await eventually(() => offerPrice(b, 'Saffron') === 1500);
    // A second version, sent as changes since the first: the private fields change too.
    await a.updateProduct(id, { name: 'Saffron', sku: 'SAF', unit: 'g', price: 1500, stock: 90, costPrice: 987654, supplierNotes: 'PRIVATE-SUPPLIER-NOTE', shelf: 'PRIVATE-SHELF-9' }, { quantity: 9, price: 1400 });
    await eventually(() => offerPrice(b, 'Saffron') === 1400);
    const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
    let offset = 0;
    for (const f of frames) stream.set(f, (offset += f.length) - f.length);
    const secrets = ['PRIVATE-SUPPLIER-NOTE', 'PRIVATE-SHELF-9', 'Stall 14', '987654'];
    // 1. The bytes that left, as they are.
    const raw = new TextDecoder('latin1').decode(stream);
    for (const secret of secrets) expect(raw).not.toContain(secret);
    // 2. Every change inside every bundle, decompressed and decoded: its operations, message, actor and metadata.
    const messages = new FrameDecoder(SYNC_FRAME_LIMITS).push(stream).map(decodeMessage);
    const decoded: string[] = [];
    let bundles = 0;
    for (const message of messages) {
      if (message.type !== 'changes') continue;
      bundles++;
      const changes = message.snapshot ? A.getAllChanges(A.load(message.changes[0]!)) : message.changes;
      for (const change of changes) decoded.push(JSON.stringify(A.decodeChange(change)));
    }
    expect(bundles).toBeGreaterThanOrEqual(2);
    const everything = decoded.join('\n');
    expect(everything).toContain('Saffron');
    for (const secret of [...secrets, 'costPrice', 'supplierNotes', 'shelf', 'exactLocation']) expect(everything).not.toContain(secret);
  });
});

describe('a peer that breaks the rules', () => {
  async function victimAndOwner() {
    const owner = await shopNode('Owner');
    const victim = await shopNode('Victim');
    const id = await owner.addProduct({ name: 'Honey', sku: 'H', unit: 'jar', price: 700, stock: 9 });
    await owner.setOffer(id, { quantity: 9, price: 700 });
    link(owner, victim);
    await eventually(() => offerPrice(victim, 'Honey') === 700);
    return { owner, victim, id, vault: vaultOf(owner) };
  }

  it('has a forged heads signature refused and counted against it', async () => {
    const { owner, victim, vault } = await victimAndOwner();
    const rogue = new RawPeer(victim);
    await rogue.hello();
    const real = owner.statementsOf(vault)?.[0]!;
    const signature = real.signature.slice();
    signature[5]! ^= 0x40;
    await rogue.send({ type: 'heads', statements: [{ ...real, counter: real.counter + 1, signature }] });
    await eventually(() => victim.view().refusals.some((r) => /signature does not verify/.test(r.reason)));
    // Counted against the proven rogue, once; never against the owner.
    expect(victim.policy.offences(rogue.id)).toBe(1);
    expect(victim.policy.offences(toHex(owner.nodeId))).toBe(0);
  });

  it('has changes that the true signed heads do not cover refused; the true offer stays', async () => {
    const owner = await shopNode('Owner');
    const victim = await shopNode('Victim');
    const id = await owner.addProduct({ name: 'Honey', sku: 'H', unit: 'jar', price: 700, stock: 9 });
    await owner.setOffer(id, { quantity: 9, price: 700 });
    const vault = vaultOf(owner);
    // The victim gets the true vault at 700 through a first link, then loses it.
    const [x, y] = createMemoryLinkPair('owner', 'victim');
    owner.addLink(x);
    victim.addLink(y);
    await eventually(() => offerPrice(victim, 'Honey') === 700);
    x.close('gone');
    const before = victim.statementsOf(vault)?.[0]!;
    const oldSnapshot = await snapshotOf(victim, vault);
    // The owner raises the price to 720, signed. A rogue takes that true signature...
    await owner.setOffer(id, { quantity: 9, price: 720 });
    const trueHeads = owner.statementsOf(vault)?.[0]!;
    // ...and pairs it with its own edit: honey for 1 cent.
    const forged = A.change(A.load<SharedVaultDoc>(oldSnapshot), (d) => {
      for (const key of Object.keys(d.offerFields)) if (key.endsWith('/p')) d.offerFields[key] = 1;
    });
    const rogue = new RawPeer(victim);
    await rogue.hello();
    await rogue.send({ type: 'heads', statements: [trueHeads] });
    await rogue.answerWant({ statements: [trueHeads], snapshot: false, changes: A.getChangesSince(forged, before.heads) });
    await eventually(() => victim.view().refusals.length >= 1);
    const second = new RawPeer(victim);
    await second.hello();
    await second.send({ type: 'heads', statements: [trueHeads] });
    await second.answerWant({ statements: [trueHeads], snapshot: true, changes: [A.save(forged)] });
    await eventually(() => victim.view().refusals.length >= 2);
    const reasons = victim.view().refusals.map((r) => r.reason).join('\n');
    expect(reasons.match(/bundle holds changes no device signed/g)).toHaveLength(2);
    expect(victim.policy.offences(rogue.id)).toBe(1);
    expect(victim.policy.offences(second.id)).toBe(1);
    expect(offerPrice(victim, 'Honey')).toBe(700);
    // The honest owner still gets through.
    link(owner, victim);
    await eventually(() => offerPrice(victim, 'Honey') === 720);
  });

  it('has an unsigned change refused: an empty signature over a newer version', async () => {
    const { owner, victim, vault, id } = await victimAndOwner();
    const before = victim.statementsOf(vault)?.[0]!;
    await owner.setOffer(id, { quantity: 9, price: 1 });
    // Claims a version newer than any the owner signed, so the victim must look at it.
    const latest = owner.statementsOf(vault)?.[0]!;
    const unsigned = { ...latest, counter: latest.counter + 1, signature: new Uint8Array(64) };
    const rogue = new RawPeer(victim);
    await rogue.hello();
    await rogue.send({ type: 'heads', statements: [unsigned] });
    await eventually(() => victim.view().refusals.some((r) => /heads for vault .* refused: heads signature does not verify/.test(r.reason)));
    expect(victim.policy.offences(rogue.id)).toBe(1);
    // The honest owner's own, signed version still arrives.
    await eventually(() => victim.statementsOf(vault)?.[0]!.counter === owner.statementsOf(vault)?.[0]!.counter);
    expect(victim.statementsOf(vault)?.[0]!.counter).toBe(before.counter + 1);
  });

  it('has an uncertified device key refused', async () => {
    const { victim, vault } = await victimAndOwner();
    const rogue = new RawPeer(victim);
    await rogue.hello();
    const impostor = createShopKeys(Date.now(), generateKeyPair());
    const real = victim.statementsOf(vault)?.[0]!;
    // The impostor's own root certified its device, then it claims the owner's vault.
    const claim = signHeads(impostor.device, { ...impostor.certificate, vaultId: real.vaultId }, real.counter + 5, real.heads);
    await rogue.send({ type: 'heads', statements: [claim] });
    await eventually(() => victim.view().refusals.some((r) => /not signed by the vault root key/.test(r.reason)));
    expect(offerPrice(victim, 'Honey')).toBe(700);
  });

  it('has a replayed older version refused', async () => {
    const { owner, victim, vault, id } = await victimAndOwner();
    const old = victim.statementsOf(vault)?.[0]!;
    const oldSnapshot = await snapshotOf(victim, vault);
    await owner.setOffer(id, { quantity: 9, price: 650 });
    await eventually(() => offerPrice(victim, 'Honey') === 650);
    const rogue = new RawPeer(victim);
    await rogue.hello();
    // Announcing the old version starts nothing; sending it unasked is refused.
    await rogue.send({ type: 'heads', statements: [old] });
    await rogue.send({ type: 'changes', statements: [old], snapshot: true, changes: [oldSnapshot] });
    await eventually(() => victim.view().refusals.some((r) => /never asked for/.test(r.reason)));
    expect(rogue.received.some((m) => m.type === 'want')).toBe(false);
    expect(offerPrice(victim, 'Honey')).toBe(650);
  });

  it('is cut off after a malformed frame, and blocked after repeated offences', async () => {
    const { owner, victim, vault } = await victimAndOwner();
    const rogue = new RawPeer(victim);
    await rogue.hello();
    await rogue.sendBytes(new Uint8Array([0x53, 0x4b, 2, 99, 0, 0, 0, 0]));
    await eventually(() => rogue.closedReason !== undefined);
    expect(victim.view().refusals[0]!.reason).toMatch(/unknown frame type 99/);
    expect(rogue.received.find((m) => m.type === 'refusal')).toMatchObject({ reason: expect.stringMatching(/unknown frame type 99/) });

    const keys = generateKeyPair();
    const repeat = new RawPeer(victim, 'repeat', keys);
    await repeat.hello();
    const real = owner.statementsOf(vault)?.[0]!;
    for (let i = 1; i <= 3; i++) await repeat.send({ type: 'heads', statements: [{ ...real, counter: real.counter + i }] });
    await eventually(() => repeat.closedReason !== undefined);
    expect(repeat.closedReason).toMatch(/blocked after 3 refusals/);
    expect(victim.view().blockedPeers).toEqual([repeat.id]);
    const comeback = new RawPeer(victim, 'repeat again', keys);
    await comeback.hello();
    await eventually(() => comeback.closedReason !== undefined);
    expect(comeback.closedReason).toMatch(/blocked/);
  });
});

async function snapshotOf(node: SoukNode, vault: string): Promise<Uint8Array> {
  const rogue = new RawPeer(node, 'snapshot reader');
  await rogue.hello();
  await rogue.send({ type: 'want', vaultId: Buffer.from(vault, 'hex'), have: [] });
  const message = await rogue.waitFor('changes');
  return message.changes[0]!;
}

describe('peers by name', () => {
  it('learns a peer’s shop name when the shop is created after the link', async () => {
    const a = await SoukNode.open({ storage: new MemoryStorage() });
    open.push(a);
    const b = await shopNode('Named Later? No, early');
    link(a, b);
    await eventually(() => b.view().peers.length === 1);
    expect(b.view().peers[0]!.name).toBe('');
    await a.createShop({ name: 'Late Bloomer', area: 'Hill' });
    await eventually(() => b.view().peers[0]?.name === 'Late Bloomer');
    await a.updateProfile({ name: 'Renamed Bloomer', area: 'Hill' });
    await eventually(() => b.view().peers[0]?.name === 'Renamed Bloomer');
  });
});

describe('leaving', () => {
  it('says goodbye, so a peer closes at once even when the transport never reports the close', async () => {
    const a = await shopNode('Leaver');
    const b = await shopNode('Stayer');
    const [x, y] = createMemoryLinkPair('a', 'b');
    // a's transport drops the link silently: b would only notice after the heartbeat timeout.
    const silentClose: Link = { label: x.label, start: (h) => x.start(h), send: (bytes) => x.send(bytes), close: () => {} };
    a.addLink(silentClose);
    b.addLink(y);
    await eventually(() => a.view().peers.length === 1 && b.view().peers.length === 1);
    await a.leaveAll('switched to network night-market');
    expect(a.view().peers).toEqual([]);
    await eventually(() => b.view().peers.length === 0, 2000, 'b to close on the goodbye');
  });
});
