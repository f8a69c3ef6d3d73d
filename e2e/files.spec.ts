import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { expect, test, type Download, type Locator, type Page, type TestInfo } from '@playwright/test';
import type { NodeView } from '../src/core/node/nodeView';
import type { AttachmentInput, PackageProgress } from '../src/core/packages/packageView';
import { corruptChunkFrames, Hostile } from './hostilePeer';
import { addOffer, addProduct, createShop, expectPeers, offerCard, openSouk, view } from './shop';

/**
 * Files attached to products, end to end in Chromium with the real signaling server and WebRTC
 * (issue 7): a file attached by one shop is saved byte for byte by another; a third fetches it
 * from both at once and finishes from one when the other closes; a peer serving corrupt chunks is
 * caught and dropped; a reload mid-download resumes from what was verified; a full quota says so
 * and keeps the shop's own files.
 */

const MiB = 1024 * 1024;

/** Deterministic bytes (xorshift32, one word at a time): no two chunks alike. */
function fileBytes(size: number, seed: number): Buffer {
  const words = new Uint32Array(Math.ceil(size / 4));
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  return Buffer.from(words.buffer, 0, size);
}

/** A text file's bytes (readable in a tab), deterministic. */
function textBytes(size: number): Buffer {
  const line = 'Gear pump GP-1: service notes, torque 42 Nm, seal kit SK-7.\n';
  return Buffer.from(line.repeat(Math.ceil(size / line.length)).slice(0, size));
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Writes the file into the test's output folder: the file input takes it from disk. */
async function onDisk(testInfo: TestInfo, name: string, bytes: Buffer): Promise<string> {
  const path = testInfo.outputPath(name);
  await writeFile(path, bytes);
  return path;
}

async function storageView(page: Page): Promise<void> {
  await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Storage', exact: true }).click();
}

/** Sets this node's upload cap on the Storage page (0 = none). */
async function setUploadCap(page: Page, kibPerSecond: number): Promise<void> {
  await storageView(page);
  const settings = page.getByRole('form', { name: 'File settings' });
  await settings.getByLabel('Upload cap (KB/s, 0 = none)').fill(String(kibPerSecond));
  await settings.getByRole('button', { name: 'Save settings' }).click();
  await expect(settings.getByRole('status', { name: 'Settings saved' })).toHaveText(/^Saved at /);
  await expect(settings.getByLabel('Upload cap (KB/s, 0 = none)')).toHaveValue(String(kibPerSecond));
}

function productFiles(page: Page, product: string): Locator {
  return page.getByRole('region', { name: `Photos and files of ${product}` });
}

async function openEditor(page: Page, product: string): Promise<Locator> {
  await view(page, 'Catalog');
  await page.getByRole('button', { name: `Edit ${product}` }).click();
  return productFiles(page, product);
}

async function closeEditor(page: Page, product: string): Promise<void> {
  await page.getByRole('form', { name: `Edit ${product}` }).getByRole('button', { name: 'Cancel' }).click();
}

/** Attaches a file from disk to a product through its editor's "Attach file", shared with other shops. */
async function attachShared(page: Page, product: string, path: string): Promise<void> {
  const files = await openEditor(page, product);
  await files.getByRole('group', { name: 'Files' }).getByRole('checkbox', { name: 'Share with other shops' }).check();
  await files.getByLabel('Attach file', { exact: true }).setInputFiles(path);
  await expect(files.getByRole('status').filter({ hasText: 'attached' })).toHaveText(`${basename(path)} is attached and shared with other shops.`, { timeout: 60_000 });
  await closeEditor(page, product);
}

/** The files listed on another shop's offer in the Marketplace. */
function offerFiles(page: Page, product: string, seller: string): Locator {
  return offerCard(page, product, seller).getByRole('list', { name: `Files of ${product}` });
}

function fileRow(list: Locator, name: string): Locator {
  return list.getByRole('listitem').filter({ hasText: name });
}

/** Clicks Save on a listed file; the download arrives once the file is complete here. */
async function save(page: Page, list: Locator, name: string): Promise<{ download: Promise<Download> }> {
  const download = page.waitForEvent('download', { timeout: 90_000 });
  // Not awaited here (a promise in a promise would be): the caller waits when it wants the file.
  download.catch(() => {});
  await list.getByRole('button', { name: `Save ${name}` }).click();
  return { download };
}

async function savedBytes(saving: { download: Promise<Download> }): Promise<Buffer> {
  const download = await saving.download;
  expect(download.failure ? await download.failure() : null).toBeNull();
  return readFile(await download.path());
}

/** The progress bar of a file being fetched for Open or Save. */
function fetchBar(list: Locator, name: string): Locator {
  return list.getByRole('progressbar', { name: `Fetching ${name}` });
}

async function percentOf(bar: Locator): Promise<number> {
  return Number((await bar.getAttribute('aria-valuenow', { timeout: 5_000 })) ?? NaN);
}

async function nodeView(page: Page): Promise<NodeView> {
  await page.waitForFunction(() => 'soukNode' in globalThis);
  return page.evaluate(() => (globalThis as unknown as { soukNode: { view(): Promise<NodeView> } }).soukNode.view());
}

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: MiB };

/** What the Network view says this node sent to the peer whose shop is `shop` ("↑ 3.4 MiB"), in bytes. */
async function sentTo(page: Page, shop: string): Promise<number> {
  const row = page.getByRole('list', { name: 'Connected peers' }).getByRole('listitem').filter({ hasText: shop });
  const text = (await row.textContent({ timeout: 5_000 })) ?? '';
  const match = /↑ ([\d.]+) (B|KiB|MiB)/.exec(text);
  return match ? Number(match[1]) * UNITS[match[2]!]! : 0;
}

async function packageProgress(page: Page, root: string): Promise<PackageProgress> {
  return page.evaluate((root) => (globalThis as unknown as { soukNode: { packages: { progress(r: string): Promise<PackageProgress> } } }).soukNode.packages.progress(root), root);
}

/** The node's own progress of a download (more precise than the bar, which is polled). */
async function downloadNamed(page: Page, name: string): Promise<PackageProgress> {
  const all = await page.evaluate(() => (globalThis as unknown as { soukNode: { packages: { downloads(): Promise<PackageProgress[]> } } }).soukNode.packages.downloads());
  const found = all.find((d) => d.name === name);
  if (!found) throw new Error(`no download of ${name}: ${JSON.stringify(all.map((d) => d.name))}`);
  return found;
}

function bytesInput(name: string, mediaType: string, bytes: Uint8Array): AttachmentInput {
  return { name, mediaType, size: bytes.length, read: async (offset, length) => bytes.subarray(offset, offset + length) };
}

test('(a) a 32 MiB file attached by A is saved byte for byte by B; (b) C fetches it from A and B together; (c) A closes and C finishes from B', async ({ browser }, testInfo) => {
  test.setTimeout(150_000);
  const original = fileBytes(32 * MiB, 7);
  const path = await onDisk(testInfo, 'pump-drawings.zip', original);
  const ada = await openSouk(browser);
  const bo = await openSouk(browser);
  const cy = await openSouk(browser);
  try {
    await createShop(ada.page, 'Ada Hardware');
    await createShop(bo.page, 'Bo Builders', 'New Market');
    await createShop(cy.page, 'Cy Crafts', 'Hill Side');
    await addOffer(ada.page, { name: 'Gear pump', price: '99.00', stock: 3 }, 2, '99.00');
    await attachShared(ada.page, 'Gear pump', path);

    // (a) B sees the attachment on A's offer (name, size, type) and saves it.
    await expectPeers(bo.page, 2);
    await view(bo.page, 'Marketplace');
    const boFiles = offerFiles(bo.page, 'Gear pump', 'Ada Hardware');
    const boRow = fileRow(boFiles, 'pump-drawings.zip');
    await expect(boRow).toContainText('32.0 MiB');
    await expect(boRow).toContainText('application/zip');
    const boSaved = await savedBytes(await save(bo.page, boFiles, 'pump-drawings.zip'));
    expect(boSaved.length).toBe(original.length);
    expect(sha256(boSaved)).toBe(sha256(original));
    await expect(boRow.getByRole('status')).toContainText('Saved to your downloads.');

    // (b) Both holders capped on their Storage page, so C's download lasts long enough to watch.
    await setUploadCap(ada.page, 1024);
    await setUploadCap(bo.page, 1024);
    await view(ada.page, 'Network');
    await view(bo.page, 'Network');
    await expectPeers(cy.page, 2);
    await view(cy.page, 'Marketplace');
    const cyFiles = offerFiles(cy.page, 'Gear pump', 'Ada Hardware');
    const cyDownload = await save(cy.page, cyFiles, 'pump-drawings.zip');
    const bar = fetchBar(cyFiles, 'pump-drawings.zip');
    // C's progress: percent, speed, time left and two peers serving at once.
    await expect(bar).toHaveAttribute('aria-valuetext', /^\d+% of 32\.0 MiB, [\d.]+ (B|KiB|MiB)\/s, .+ left, 2 peers serving$/, { timeout: 30_000 });
    // Each holder's own counter for its link to C: both have sent C chunks.
    await expect.poll(() => sentTo(ada.page, 'Cy Crafts'), { message: 'A sent C chunks', timeout: 20_000 }).toBeGreaterThan(1 * MiB);
    await expect.poll(() => sentTo(bo.page, 'Cy Crafts'), { message: 'B sent C chunks', timeout: 20_000 }).toBeGreaterThan(1 * MiB);

    // (c) A closes mid-download; C goes on with B alone and finishes.
    const doneWhenAdaLeft = (await downloadNamed(cy.page, 'pump-drawings.zip')).bytesDone;
    expect(doneWhenAdaLeft).toBeLessThan(0.75 * original.length);
    const boSentBefore = await sentTo(bo.page, 'Cy Crafts');
    await ada.context.close();
    await expect(bar).toHaveAttribute('aria-valuetext', /, 1 peer serving$/, { timeout: 20_000 });
    const cySaved = await savedBytes(cyDownload);
    expect(sha256(cySaved)).toBe(sha256(original));
    // What C lacked when A left came from B, less what C held then unwritten (16 chunks waiting
    // for the disk) or A had on its way (8 chunks in flight): 6 MiB.
    expect(await sentTo(bo.page, 'Cy Crafts')).toBeGreaterThan(boSentBefore + (original.length - doneWhenAdaLeft) - 6 * MiB);
  } finally {
    await ada.context.close().catch(() => {});
    await bo.context.close().catch(() => {});
    await cy.context.close().catch(() => {});
  }
});

test('(d) a peer serving corrupt chunks is caught, shown as refused and dropped; the file still comes whole from the honest peer', async ({ browser, baseURL }) => {
  test.setTimeout(120_000);
  const original = fileBytes(8 * MiB, 11);
  const ada = await openSouk(browser);
  const vera = await openSouk(browser);
  const hostileContext = await browser.newContext();
  let hostile: Hostile | undefined;
  try {
    await createShop(ada.page, 'Ada Hardware');
    await createShop(vera.page, 'Vera Victim', 'New Market');
    await addOffer(ada.page, { name: 'Gear pump', price: '99.00', stock: 3 }, 2, '99.00');
    await attachShared(ada.page, 'Gear pump', await onDisk(test.info(), 'valve-manual.bin', original));
    await expectPeers(vera.page, 1);

    // The hostile node holds the same bytes (a package is named by its root, over its chunks'
    // hashes, whatever the file's name), so it answers Vera for A's file with the true hash list,
    // then flips a byte in every chunk frame it sends.
    const corrupted = { corrupted: 0 };
    hostile = await Hostile.start(await hostileContext.newPage(), { shopName: 'Mal Mirror', outgoing: (frame) => corruptChunkFrames(frame, corrupted) });
    const product = await hostile.node.addProduct({ name: 'Gear pump copy', sku: 'GP-X', unit: 'piece', price: 100, stock: 1 });
    const copy = await hostile.node.packages.attach(product, bytesInput('valve-manual.bin', 'application/octet-stream', original), { kind: 'file', shared: true });
    hostile.victim = (await nodeView(vera.page)).nodeId;
    await hostile.join(`${baseURL!.replace(/^http/, 'ws')}/signal`, 'souk-local');
    const linkId = await hostile.waitForHandshake(0);
    await expectPeers(vera.page, 2);

    await setUploadCap(ada.page, 1024);
    await view(vera.page, 'Marketplace');
    const files = offerFiles(vera.page, 'Gear pump', 'Ada Hardware');
    const download = await save(vera.page, files, 'valve-manual.bin');

    // The corrupter was asked and answered (with damaged chunks) while the download went on (the
    // Marketplace stays open: leaving it would stop the Save).
    await expect.poll(() => corrupted.corrupted, { message: 'the corrupter sent chunk frames', timeout: 20_000 }).toBeGreaterThan(0);
    // The file still comes whole: no damaged chunk was kept.
    const saved = await savedBytes(download);
    expect(sha256(saved)).toBe(sha256(original));
    // Caught and dropped: Vera closed the corrupter's link...
    await expect.poll(() => hostile!.links.get(linkId)!.link.closedReason, { message: 'Vera closed the corrupter’s link', timeout: 10_000 }).toBeDefined();
    // ...and her Network view says what was refused, from whom.
    await view(vera.page, 'Network');
    await expect(vera.page.getByRole('list', { name: 'Refusals' })).toContainText(new RegExp(`peer ${hostile.peerId.slice(0, 8)}: served a corrupt chunk \\d+ of valve-manual\\.bin`));
    // The corrupter held the very package Vera fetched (A's file, by its root).
    expect(await packageProgress(vera.page, copy.root)).toMatchObject({ state: 'complete', name: 'valve-manual.bin', size: original.length });
  } finally {
    hostile?.close();
    await hostileContext.close().catch(() => {});
    await ada.context.close().catch(() => {});
    await vera.context.close().catch(() => {});
  }
});

test('(e) a reload of the downloading page mid-download resumes without fetching verified chunks again', async ({ browser }) => {
  test.setTimeout(120_000);
  const original = fileBytes(24 * MiB, 13);
  const ada = await openSouk(browser);
  const bo = await openSouk(browser);
  try {
    await createShop(ada.page, 'Ada Hardware');
    await createShop(bo.page, 'Bo Builders', 'New Market');
    await addOffer(ada.page, { name: 'Gear pump', price: '99.00', stock: 3 }, 2, '99.00');
    await attachShared(ada.page, 'Gear pump', await onDisk(test.info(), 'catalogue.zip', original));
    await setUploadCap(ada.page, 2048);
    await expectPeers(bo.page, 1);
    const sentBefore = (await nodeView(ada.page)).traffic.bytesOut;

    await view(bo.page, 'Marketplace');
    const files = offerFiles(bo.page, 'Gear pump', 'Ada Hardware');
    await files.getByRole('button', { name: 'Save catalogue.zip' }).click();
    const bar = fetchBar(files, 'catalogue.zip');
    await expect.poll(() => percentOf(bar), { timeout: 30_000 }).toBeGreaterThanOrEqual(50);
    const percentBeforeReload = await percentOf(bar);

    const receivedBeforeReload = (await nodeView(bo.page)).traffic.bytesIn;
    await bo.page.reload();
    // B's node started again (its shared worker goes with its last page): its traffic counts from zero.
    expect((await nodeView(bo.page)).traffic.bytesIn).toBeLessThan(receivedBeforeReload);
    await expect(bo.page.getByRole('navigation', { name: 'Views' })).toBeVisible();
    // The node picks the download up again by itself, from what it verified before.
    await storageView(bo.page);
    const resumed = bo.page.getByRole('list', { name: 'Downloads' }).getByRole('progressbar', { name: 'Download of catalogue.zip' });
    const firstSeen = await percentOf(resumed);
    expect(firstSeen).toBeGreaterThanOrEqual(percentBeforeReload);
    await setUploadCap(ada.page, 0);
    await expectPeers(bo.page, 1);
    await view(bo.page, 'Marketplace');
    const saved = await savedBytes(await save(bo.page, files, 'catalogue.zip'));
    expect(sha256(saved)).toBe(sha256(original));
    // A sent the file once: what B verified before the reload was not asked for again. On top at
    // most what the reload lost on its way (8 chunks in flight, 16 received but not yet written:
    // 6 MiB) and a little vault traffic; fetching it all again would add over half the file (12 MiB).
    const sent = (await nodeView(ada.page)).traffic.bytesOut - sentBefore;
    expect(sent).toBeGreaterThanOrEqual(original.length);
    expect(sent).toBeLessThan(original.length + 6.5 * MiB);
  } finally {
    await ada.context.close().catch(() => {});
    await bo.context.close().catch(() => {});
  }
});

test('(f) a full quota gives the message and keeps the shop’s own files', async ({ browser, baseURL }) => {
  test.setTimeout(90_000);
  const notes = textBytes(300 * 1024);
  const ada = await openSouk(browser);
  try {
    await createShop(ada.page, 'Ada Hardware');
    await addProduct(ada.page, { name: 'Gear pump', price: '99.00', stock: 3 });
    const notesPath = await onDisk(test.info(), 'pump-notes.txt', notes);
    const scanPath = await onDisk(test.info(), 'pump-scan.zip', fileBytes(16 * MiB, 17));
    await attachShared(ada.page, 'Gear pump', notesPath);

    // The origin may now hold only 4 MiB more than it does.
    const cdp = await ada.context.newCDPSession(ada.page);
    const origin = new URL(baseURL!).origin;
    const usage = await ada.page.evaluate(async () => (await navigator.storage.estimate()).usage ?? 0);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: usage + 4 * MiB });

    const files = await openEditor(ada.page, 'Gear pump');
    await files.getByLabel('Attach file', { exact: true }).setInputFiles(scanPath);
    await expect(files.getByRole('alert')).toContainText('pump-scan.zip could not be attached: Storage is full', { timeout: 60_000 });
    const list = files.getByRole('list', { name: 'Files of Gear pump' });
    await expect(list.getByRole('listitem')).toHaveCount(1);
    await expect(list).toContainText('pump-notes.txt');
    await expect(list).not.toContainText('pump-scan.zip');

    // The earlier file still opens, whole.
    const popup = ada.page.waitForEvent('popup', { timeout: 20_000 });
    await list.getByRole('button', { name: 'Open pump-notes.txt' }).click();
    const tab = await popup;
    await tab.waitForLoadState();
    expect(await tab.evaluate(async () => (await fetch(location.href)).text())).toBe(notes.toString());
    await tab.close();
    await closeEditor(ada.page, 'Gear pump');
    await storageView(ada.page);
    await expect(ada.page.getByRole('definition').first()).toHaveText('300.0 KiB (1 file, never removed to make room)');
    await cdp.send('Storage.overrideQuotaForOrigin', { origin });
  } finally {
    await ada.context.close().catch(() => {});
  }
});
