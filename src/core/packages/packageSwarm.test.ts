import { afterEach, describe, expect, it } from 'vitest';
import type { Link, LinkHandlers } from '../link/link';
import { createMemoryLinkPair } from '../link/memoryLink';
import { SoukNode } from '../node/soukNode';
import { MemoryStorage } from '../storage/memoryStorage';
import { eventually, RawPeer } from '../test/rawPeer';
import { fromHex } from '../wire/hex';
import { MessageType } from '../sync/syncMessages';
import { FRAME_HEADER_BYTES } from '../wire/frame';
import { MemoryChunkStore } from './memoryChunkStore';
import type { AttachmentInput } from './packageView';
import { loadBlake3 } from './blake3';
import { toHex } from '../wire/hex';

const open: SoukNode[] = [];
afterEach(() => {
  for (const node of open.splice(0)) node.close();
});

async function node(name: string | null, chunkStore = new MemoryChunkStore(), storage = new MemoryStorage()): Promise<SoukNode> {
  const n = await SoukNode.open({ storage, chunkStore });
  open.push(n);
  if (name && !n.hasShop) await n.createShop({ name, area: 'Old Town', currency: 'EUR' });
  return n;
}

function link(a: SoukNode, b: SoukNode, wrapB?: (link: Link) => Link, options: Parameters<typeof createMemoryLinkPair>[3] = {}): () => void {
  const [x, y] = createMemoryLinkPair('a', 'b', undefined, options);
  a.addLink(x);
  b.addLink(wrapB ? wrapB(y) : y);
  return () => x.close('cut');
}

/** Deterministic bytes that differ per position (no two chunks alike). */
function fileBytes(size: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = seed * 2654435761;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

function input(name: string, bytes: Uint8Array, mediaType = 'application/pdf'): AttachmentInput & { reads: number[] } {
  const reads: number[] = [];
  return {
    name,
    mediaType,
    size: bytes.length,
    reads,
    read: async (offset, length) => {
      reads.push(length);
      return bytes.slice(offset, offset + length);
    },
  };
}

async function heldBytes(n: SoukNode, store: MemoryChunkStore, root: string): Promise<Uint8Array> {
  const hashes = n.packages.chunksOf(root);
  if (!hashes) throw new Error('not complete');
  const parts = await Promise.all(hashes.map((h) => store.get(h)));
  const out = new Uint8Array(parts.reduce((s, p) => s + p!.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p!, at);
    at += p!.length;
  }
  return out;
}

/** A link end that flips one byte inside every chunk message it sends (a peer serving corrupt chunks). */
class CorruptingLink implements Link {
  constructor(private readonly inner: Link) {}
  get label() {
    return this.inner.label;
  }
  start(handlers: LinkHandlers): void {
    this.inner.start(handlers);
  }
  send(bytes: Uint8Array): Promise<void> {
    if (bytes.length > FRAME_HEADER_BYTES + 200 && bytes[3] === MessageType.chunk) {
      const copy = bytes.slice();
      copy[FRAME_HEADER_BYTES + 100]! ^= 0xff;
      return this.inner.send(copy);
    }
    return this.inner.send(bytes);
  }
  close(reason: string): void {
    this.inner.close(reason);
  }
}

async function sellerWithFile(size: number, shared = true) {
  const store = new MemoryChunkStore();
  const seller = await node('Ada Hardware', store);
  const productId = await seller.addProduct({ name: 'Gear pump', sku: 'GP-1', unit: 'piece', price: 9900, stock: 3 });
  await seller.setOffer(productId, { quantity: 2, price: 9900 });
  const bytes = fileBytes(size);
  const file = input('pump/drawing.pdf', bytes);
  const attachment = await seller.packages.attach(productId, file, { kind: 'file', shared });
  return { seller, store, productId, bytes, file, attachment };
}

describe('packages between nodes', () => {
  it('attaches a file reading one chunk at a time, and another shop downloads it whole and verified', async () => {
    const { seller, productId, bytes, file, attachment } = await sellerWithFile(3 * 1024 * 1024 + 1234);
    expect(Math.max(...file.reads)).toBeLessThanOrEqual(256 * 1024);
    expect(attachment).toMatchObject({ name: 'pump/drawing.pdf', size: bytes.length, kind: 'file', shared: true });
    const sellerId = seller.view().shop!.vaultId;
    const buyerStore = new MemoryChunkStore();
    const buyer = await node('Bo Buyer', buyerStore);
    link(seller, buyer);
    await eventually(() => buyer.packages.offerAttachments(sellerId, productId).length === 1, 10_000, 'the attachment to reach the buyer');
    buyer.packages.fetch(attachment.root);
    await eventually(() => buyer.packages.progress(attachment.root).state === 'complete', 20_000, 'the download');
    expect(toHex((await loadBlake3()).hash(await heldBytes(buyer, buyerStore, attachment.root)))).toBe(toHex((await loadBlake3()).hash(bytes)));
    expect(buyer.packages.storageUse()).toMatchObject({ cachedFilesBytes: bytes.length, ownFilesBytes: 0 });
    expect(seller.packages.storageUse()).toMatchObject({ ownFilesBytes: bytes.length });
    expect(seller.packages.bytesServed).toBe(bytes.length);
  });

  it('a third shop downloads from both holders at once, and finishes from one when the other leaves', async () => {
    const { seller, productId, bytes, attachment } = await sellerWithFile(6 * 1024 * 1024);
    const sellerId = seller.view().shop!.vaultId;
    const first = await node('Bo Buyer');
    link(seller, first);
    await eventually(() => first.packages.offerAttachments(sellerId, productId).length === 1);
    first.packages.fetch(attachment.root);
    await eventually(() => first.packages.progress(attachment.root).state === 'complete', 20_000);

    // Both serve the third; the seller leaves after a few chunks; the third finishes from the first buyer.
    await seller.packages.updateSettings({ uploadCapBytesPerSecond: 512 * 1024 });
    await first.packages.updateSettings({ uploadCapBytesPerSecond: 512 * 1024 });
    const thirdStore = new MemoryChunkStore();
    const third = await node('Cy Third', thirdStore);
    const cutSeller = link(seller, third);
    link(first, third);
    await eventually(() => third.packages.offerAttachments(sellerId, productId).length === 1);
    third.packages.fetch(attachment.root);
    await eventually(() => third.packages.progress(attachment.root).peersServing === 2, 20_000, 'both to serve');
    expect(seller.packages.chunksServed).toBeGreaterThan(24);
    expect(first.packages.chunksServed).toBeGreaterThan(0);
    cutSeller();
    await first.packages.updateSettings({ uploadCapBytesPerSecond: 0 });
    await eventually(() => third.packages.progress(attachment.root).state === 'complete', 30_000, 'the download to finish from the first buyer');
    expect(toHex((await loadBlake3()).hash(await heldBytes(third, thirdStore, attachment.root)))).toBe(toHex((await loadBlake3()).hash(bytes)));
  });

  it('a peer that serves a corrupt chunk is charged and dropped; the chunk comes from another peer', async () => {
    const { seller, productId, bytes, attachment } = await sellerWithFile(2 * 1024 * 1024);
    const sellerId = seller.view().shop!.vaultId;
    const honest = await node('Bo Buyer');
    link(seller, honest);
    await eventually(() => honest.packages.offerAttachments(sellerId, productId).length === 1);
    honest.packages.fetch(attachment.root);
    await eventually(() => honest.packages.progress(attachment.root).state === 'complete', 20_000);

    // The seller slowed, so the corrupter surely gets requests of its own.
    await seller.packages.updateSettings({ uploadCapBytesPerSecond: 256 * 1024 });
    const victimStore = new MemoryChunkStore();
    const victim = await node('Vi Victim', victimStore);
    // Everything the honest buyer sends the victim passes through a corrupter.
    link(victim, honest, (l) => new CorruptingLink(l));
    link(seller, victim);
    await eventually(() => victim.packages.offerAttachments(sellerId, productId).length === 1);
    victim.packages.fetch(attachment.root);
    await eventually(() => victim.packages.progress(attachment.root).state === 'complete', 30_000, 'the download despite the corrupter');
    expect(toHex((await loadBlake3()).hash(await heldBytes(victim, victimStore, attachment.root)))).toBe(toHex((await loadBlake3()).hash(bytes)));
    expect(victim.view().refusals.some((r) => /corrupt chunk/.test(r.reason))).toBe(true);
    // Dropped: the victim no longer links to the corrupter.
    const honestId = honest.view().nodeId;
    expect(victim.view().peers.map((p) => p.nodeId)).not.toContain(honestId);
  });

  it('a private file is served only to the shop’s own devices; others are told it is not here', async () => {
    const { seller, productId, attachment } = await sellerWithFile(300 * 1024, false);
    expect(attachment.shared).toBe(false);
    const other = await node('Bo Buyer');
    link(seller, other);
    const sellerId = seller.view().shop!.vaultId;
    await eventually(() => other.marketplace('').offers.some((o) => o.vaultId === sellerId));
    expect(other.packages.offerAttachments(sellerId, productId)).toEqual([]);
    expect(() => other.packages.fetch(attachment.root)).toThrow(/No shop this node carries lists that file/);
    expect(seller.packages.attachmentsOf(productId).map((a) => a.root)).toEqual([attachment.root]);
  });

  it('a download resumes after a restart without fetching verified chunks again', async () => {
    const { seller, productId, bytes, attachment } = await sellerWithFile(4 * 1024 * 1024);
    await seller.packages.updateSettings({ uploadCapBytesPerSecond: 256 * 1024 });
    const sellerId = seller.view().shop!.vaultId;
    const storage = new MemoryStorage();
    const chunks = new MemoryChunkStore();
    const buyer = await node('Bo Buyer', chunks, storage);
    link(seller, buyer);
    await eventually(() => buyer.packages.offerAttachments(sellerId, productId).length === 1);
    buyer.packages.fetch(attachment.root);
    await eventually(() => buyer.packages.progress(attachment.root).bytesDone >= 3 * 256 * 1024, 20_000);
    buyer.close();
    const served = seller.packages.chunksServed;
    const kept = (await chunks.list()).length;
    expect(kept).toBeGreaterThanOrEqual(3);
    await seller.packages.updateSettings({ uploadCapBytesPerSecond: 0 });

    const again = await node(null, chunks, storage);
    await again.packages.loaded;
    expect(again.packages.progress(attachment.root).bytesDone).toBe(kept * 256 * 1024);
    link(seller, again);
    await eventually(() => again.packages.progress(attachment.root).state === 'complete', 20_000, 'the resumed download');
    // Only what was missing travelled; a chunk may have been in flight when the first buyer closed.
    expect(seller.packages.chunksServed - served).toBeLessThanOrEqual(16 - kept + 1);
    expect((await heldBytes(again, chunks, attachment.root)).length).toBe(bytes.length);
  });

  it('storage full: attaching says so and keeps nothing; a download stops with the message and keeps what was verified', async () => {
    const store = new MemoryChunkStore({ capacityBytes: 1024 * 1024 });
    const seller = await node('Ada Hardware', store);
    const productId = await seller.addProduct({ name: 'Gear pump', sku: 'GP-1', unit: 'piece', price: 9900, stock: 3 });
    await expect(seller.packages.attach(productId, input('big.bin', fileBytes(2 * 1024 * 1024)), { kind: 'file', shared: true })).rejects.toThrow(/Storage is full/);
    expect(await store.list()).toEqual([]);
    expect(seller.packages.attachmentsOf(productId)).toEqual([]);
    const small = await seller.packages.attach(productId, input('small.bin', fileBytes(512 * 1024)), { kind: 'file', shared: true });
    expect(seller.packages.attachmentsOf(productId).map((a) => a.root)).toEqual([small.root]);

    const big = await sellerWithFile(2 * 1024 * 1024);
    const buyerStore = new MemoryChunkStore({ capacityBytes: 1024 * 1024 });
    const buyer = await node('Bo Buyer', buyerStore);
    link(big.seller, buyer);
    const bigId = big.seller.view().shop!.vaultId;
    await eventually(() => buyer.packages.offerAttachments(bigId, big.productId).length === 1);
    buyer.packages.fetch(big.attachment.root);
    await eventually(() => buyer.packages.progress(big.attachment.root).state === 'failed', 20_000);
    const progress = buyer.packages.progress(big.attachment.root);
    expect(progress.problem).toMatch(/Storage is full/);
    expect(progress.bytesDone).toBe(1024 * 1024);
    expect(buyer.packages.chunksOf(big.attachment.root)).toBeUndefined();
    // Room made (the merchant freed space): asking again resumes and completes.
    (buyerStore as unknown as { capacityBytes: number }).capacityBytes = Infinity;
    buyer.packages.fetch(big.attachment.root);
    await eventually(() => buyer.packages.progress(big.attachment.root).state === 'complete', 20_000, 'the download after room was made');
  });

  it('a vault edit made during a large transfer on the same link overtakes it', async () => {
    const { seller, productId, bytes, attachment } = await sellerWithFile(16 * 1024 * 1024);
    const sellerId = seller.view().shop!.vaultId;
    const buyer = await node('Bo Buyer');
    // 4 MB/s each way: the file takes about 4 s.
    link(seller, buyer, undefined, { bytesPerMs: 4000 });
    await eventually(() => buyer.packages.offerAttachments(sellerId, productId).length === 1);
    buyer.packages.fetch(attachment.root);
    await eventually(() => buyer.packages.progress(attachment.root).bytesDone >= 1024 * 1024, 20_000, 'the transfer to be under way');
    await seller.setOffer(productId, { quantity: 2, price: 7700 });
    await eventually(() => buyer.marketplace('Gear').offers.some((o) => o.price === 7700), 20_000, 'the new price');
    // The edit arrived while most of the file was still to come.
    expect(buyer.packages.progress(attachment.root).bytesDone).toBeLessThan(bytes.length / 2);
  });

  it('removing a product takes its files out of both documents, the chunk store and other shops’ view', async () => {
    const { seller, store, productId, attachment } = await sellerWithFile(600 * 1024);
    const sellerId = seller.view().shop!.vaultId;
    const buyer = await node('Bo Buyer');
    link(seller, buyer);
    await eventually(() => buyer.packages.offerAttachments(sellerId, productId).length === 1);
    expect((await store.list()).length).toBe(3);
    await seller.removeProduct(productId);
    expect(seller.packages.attachmentsOf(productId)).toEqual([]);
    expect(await store.list()).toEqual([]);
    expect(seller.packages.storageUse().ownFilesBytes).toBe(0);
    await eventually(() => buyer.packages.offerAttachments(sellerId, productId).length === 0, 10_000, 'the file to leave the buyer’s view');
    expect(() => buyer.packages.fetch(attachment.root)).toThrow(/No shop this node carries lists that file/);
  });

  it('a peer that knows a private file’s root is told it is not here, chunk by chunk too; a flood of asks meets "busy"', async () => {
    const { seller, attachment: secret } = await sellerWithFile(300 * 1024, false);
    const { attachment: open } = await (async () => {
      const productId = await seller.addProduct({ name: 'Valve', sku: 'V-1', unit: 'piece', price: 500, stock: 1 });
      return { attachment: await seller.packages.attach(productId, input('valve.pdf', fileBytes(2 * 1024 * 1024, 7)), { kind: 'file', shared: true }) };
    })();
    const rogue = new RawPeer(seller);
    await rogue.hello();
    await rogue.send({ type: 'packageAsk', root: fromHex(secret.root), hashList: true });
    const have = await rogue.waitFor('packageHave');
    expect(have).toMatchObject({ size: null });
    expect(have.hashList).toBeUndefined();
    await rogue.send({ type: 'chunkAsk', root: fromHex(secret.root), index: 0 });
    expect(await rogue.waitFor('chunkRefusal')).toMatchObject({ index: 0, code: 2 });
    expect(rogue.received.some((m) => m.type === 'chunk')).toBe(false);

    // The shared file is served, but never more than 8 chunks at once to one peer (the first left at once: 7 wait, 1 more fits).
    await seller.packages.updateSettings({ uploadCapBytesPerSecond: 64 * 1024 });
    for (let index = 0; index < 8; index++) await rogue.send({ type: 'chunkAsk', root: fromHex(open.root), index });
    for (let index = 0; index < 8; index++) await rogue.send({ type: 'chunkAsk', root: fromHex(open.root), index });
    await eventually(() => rogue.received.filter((m) => m.type === 'chunkRefusal' && m.code === 1).length === 7, 10_000, 'busy refusals');
    // An unasked chunk sent to the seller counts against the sender only if it was never asked: the seller asks nothing here, so it is ignored.
    await rogue.send({ type: 'chunk', root: fromHex(open.root), index: 0, bytes: new Uint8Array(10) });
    expect(seller.view().peers.some((p) => p.nodeId === rogue.id)).toBe(true);
  });

  it('a disk slower than the link holds up the asking, not memory: at most 48 chunks asked for or unwritten', async () => {
    const { seller, productId, attachment } = await sellerWithFile(24 * 1024 * 1024);
    const sellerId = seller.view().shop!.vaultId;
    let sent = 0;
    let stored = 0;
    let worst = 0;
    class SlowStore extends MemoryChunkStore {
      override async put(hash: string, bytes: Uint8Array): Promise<void> {
        await new Promise((resolve) => setTimeout(resolve, 40));
        await super.put(hash, bytes);
        stored++;
      }
    }
    const buyer = await node('Bo Buyer', new SlowStore());
    const [x, y] = createMemoryLinkPair('seller', 'buyer', (direction, bytes) => {
      // The last fragment of a chunk message leaving the seller.
      if (direction === 'a-to-b' && bytes[3] === MessageType.chunk && (bytes[4]! & 1) === 0) sent++;
      worst = Math.max(worst, sent - stored);
    });
    seller.addLink(x);
    buyer.addLink(y);
    await eventually(() => buyer.packages.offerAttachments(sellerId, productId).length === 1);
    buyer.packages.fetch(attachment.root);
    await eventually(() => buyer.packages.progress(attachment.root).state === 'complete', 30_000, 'the download onto a slow disk');
    expect(worst).toBeGreaterThan(4);
    expect(worst).toBeLessThanOrEqual(48);
  });

  it('a download that takes longer than the parking delay keeps its slot while a peer holds the file', async () => {
    const { seller, productId, attachment } = await sellerWithFile(6 * 1024 * 1024);
    await seller.packages.updateSettings({ uploadCapBytesPerSecond: 768 * 1024 });
    const sellerId = seller.view().shop!.vaultId;
    const buyer = await node('Bo Buyer');
    link(seller, buyer);
    await eventually(() => buyer.packages.offerAttachments(sellerId, productId).length === 1);
    buyer.packages.fetch(attachment.root);
    // 24 chunks at 768 KiB/s: about 8 s, and most are asked for well past the 3 s after which a
    // download nobody holds parks.
    await eventually(() => buyer.packages.progress(attachment.root).state === 'complete', 20_000, 'the slow download');
  });

  it('others’ cached files are evicted least recently used first past the budget; own files never', async () => {
    const seller = await node('Ada Hardware');
    const productId = await seller.addProduct({ name: 'Gear pump', sku: 'GP-1', unit: 'piece', price: 9900, stock: 3 });
    await seller.setOffer(productId, { quantity: 2, price: 9900 });
    const files = [];
    for (const [i, name] of ['a.pdf', 'b.pdf', 'c.pdf'].entries()) files.push(await seller.packages.attach(productId, input(name, fileBytes(512 * 1024, 10 + i)), { kind: 'file', shared: true }));
    const sellerId = seller.view().shop!.vaultId;
    const store = new MemoryChunkStore();
    const buyer = await node('Bo Buyer', store);
    const ownProduct = await buyer.addProduct({ name: 'Own', sku: 'O', unit: 'piece', price: 1, stock: 1 });
    const own = await buyer.packages.attach(ownProduct, input('own.pdf', fileBytes(768 * 1024, 20)), { kind: 'file', shared: false });
    link(seller, buyer);
    await eventually(() => buyer.packages.offerAttachments(sellerId, productId).length === 3);
    for (const file of files) {
      buyer.packages.fetch(file.root);
      await eventually(() => buyer.packages.progress(file.root).state === 'complete', 10_000);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    // a.pdf opened again: now b.pdf is the least recently used.
    expect(buyer.packages.chunksOf(files[0]!.root)).toHaveLength(2);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await buyer.packages.updateSettings({ cacheBudgetBytes: 1200 * 1024 });
    expect(files.map((f) => buyer.packages.progress(f.root).state)).toEqual(['complete', 'missing', 'complete']);
    expect(buyer.packages.storageUse()).toMatchObject({ cachedFilesBytes: 1024 * 1024, ownFilesBytes: 768 * 1024 });
    // A budget of nothing empties the cache and keeps the own file, chunks and all.
    await buyer.packages.updateSettings({ cacheBudgetBytes: 0 });
    expect(buyer.packages.storageUse()).toMatchObject({ cachedFilesBytes: 0, ownFilesBytes: 768 * 1024 });
    expect((await store.list()).length).toBe(3);
    expect(buyer.packages.chunksOf(own.root)).toHaveLength(3);
  });
});

