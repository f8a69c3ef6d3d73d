import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import * as A from '@automerge/automerge';
import { closeAll, link, openNode, priceAt, servedSnapshot, shopNode, vaultOf } from '../attacks/attackKit';
import { eventually } from '../test/rawPeer';
import { MemoryStorage } from '../storage/memoryStorage';
import { SoukNode } from './soukNode';
import { fromHex, toHex } from '../wire/hex';
import { parsePairingCode, isPairingCode } from '../pairing/pairingCode';

afterEach(closeAll);

const stockOf = (node: SoukNode, name: string) => node.products(name).products.find((p) => p.name === name)?.stock;
const offeredAt = (node: SoukNode, name: string) => node.marketplace(name).offers.find((o) => o.name === name);

/** A shop on `first` and a second device joined to it by the pairing code, linked. */
async function twoDevices() {
  const first = await shopNode('Two Tills');
  const honey = await first.addProduct({ name: 'Honey', sku: 'H', unit: 'jar', price: 700, stock: 10, costPrice: 300 });
  await first.setOffer(honey, { quantity: 8, price: 700 });
  const second = await openNode();
  const ends = link(first, second);
  const { code } = first.startPairing();
  const shopId = await second.joinShop(code, 'Back office laptop');
  return { first, second, honey, shopId, ends };
}

describe('a shop on several devices', () => {
  it('a new device joins with the typed code and gets the shop, its catalog (private fields too) and its own certified key', async () => {
    const { first, second, honey, shopId } = await twoDevices();
    expect(shopId).toBe(vaultOf(first));
    expect(second.view().shop?.vaultId).toBe(shopId);
    expect(second.view().shop?.rootDevice).toBe(false);
    expect(second.view().shop?.deviceKey).toBe(toHex(second.nodeId));
    const product = second.products('Honey').products[0]!;
    expect(product).toMatchObject({ id: honey, stock: 10, costPrice: 300, offer: { quantity: 8, price: 700 } });
    const devices = first.devices();
    expect(devices.map((d) => d.name).sort()).toEqual(['Back office laptop', 'First device']);
    await eventually(() => second.devices().length === 2, 5000, 'the device list on the new device');
    expect(first.view().pairing?.state).toBe('done');
  });

  it('both devices edit while apart; when they meet, stock drops by both sales and every shop sees one merged offer', async () => {
    const { first, second, honey, ends } = await twoDevices();
    const buyer = await shopNode('Buyer');
    link(first, buyer);
    await eventually(() => offeredAt(buyer, 'Honey')?.quantity === 8);
    for (const end of ends) end.close('apart');
    await first.adjustStock(honey, -1);
    await second.adjustStock(honey, -4);
    // A different field on each device: both survive the merge.
    await second.updateProduct(honey, { name: 'Honey', sku: 'H', unit: 'jar', price: 700, stock: 6, shelf: 'B2' });
    await first.setOffer(honey, { quantity: 5, price: 720 });
    expect(stockOf(first, 'Honey')).toBe(9);
    expect(stockOf(second, 'Honey')).toBe(6);
    link(first, second);
    await eventually(() => stockOf(first, 'Honey') === 5 && stockOf(second, 'Honey') === 5, 10_000, 'stock to count both sales');
    const merged = first.products('Honey').products[0]!;
    expect(merged).toMatchObject({ shelf: 'B2', offer: { quantity: 5, price: 720 } });
    expect(second.products('Honey').products[0]).toMatchObject({ shelf: 'B2', offer: { quantity: 5, price: 720 } });
    await eventually(() => offeredAt(buyer, 'Honey')?.price === 720 && offeredAt(buyer, 'Honey')?.quantity === 5, 10_000, 'the buyer to see the merged offer');
    // The buyer holds one statement per device of the shop.
    await eventually(() => (buyer.statementsOf(vaultOf(first)) ?? []).length === 2, 10_000, 'both devices’ statements');
    // Every change names the device that made it: its actor is the device key's first 16 bytes.
    const shared = A.load(await servedSnapshot(first, vaultOf(first)));
    const actors = new Set(A.getAllChanges(shared).map((change) => A.decodeChange(change).actor));
    expect([...actors].sort()).toEqual([toHex(first.nodeId).slice(0, 32), toHex(second.nodeId).slice(0, 32)].sort());
  });

  it('a device that has another device’s shared offer but not yet its catalog half does not put the offer back', async () => {
    const { first, second, honey, ends } = await twoDevices();
    const figs = await first.addProduct({ name: 'Figs', sku: 'F', unit: 'kg', price: 300, stock: 10 });
    await eventually(() => stockOf(second, 'Figs') === 10, 10_000, 'both devices to hold figs');
    for (const end of ends) end.close('apart');
    // The laptop re-prices honey where only another shop hears it: the shared half travels, the private half does not.
    const buyer = await shopNode('Buyer');
    const laptopBuyer = link(second, buyer);
    await second.setOffer(honey, { quantity: 7, price: 650 });
    await eventually(() => offeredAt(buyer, 'Honey')?.price === 650, 10_000, 'the buyer to carry the new price');
    for (const end of laptopBuyer) end.close('apart');
    link(buyer, first);
    await eventually(() => offeredAt(first, 'Honey')?.price === 650, 10_000, 'the first device to take the shared offer');
    expect(first.products('Honey').products[0]?.offer?.price).toBe(700);
    // Another catalog change reaches the first device (figs, from a third device): it moves figs only.
    const till = await openNode();
    const tillEnds = link(first, till);
    await till.joinShop(first.startPairing().code, 'Till');
    await eventually(() => stockOf(till, 'Figs') === 10, 10_000, 'the till to hold the catalog');
    await till.adjustStock(figs, -3);
    await eventually(() => stockOf(first, 'Figs') === 7, 10_000, 'the sale to reach the first device');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(offeredAt(first, 'Honey')?.price).toBe(650);
    expect(offeredAt(buyer, 'Honey')?.price).toBe(650);
    for (const end of tillEnds) end.close('done');
    // When the laptop's catalog half arrives, the catalog follows and nothing moves back.
    link(first, second);
    await eventually(() => first.products('Honey').products[0]?.offer?.price === 650, 10_000, 'the catalog half');
    expect(offeredAt(first, 'Honey')?.price).toBe(650);
  });

  it('a recount on one device and a sale on another while apart: the sale still counts after the recount', async () => {
    const { first, second, honey, ends } = await twoDevices();
    for (const end of ends) end.close('apart');
    await first.updateProduct(honey, { name: 'Honey', sku: 'H', unit: 'jar', price: 700, stock: 20 });
    await second.adjustStock(honey, -3);
    link(first, second);
    await eventually(() => stockOf(first, 'Honey') === 17 && stockOf(second, 'Honey') === 17, 10_000, 'recount plus the sale');
  });

  it('the private catalog travels only between the shop’s devices: a relay never sees it, and a wrong code gets nothing', async () => {
    const first = await shopNode('Secretive');
    await first.addProduct({ name: 'Saffron', sku: 'S', unit: 'g', price: 900, stock: 50, costPrice: 123456, supplierNotes: 'from uncle Karim' });
    const stranger = await openNode();
    const seen: Uint8Array[] = [];
    link(first, stranger, (_direction, bytes) => void seen.push(bytes.slice()));
    const { code } = first.startPairing();
    const wrong = parsePairingCode(code);
    if (!isPairingCode(wrong)) throw new Error('code');
    const other = [...code.replace(/-/g, '')].map((c, i) => (i === 0 ? (c === '2' ? '3' : '2') : c)).join('');
    await expect(stranger.joinShop(other, 'thief')).rejects.toThrow(/typo/);
    // A well-formed but different code: the root device refuses it; the stranger gets no shop.
    const forged = (await import('../pairing/pairingCode')).newPairingCode(() => new Uint8Array(8).fill(7));
    const attempt = stranger.joinShop(forged.text, 'thief').catch((e: Error) => e);
    await eventually(() => first.view().refusals.some((r) => /wrong pairing code/.test(r.reason)), 5000, 'the wrong code to be refused');
    stranger.cancelPairing();
    expect(await attempt).toBeInstanceOf(Error);
    expect(stranger.view().shop).toBeNull();
    const all = Buffer.concat(seen.map((b) => Buffer.from(b)));
    for (const secret of ['uncle Karim', '123456', 'Saffron']) expect(all.includes(Buffer.from(secret))).toBe(false);
    // Between the shop's own devices it travels sealed: the new device has it, the bytes on the link never show it.
    const ownLink: Uint8Array[] = [];
    const laptop = await openNode();
    link(first, laptop, (_direction, bytes) => void ownLink.push(bytes.slice()));
    await laptop.joinShop(first.startPairing().code, 'laptop');
    await first.updateProduct(first.products('Saffron').products[0]!.id, { name: 'Saffron', sku: 'S', unit: 'g', price: 900, stock: 50, costPrice: 123456, supplierNotes: 'from uncle Karim, second crop' });
    await eventually(() => laptop.products('Saffron').products[0]?.supplierNotes === 'from uncle Karim, second crop', 5000, 'the edit on the laptop');
    const own = Buffer.concat(ownLink.map((b) => Buffer.from(b)));
    expect(own.length).toBeGreaterThan(0);
    for (const secret of ['uncle Karim', 'second crop']) expect(own.includes(Buffer.from(secret))).toBe(false);
  });

  it('a peer guessing codes is refused and counted after five; the right device still joins with the code', async () => {
    const first = await shopNode('Guarded');
    const { code } = first.startPairing();
    const guesser = await openNode();
    link(first, guesser);
    for (let i = 0; i < 6; i++) {
      const forged = (await import('../pairing/pairingCode')).newPairingCode(() => new Uint8Array(8).fill(i + 1));
      void guesser.joinShop(forged.text, 'guess').catch(() => {});
      await eventually(() => first.view().refusals.filter((r) => /wrong pairing code/.test(r.reason)).length >= Math.min(i + 1, 5), 5000, `guess ${i + 1}`);
    }
    await eventually(() => first.policy.offences(toHex(guesser.nodeId)) >= 1, 5000, 'the guesser to be counted');
    guesser.cancelPairing();
    expect(guesser.view().shop).toBeNull();
    expect(first.view().pairing).toMatchObject({ state: 'waiting' });
    const laptop = await openNode();
    link(first, laptop);
    await expect(laptop.joinShop(code, 'laptop')).resolves.toBe(vaultOf(first));
  });

  it('a revoked device’s later edits are refused by another shop; what it wrote before stays', async () => {
    const { first, second, honey, ends } = await twoDevices();
    await second.setOffer(honey, { quantity: 7, price: 705 });
    const third = await shopNode('Third shop');
    link(first, third);
    await eventually(() => offeredAt(third, 'Honey')?.price === 705, 10_000, 'the second device’s edit before revocation');
    for (const end of ends) end.close('laptop stolen');
    await first.revokeDevice(toHex(second.nodeId));
    await eventually(() => (third.view().vaults.find((v) => v.vaultId === vaultOf(first))?.counter ?? 0) >= 4, 10_000, 'the revocation');
    await second.setOffer(honey, { quantity: 1, price: 1 });
    link(second, third);
    await new Promise((r) => setTimeout(r, 500));
    expect(offeredAt(third, 'Honey')?.price).toBe(705);
    expect(first.devices().find((d) => d.publicKey === toHex(second.nodeId))?.revokedAt).not.toBeNull();
    // The revoked device learns it from any peer that carries the shop, says so, and signs nothing more.
    await eventually(() => second.view().shop?.revokedAt !== null, 10_000, 'the revoked device to learn it');
    await expect(second.setOffer(honey, { quantity: 2, price: 2 })).rejects.toThrow(/removed from the shop/);
  });

  it('only the root device adds or revokes devices and makes backups', async () => {
    const { second, first } = await twoDevices();
    expect(() => second.startPairing()).toThrow(/device that created the shop/);
    await expect(second.revokeDevice(toHex(first.nodeId))).rejects.toThrow(/device that created the shop/);
    await expect(second.exportBackup('a long passphrase')).rejects.toThrow(/back up from that device/);
  });
});

describe('backup and restore', () => {
  it('a backup restored in a fresh node brings the shop back as a new device, and it syncs', async () => {
    const first = await shopNode('Backed Up');
    const honey = await first.addProduct({ name: 'Honey', sku: 'H', unit: 'jar', price: 700, stock: 10, costPrice: 300, supplierNotes: 'Ana' });
    await first.setOffer(honey, { quantity: 8, price: 700 });
    const file = await first.exportBackup('correct horse battery');
    expect(first.view().shop?.lastBackupAt).not.toBeNull();
    const fresh = await openNode();
    await expect(fresh.restoreBackup(file, 'wrong horse battery')).rejects.toMatchObject({ code: 'wrong-passphrase-or-damaged' });
    expect(fresh.view().shop).toBeNull();
    const id = await fresh.restoreBackup(file, 'correct horse battery', 'New phone');
    expect(id).toBe(vaultOf(first));
    expect(fresh.products('Honey').products[0]).toMatchObject({ stock: 10, costPrice: 300, supplierNotes: 'Ana' });
    expect(fresh.view().shop?.rootDevice).toBe(true);
    await fresh.adjustStock(honey, -2);
    link(first, fresh);
    await eventually(() => stockOf(first, 'Honey') === 8, 10_000, 'the restored device’s sale to reach the first');
    expect(first.devices().map((d) => d.name).sort()).toEqual(['First device', 'New phone']);
  });
});

describe('upgrade from version 0.1', () => {
  it('a shop stored by version 0.1 opens, migrated, with its catalog, offers and exact location; peers’ old copies are dropped', async () => {
    const fixture = JSON.parse(readFileSync(new URL('./fixtures/shop-v0.1.json', import.meta.url), 'utf8')) as { entries: { key: string[]; hex: string }[] };
    const storage = new MemoryStorage();
    await storage.write(fixture.entries.map((e) => ({ op: 'put' as const, key: e.key, data: fromHex(e.hex) })));
    const node = await SoukNode.open({ storage });
    await node.whenContentLoaded();
    const view = node.view();
    expect(view.shop).toMatchObject({ name: 'Old Stall', area: 'Old Town', currency: 'EUR', exactLocation: 'Row 3, stall 12' });
    const products = node.products().products;
    expect(products.map((p) => p.name).sort()).toEqual(['Figs', 'Honey', 'Olives']);
    expect(products.find((p) => p.name === 'Honey')).toMatchObject({ stock: 10, costPrice: 400, supplierNotes: 'Bees of Ana', shelf: 'B2', offer: { quantity: 10, price: 750 } });
    expect(node.marketplace('Honey').offers[0]).toMatchObject({ quantity: 10, price: 750, expiresOn: '2027-05-01' });
    expect(view.vaults.map((v) => v.name)).toEqual(['Old Stall']);
    // Edits work, and reopening reads the migrated form without migrating again.
    await node.adjustStock(products.find((p) => p.name === 'Figs')!.id, -0.5);
    node.close();
    const again = await SoukNode.open({ storage });
    expect(again.products('Figs').products[0]?.stock).toBe(5);
    const peer = await shopNode('Fresh peer');
    link(again, peer);
    await eventually(() => priceAt(peer, 'Honey') === 750, 10_000, 'a peer to take the migrated shop');
  });
});

describe('upgrade from version 0.1, with damaged rows', () => {
  it('odd rows are made valid, not refused; a shop that cannot be opened leaves the node open and nothing overwritten', async () => {
    const fixture = JSON.parse(readFileSync(new URL('./fixtures/shop-v0.1.json', import.meta.url), 'utf8')) as { entries: { key: string[]; hex: string }[] };
    const storage = new MemoryStorage();
    await storage.write(fixture.entries.map((e) => ({ op: 'put' as const, key: e.key, data: fromHex(e.hex) })));
    // Damage the stored catalog the way a buggy 0.1 could have: a fractional price, a text stock, a huge name.
    const privateKey = fixture.entries.find((e) => e.key[0] === 'private' && e.key.at(-1) === 'snapshot')!.key;
    const A = await import('@automerge/automerge');
    let catalog = A.load<{ products: Record<string, Record<string, unknown>> }>((await storage.load(privateKey))!);
    for (const key of (await storage.loadRange(privateKey.slice(0, -1))).filter((e) => e.key.at(-2) === 'inc')) catalog = A.loadIncremental(catalog, key.data);
    catalog = A.change(catalog, (d) => {
      const [first, second] = Object.keys(d.products);
      d.products[first!]!.price = 12.5;
      d.products[first!]!.name = 'x'.repeat(1000);
      d.products[second!]!.stock = 'lots';
    });
    await storage.write([{ op: 'deleteRange', prefix: privateKey.slice(0, -1) }, { op: 'put', key: privateKey, data: A.save(catalog) }]);
    const node = await SoukNode.open({ storage });
    expect(node.view().shopProblem).toBeNull();
    const products = node.products().products;
    expect(products).toHaveLength(3);
    for (const p of products) expect(Number.isInteger(p.price) && p.name.length <= 240 && typeof p.stock === 'number').toBe(true);
    node.close();

    // Keys that do not decode: the node opens without the shop and refuses to create one over it.
    const broken = new MemoryStorage();
    await broken.write(fixture.entries.map((e) => ({ op: 'put' as const, key: e.key, data: fromHex(e.hex) })));
    await broken.write([{ op: 'put', key: ['keys', 'shop'], data: new Uint8Array([9, 9, 9]) }]);
    const opened = await SoukNode.open({ storage: broken });
    expect(opened.view().shopProblem).toMatch(/could not be opened/);
    await expect(opened.createShop({ name: 'Over it', area: 'x' })).rejects.toThrow(/could not be opened/);
    expect(await broken.load(['keys', 'shop'])).toEqual(new Uint8Array([9, 9, 9]));
    expect((await broken.loadRange(['vaultIndex'])).length).toBe(2);
  });
});
