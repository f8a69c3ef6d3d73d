import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Locator, type Page } from '@playwright/test';
import { addOffer, addProduct, createShop, expectPeers, offerCard, openSouk, view } from './shop';

/** A photo made in the page: a JPEG of `width` × `height` with shapes on it. */
async function makePhoto(page: Page, width: number, height: number): Promise<Buffer> {
  const bytes = await page.evaluate(
    async ([w, h]) => {
      const canvas = new OffscreenCanvas(w!, h!);
      const context = canvas.getContext('2d')!;
      context.fillStyle = '#fde68a';
      context.fillRect(0, 0, w!, h!);
      context.fillStyle = '#166534';
      context.beginPath();
      context.arc(w! / 2, h! / 2, Math.min(w!, h!) / 3, 0, Math.PI * 2);
      context.fill();
      const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.9 });
      return [...new Uint8Array(await blob.arrayBuffer())];
    },
    [width, height],
  );
  return Buffer.from(bytes);
}

async function storageView(page: Page): Promise<void> {
  await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Storage', exact: true }).click();
}

/** The image has loaded and decoded (its natural width is known). */
async function expectLoaded(image: Locator): Promise<void> {
  await expect(image).toBeVisible();
  await expect.poll(() => image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(0);
}

test('a photo added by one shop shows as a thumbnail on its offer in the other’s Marketplace, the full photo on a tap; a shared file is saved', async ({ browser }) => {
  const ada = await openSouk(browser);
  const bo = await openSouk(browser);
  await createShop(ada.page, 'Ada Groceries');
  await createShop(bo.page, 'Bo Spices', 'New Market');
  await addOffer(ada.page, { name: 'Rice 5kg', price: '12.50', stock: 40 }, 30, '12.00');

  // Ada adds a photo on the product's editor: shared by default, a progress bar while it is stored.
  await view(ada.page, 'Catalog');
  await ada.page.getByRole('button', { name: 'Edit Rice 5kg' }).click();
  const files = ada.page.getByRole('region', { name: 'Photos and files of Rice 5kg' });
  await expect(files.getByRole('group', { name: 'Photos' }).getByRole('checkbox', { name: 'Share with other shops' })).toBeChecked();
  await expect(files.getByRole('group', { name: 'Files' }).getByRole('checkbox', { name: 'Share with other shops' })).not.toBeChecked();
  const photo = await makePhoto(ada.page, 1600, 1200);
  await files.getByLabel('Add photo', { exact: true }).setInputFiles({ name: 'rice.jpg', mimeType: 'image/jpeg', buffer: photo });
  await expect(files.getByRole('status').filter({ hasText: 'attached' })).toHaveText('rice.jpg is attached and shared with other shops.');
  const list = files.getByRole('list', { name: 'Files of Rice 5kg' });
  await expect(list).toContainText('rice.jpg');
  await expect(list).toContainText('JPEG image');
  await expect(list).toContainText('shared with other shops');

  // A folder: each file named by its path in it, and (files not shared by default) only for Ada's devices.
  const folder = await mkdtemp(join(tmpdir(), 'souk-photos-'));
  await mkdir(join(folder, 'designs', 'parts'), { recursive: true });
  await writeFile(join(folder, 'designs', 'front.txt'), 'front');
  await writeFile(join(folder, 'designs', 'parts', 'back.txt'), 'back');
  await files.getByLabel('Attach folder', { exact: true }).setInputFiles(join(folder, 'designs'));
  await expect(files.getByRole('status').filter({ hasText: 'attached' })).toHaveText('2 files attached.');
  await expect(list).toContainText('designs/front.txt');
  await expect(list).toContainText('designs/parts/back.txt');
  await expect(list.getByRole('listitem').filter({ hasText: 'designs/front.txt' })).toContainText('only your devices');
  await rm(folder, { recursive: true, force: true });

  // A file shared on purpose.
  await files.getByRole('group', { name: 'Files' }).getByRole('checkbox', { name: 'Share with other shops' }).check();
  const notes = Buffer.from('Rice from the 2026 harvest, long grain.\n'.repeat(50));
  await files.getByLabel('Attach file', { exact: true }).setInputFiles({ name: 'rice notes.txt', mimeType: 'text/plain', buffer: notes });
  await expect(list).toContainText('rice notes.txt');
  await ada.page.getByRole('form', { name: 'Edit Rice 5kg' }).getByRole('button', { name: 'Cancel' }).click();

  // Ada's catalog row shows the thumbnail.
  await expectLoaded(ada.page.getByRole('row', { name: /Rice 5kg/ }).getByRole('img', { name: 'Rice 5kg' }));

  // Bo sees the thumbnail on Ada's offer as soon as it arrives.
  await expectPeers(bo.page, 1);
  await view(bo.page, 'Marketplace');
  const card = offerCard(bo.page, 'Rice 5kg', 'Ada Groceries');
  await expect(card).toContainText('12.00');
  const thumbnail = card.getByRole('img', { name: 'Rice 5kg photo' });
  await expectLoaded(thumbnail);
  const thumbnailWidth = await thumbnail.evaluate((img: HTMLImageElement) => img.naturalWidth);
  expect(thumbnailWidth).toBe(320);

  // A tap fetches the full photo and shows it in a dialog.
  await thumbnail.click();
  const dialog = bo.page.getByRole('dialog', { name: 'Photo of Rice 5kg' });
  await expect(dialog).toBeVisible();
  const full = dialog.getByRole('img', { name: 'Rice 5kg, full photo' });
  await expectLoaded(full);
  expect(await full.evaluate((img: HTMLImageElement) => img.naturalWidth)).toBe(1600);
  await dialog.getByRole('button', { name: 'Close' }).click();
  await expect(dialog).toBeHidden();

  // The shared file is listed on the offer, and Save downloads exactly its bytes.
  const offerFiles = card.getByRole('list', { name: 'Files of Rice 5kg' });
  await expect(offerFiles).toContainText('rice notes.txt');
  await expect(offerFiles).toContainText(`${(notes.length / 1024).toFixed(1)} KiB`);
  const download = bo.page.waitForEvent('download');
  await offerFiles.getByRole('button', { name: 'Save rice notes.txt' }).click();
  const saved = await download;
  expect(saved.suggestedFilename()).toBe('rice notes.txt');
  const path = await saved.path();
  expect((await readFile(path)).equals(notes)).toBe(true);
  await expect(offerFiles.getByRole('status')).toContainText('Saved to your downloads.');
  // Open shows it in a new tab; the folder Ada did not share is not listed.
  const popup = bo.page.waitForEvent('popup');
  await offerFiles.getByRole('button', { name: 'Open rice notes.txt' }).click();
  const tab = await popup;
  await expect(tab.locator('body')).toContainText('long grain');
  expect(tab.url()).toMatch(/^blob:/);
  await tab.close();
  await expect(offerFiles).not.toContainText('designs/');

  // Bo's Storage page: the figures, the persistent storage answer, downloads, settings saved.
  await storageView(bo.page);
  const facts = bo.page.getByRole('definition');
  await expect(bo.page.getByRole('term')).toHaveCount(5);
  await expect(facts.nth(0)).toHaveText(/^0 B \(0 files/);
  await expect(facts.nth(1)).toHaveText(/^\d+(\.\d)? (B|KiB|MiB) \([1-9]\d* files?; budget 2\.0 GiB\)$/);
  await expect(facts.nth(2)).toHaveText(/^\d+(\.\d)? (B|KiB|MiB)$/);
  await expect(facts.nth(3)).toHaveText(/ of \d+(\.\d)? GiB allowed$/);
  await expect(facts.nth(4)).toHaveText(/^(Yes|No)/);
  await bo.page.getByRole('button', { name: 'Keep my data (persistent storage)' }).click();
  await expect(bo.page.getByRole('status').filter({ hasText: /Granted|said no/ })).toBeVisible();

  const settings = bo.page.getByRole('form', { name: 'File settings' });
  await expect(settings.getByRole('checkbox', { name: "Serve other shops' files" })).toBeChecked();
  await settings.getByRole('checkbox', { name: "Serve other shops' files" }).uncheck();
  await settings.getByLabel('Upload cap (KB/s, 0 = none)').fill('256');
  await settings.getByLabel('Cache budget (MB)').fill('500');
  await settings.getByRole('button', { name: 'Save settings' }).click();
  await expect(settings.getByRole('status', { name: 'Settings saved' })).toHaveText(/^Saved at /);
  await view(bo.page, 'Marketplace');
  await storageView(bo.page);
  await expect(settings.getByLabel('Upload cap (KB/s, 0 = none)')).toHaveValue('256');
  await expect(settings.getByLabel('Cache budget (MB)')).toHaveValue('500');
  await expect(settings.getByRole('checkbox', { name: "Serve other shops' files" })).not.toBeChecked();
  await expect(facts.nth(1)).toContainText('budget 500.0 MiB');

  await bo.page.getByRole('button', { name: 'Free cached files' }).click();
  await expect(bo.page.getByRole('status').filter({ hasText: /^Freed / })).toBeVisible();
  await expect(facts.nth(1)).toHaveText(/^0 B \(0 files/);

  await ada.context.close();
  await bo.context.close();
});

test('a full disk while attaching gives the node’s message, lists nothing half-stored, and keeps the files already there', async ({ browser }) => {
  // Without SharedWorker the node runs in a dedicated worker, which the test can reach.
  const context = await browser.newContext();
  await context.addInitScript(() => {
    delete (globalThis as { SharedWorker?: unknown }).SharedWorker;
  });
  const page = await context.newPage();
  await page.goto('/');
  await createShop(page, 'Full Disk Stall');
  await addProduct(page, { name: 'Lentils', price: '3.00', stock: 9 });
  await page.getByRole('button', { name: 'Edit Lentils' }).click();
  const files = page.getByRole('region', { name: 'Photos and files of Lentils' });
  await files.getByLabel('Attach file', { exact: true }).setInputFiles({ name: 'invoice.txt', mimeType: 'text/plain', buffer: Buffer.from('invoice 1') });
  const list = files.getByRole('list', { name: 'Files of Lentils' });
  await expect(list).toContainText('invoice.txt');

  const node = page.workers().find((worker) => worker.url().includes('dedicatedNodeWorker'));
  expect(node, 'the node’s dedicated worker').toBeDefined();
  await node!.evaluate(() => {
    FileSystemWritableFileStream.prototype.write = () => Promise.reject(new DOMException('The quota has been exceeded.', 'QuotaExceededError'));
  });
  await files.getByLabel('Attach file', { exact: true }).setInputFiles({ name: 'catalogue.pdf', mimeType: 'application/pdf', buffer: Buffer.alloc(600 * 1024, 1) });
  const alert = files.getByRole('alert');
  await expect(alert).toContainText('catalogue.pdf could not be attached');
  await expect(alert).toContainText(/Storage is full/);
  await expect(list).toContainText('invoice.txt');
  await expect(list).not.toContainText('catalogue.pdf');
  await context.close();
});
