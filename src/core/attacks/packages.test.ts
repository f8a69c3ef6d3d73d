import { afterEach, describe, expect, it } from 'vitest';
import { handedOutType } from '../packages/mediaTypes';
import { encodeManifest, packageRoot, type PackageManifest } from '../packages/packageManifest';
import type { AttachmentInput } from '../packages/packageView';
import {
  closeAll,
  eventually,
  fileBytes,
  fromHex,
  HostilePeer,
  hostileShop,
  honestServing,
  input,
  link,
  makePackage,
  MemoryChunkStore,
  MemoryStorage,
  node,
  RawPeer,
  record,
  sleep,
  toHex,
  b3,
} from '../test/hostilePackagePeer';

/**
 * Attacks on packages (files), from the review of issue 7: each shows the attack fails, honest
 * peers are not charged for it, and the merchant's files and downloads are intact.
 */
afterEach(closeAll);

async function sellerWith(bytes: Uint8Array, name = 'pump.pdf') {
  const seller = await node('Honest Hardware');
  const productId = await seller.addProduct({ name: 'Gear pump', sku: 'GP-1', unit: 'piece', price: 9900, stock: 3 });
  await seller.setOffer(productId, { quantity: 2, price: 9900 });
  const file = await seller.packages.attach(productId, input(name, bytes), { kind: 'file', shared: true });
  return { seller, productId, file, sellerId: toHex(seller.nodeId), vaultId: seller.view().shop!.vaultId };
}

describe('false listings', () => {
  it('a shop listing an honest file under a false size gets nobody charged: the download says the listing is false', async () => {
    const { seller, file, sellerId } = await sellerWith(fileBytes(1024 * 1024));
    const real: PackageManifest = { name: file.name, mediaType: file.mediaType, size: file.size, chunkSize: 256 * 1024, root: fromHex(file.root) };
    for (const lie of [{ ...real, size: real.size - 1 }, { ...real, size: 8 * 256 * 1024 }]) {
      const victim = await node('Victim');
      const shop = hostileShop('Copycat', [record('copy', lie)]);
      await new HostilePeer(victim, [shop], {}).start(); // lists the file, serves nothing
      link(seller, victim);
      await eventually(() => victim.view().peers.some((p) => p.nodeId === sellerId), 10_000, 'the seller linked');
      victim.packages.fetch(file.root);
      await eventually(() => victim.packages.progress(file.root).state === 'failed', 10_000, 'the false listing to be found out');
      expect(victim.packages.progress(file.root).problem).toMatch(/does not match the file/);
      expect(victim.policy.offences(sellerId)).toBe(0);
    }
  });

  it('a decoy naming a held chunk under another length: the holder never calls it complete nor serves it, so nobody is charged', async () => {
    const { seller, productId, file, vaultId } = await sellerWith(fileBytes(1024 * 1024, 2));
    const v = await node('Holder V');
    link(seller, v);
    await eventually(() => v.packages.offerAttachments(vaultId, productId).length === 1);
    v.packages.fetch(file.root);
    await eventually(() => v.packages.progress(file.root).state === 'complete');
    const chunk0 = v.packages.chunksOf(file.root)![0]!;
    // The decoy: one chunk, that hash, a size of 100 bytes; its root is whatever that gives.
    const hashList = fromHex(chunk0);
    const decoyRoot = packageRoot(await b3(), 100, 256 * 1024, hashList);
    const decoy = { name: 'd.webp', mediaType: 'image/webp', size: 100, chunkSize: 256 * 1024, root: decoyRoot };
    const shop = hostileShop('Decoys', [record('d', { ...decoy, name: 'd.jpg', mediaType: 'image/jpeg', root: new Uint8Array(32).fill(9) }, { kind: 'photo', thumbnail: decoy })]);
    const serveList = {
      have: (root: string, wants: boolean) =>
        root === toHex(decoyRoot) ? { type: 'packageHave' as const, root: fromHex(root), size: 100, chunkSize: 256 * 1024, bitfield: Uint8Array.of(0), ...(wants ? { hashList } : {}) } : undefined,
    };
    await new HostilePeer(v, [shop], serveList).start();
    v.packages.fetch(toHex(decoyRoot));
    await sleep(500);
    expect(v.packages.progress(toHex(decoyRoot)).state).not.toBe('complete');

    const w = await node('Honest W');
    await new HostilePeer(w, [shop], {}).start();
    link(v, w);
    const vId = toHex(v.nodeId);
    await eventually(() => w.view().peers.some((p) => p.nodeId === vId));
    w.packages.fetch(toHex(decoyRoot));
    await sleep(1_500);
    expect(w.policy.offences(vId)).toBe(0);
    expect(w.packages.progress(toHex(decoyRoot)).state).not.toBe('complete');
  });

  it('a root listed as an image by one shop and as HTML by another is handed out only as the listing acted on allows', () => {
    expect(handedOutType('image/png')).toBe('image/png');
    expect(handedOutType('application/pdf')).toBe('application/pdf');
    for (const type of ['text/html', 'image/svg+xml', 'application/xhtml+xml', 'text/xml', 'application/javascript']) expect(handedOutType(type)).toBe('application/octet-stream');
  });
});

describe('downloads nobody serves, and peers that say nothing', () => {
  it('four files nobody serves do not hold the slots of one somebody does, also after a restart', async () => {
    const { seller, productId, file, vaultId } = await sellerWith(fileBytes(512 * 1024));
    const storage = new MemoryStorage();
    const chunks = new MemoryChunkStore();
    const victim = await node('Victim', chunks, storage);
    const records = Array.from({ length: 4 }, (_, i) =>
      record(`p${i}`, { name: `p${i}.jpg`, mediaType: 'image/jpeg', size: 100_000, chunkSize: 256 * 1024, root: new Uint8Array(32).fill(i + 1) }, {
        kind: 'photo',
        thumbnail: { name: `p${i}.webp`, mediaType: 'image/webp', size: 30_000, chunkSize: 256 * 1024, root: Uint8Array.from({ length: 32 }, (_, j) => (j === 31 ? i : 0)) },
      }),
    );
    const shop = hostileShop('Ghost Gallery', records);
    const ghost = await new HostilePeer(victim, [shop], {}).start();
    link(seller, victim);
    await eventually(() => victim.packages.offerAttachments(shop.id, 'p0').length === 1, 10_000, 'the listing');
    for (const r of records) victim.packages.fetch(toHex(r.thumbnail!.root));
    await eventually(() => victim.packages.offerAttachments(vaultId, productId).length === 1, 10_000);
    victim.packages.fetch(file.root);
    await eventually(() => victim.packages.progress(file.root).state === 'complete', 8_000, 'the honest file despite four ghosts');
    expect(victim.packages.downloads().filter((d) => d.problem === 'Waiting for a peer that has this file')).toHaveLength(4);

    // Restart: the ghosts are resumed, and a file started after them still comes.
    const second = await seller.packages.attach(productId, input('manual.pdf', fileBytes(300 * 1024, 9)), { kind: 'file', shared: true });
    ghost.stop();
    victim.close();
    const again = await node(null, chunks, storage);
    link(seller, again);
    await eventually(() => again.packages.offerAttachments(vaultId, productId).length === 2, 10_000);
    again.packages.fetch(second.root);
    await eventually(() => again.packages.progress(second.root).state === 'complete', 8_000, 'a new file after the restart');
  });

  it('sixteen silent peers do not keep a download from the one that has the file', async () => {
    const { seller, productId, file, vaultId } = await sellerWith(fileBytes(512 * 1024, 81));
    const victim = await node('Victim');
    for (let i = 0; i < 16; i++) await new HostilePeer(victim, [], {}, `sybil${i}`).start();
    link(seller, victim);
    await eventually(() => victim.packages.offerAttachments(vaultId, productId).length === 1);
    victim.packages.fetch(file.root);
    await eventually(() => victim.packages.progress(file.root).state === 'complete', 12_000, 'the download past the silent peers');
  });
});

describe('what honest peers are charged for', () => {
  it('Open, Cancel, Open again: the seller’s answers to the old requests cost it nothing', async () => {
    const { seller, productId, file, vaultId, sellerId } = await sellerWith(fileBytes(8 * 1024 * 1024, 71));
    await seller.packages.updateSettings({ uploadCapBytesPerSecond: 512 * 1024 });
    const buyer = await node('Buyer');
    link(seller, buyer);
    await eventually(() => buyer.packages.offerAttachments(vaultId, productId).length === 1);
    for (let round = 0; round < 3; round++) {
      const done = buyer.packages.progress(file.root).bytesDone;
      buyer.packages.fetch(file.root);
      await eventually(() => buyer.packages.progress(file.root).bytesDone > done, 10_000);
      buyer.packages.cancel(file.root);
      buyer.packages.fetch(file.root);
      await sleep(800);
      buyer.packages.cancel(file.root);
    }
    expect(buyer.policy.offences(sellerId)).toBe(0);
  });

  it('a chunk sent again and again is read once: the rest are dropped unread', async () => {
    const pkg = await makePackage(fileBytes(4 * 1024 * 1024, 2), 'x.bin', 'application/octet-stream', 1024 * 1024);
    const shop = hostileShop('Spammer', [record('x', pkg.manifest)]);
    const victim = await node('Victim');
    const h = await new HostilePeer(victim, [shop], {
      have: (root, wants) => ({ type: 'packageHave', root: fromHex(root), size: pkg.manifest.size, chunkSize: pkg.manifest.chunkSize, bitfield: Uint8Array.of(0xf0), ...(wants ? { hashList: pkg.hashList } : {}) }),
      chunk: (root, index) => (index === 0 ? { type: 'chunk', root: fromHex(root), index, bytes: pkg.chunks[0]! } : undefined),
    }).start();
    await eventually(() => victim.packages.offerAttachments(shop.id, 'x').length === 1);
    const host = (victim.packages as unknown as { host: { blake3: { hash: (b: Uint8Array) => Uint8Array } } }).host;
    let hashed = 0;
    const original = host.blake3.hash.bind(host.blake3);
    host.blake3 = { ...host.blake3, hash: (b: Uint8Array) => ((hashed += b.length), original(b)) };
    victim.packages.fetch(pkg.root);
    await eventually(() => victim.packages.progress(pkg.root).bytesDone === 1024 * 1024, 10_000);
    const before = hashed;
    for (let i = 0; i < 50; i++) await h.peer.send({ type: 'chunk', root: fromHex(pkg.root), index: 0, bytes: pkg.chunks[0]! });
    await sleep(300);
    expect(hashed - before).toBe(0);
  });
});

describe('the merchant’s own files', () => {
  it('a product removed on one device: the shop’s other device drops its file and no longer serves it', async () => {
    const first = await node('Two Tills');
    const productId = await first.addProduct({ name: 'Drawing', sku: 'D', unit: 'each', price: 100, stock: 1 });
    await first.setOffer(productId, { quantity: 1, price: 100 });
    const laptop = await node(null);
    link(first, laptop);
    await laptop.joinShop(first.startPairing().code, 'Laptop');
    const file = await first.packages.attach(productId, input('drawing.pdf', fileBytes(600 * 1024, 5)), { kind: 'file', shared: true });
    await eventually(() => laptop.packages.attachmentsOf(productId).length === 1, 10_000, 'the record on the laptop');
    laptop.packages.fetch(file.root);
    await eventually(() => laptop.packages.progress(file.root).state === 'complete', 10_000, 'the laptop copy');
    expect(laptop.packages.storageUse().ownFilesBytes).toBe(600 * 1024);

    await first.removeProduct(productId);
    await eventually(() => laptop.packages.storageUse().ownFilesBytes === 0, 10_000, 'the laptop to drop the file');
    const leech = new RawPeer(laptop, 'leech');
    await leech.hello();
    await leech.send({ type: 'packageAsk', root: fromHex(file.root), hashList: true });
    expect(await leech.waitFor('packageHave')).toMatchObject({ size: null });
  });

  it('the same file attached to a second product is refused, and the first stays as it was', async () => {
    const { seller, productId, file } = await sellerWith(fileBytes(300 * 1024, 8));
    const other = await seller.addProduct({ name: 'Valve', sku: 'V', unit: 'piece', price: 100, stock: 1 });
    await expect(seller.packages.attach(other, input('copy.pdf', fileBytes(300 * 1024, 8)), { kind: 'file', shared: false })).rejects.toThrow(/attached to another product already/);
    expect(seller.packages.attachmentsOf(productId)).toMatchObject([{ root: file.root, shared: true }]);
    expect(seller.packages.attachmentsOf(other)).toEqual([]);
  });

  it('freeing cached files while a download is being written leaves no chunk behind', async () => {
    const pkg = await makePackage(fileBytes(8 * 1024 * 1024, 51), 'big.zip', 'application/zip');
    const shop = hostileShop('Any Shop', [record('big', pkg.manifest)]);
    class SlowStore extends MemoryChunkStore {
      override async put(hash: string, bytes: Uint8Array): Promise<void> {
        await sleep(150);
        return super.put(hash, bytes);
      }
    }
    const store = new SlowStore();
    const victim = await node('Victim', store);
    const h = await new HostilePeer(victim, [shop], honestServing([pkg])).start();
    await eventually(() => victim.packages.offerAttachments(shop.id, 'big').length === 1);
    victim.packages.fetch(pkg.root);
    await eventually(() => victim.packages.progress(pkg.root).bytesDone >= 1024 * 1024, 10_000);
    await victim.packages.freeCachedFiles();
    h.stop();
    await sleep(2_500);
    expect(await store.list()).toEqual([]);
    expect(victim.packages.storageUse().cachedFilesBytes).toBe(0);
  });

  it('a stored hash list that does not give the root is not believed on start', async () => {
    const pkg = await makePackage(fileBytes(512 * 1024, 61), 'a.pdf');
    const other = await makePackage(fileBytes(512 * 1024, 62), 'b.pdf');
    const storage = new MemoryStorage();
    const chunks = new MemoryChunkStore();
    for (let i = 0; i < other.chunks.length; i++) await chunks.put(other.hashes[i]!, other.chunks[i]!);
    const stored = { m: toHex(encodeManifest(pkg.manifest)), o: 0, p: 0, h: other.hashes.join(''), u: 0 };
    await storage.write([{ op: 'put', key: ['packages', pkg.root], data: new TextEncoder().encode(JSON.stringify(stored)) }]);
    const n = await node(null, chunks, storage);
    expect(n.packages.progress(pkg.root).state).not.toBe('complete');
    expect(n.packages.chunksOf(pkg.root)).toBeUndefined();
  });
});

describe('the upload cap', () => {
  /** A big file of zeros: cheap to make (every chunk the same). */
  const zeros = (size: number): AttachmentInput => ({ name: 'catalogue.zip', mediaType: 'application/zip', size, read: async (_o, l) => new Uint8Array(l) });

  it('a hash list goes to a link once, so asking again and again buys only bitfields', async () => {
    const seller = await node('Capped');
    const productId = await seller.addProduct({ name: 'Big', sku: 'B', unit: 'each', price: 1, stock: 1 });
    const file = await seller.packages.attach(productId, zeros(256 * 1024 * 1024), { kind: 'file', shared: true });
    await seller.packages.updateSettings({ uploadCapBytesPerSecond: 16 * 1024 });
    const leech = new RawPeer(seller, 'leech');
    await leech.hello();
    for (let i = 0; i < 20; i++) await leech.send({ type: 'packageAsk', root: fromHex(file.root), hashList: true });
    await eventually(() => leech.received.filter((m) => m.type === 'packageHave').length === 20, 10_000);
    const lists = leech.received.filter((m) => m.type === 'packageHave' && m.hashList !== undefined);
    expect(lists).toHaveLength(1);
  });

  it('chunks served under a cap leave no waiters behind', async () => {
    const seller = await node('Capped');
    const productId = await seller.addProduct({ name: 'Big', sku: 'B', unit: 'each', price: 1, stock: 1 });
    const file = await seller.packages.attach(productId, input('f.bin', fileBytes(4 * 1024 * 1024, 3)), { kind: 'file', shared: true });
    await seller.packages.updateSettings({ uploadCapBytesPerSecond: 4 * 1024 * 1024 });
    const leech = new RawPeer(seller, 'leech');
    await leech.hello();
    for (let round = 0; round < 6; round++) {
      for (let index = 0; index < 8; index++) await leech.send({ type: 'chunkAsk', root: fromHex(file.root), index: (round * 8 + index) % 16 });
      await eventually(() => leech.received.filter((m) => m.type === 'chunk').length >= (round + 1) * 8, 10_000);
    }
    expect((seller.packages as unknown as { uploadWaiters: unknown[] }).uploadWaiters.length).toBe(0);
  });
});
