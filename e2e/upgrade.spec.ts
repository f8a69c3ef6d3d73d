import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { createShop, offerCard, openSouk, view } from './shop';

/**
 * A shop from the previous version's storage opens. The fixture is the storage of Souk 0.1
 * (commit ea23288) holding a shop with three products, one offered, and a neighbour's vault — the
 * same one the Node migration test reads (src/core/node/fixtures/shop-v0.1.json). Its entries are
 * written into IndexedDB exactly as the app's adapter keeps them (src/browser/storage/
 * indexedDbStorage.ts: database "souk" version 1, one object store "entries", the storage key as an
 * array key, the bytes as a Uint8Array) from a blank page on the app's origin, before the app and
 * its worker ever run there; then the app is loaded.
 */

const fixture = JSON.parse(readFileSync(new URL('../src/core/node/fixtures/shop-v0.1.json', import.meta.url), 'utf8')) as {
  entries: { key: string[]; hex: string }[];
};

test('a shop stored by the previous version opens, migrated, and other shops take it', async ({ browser }) => {
  test.setTimeout(120_000);
  const context = await browser.newContext();
  // A page on the app's origin that is not the app: nothing opens the database before the seed.
  await context.route('**/__seed-old-storage', (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>seed</title>' }));
  const page = await context.newPage();
  await page.goto('/__seed-old-storage');
  const written = await page.evaluate(async (entries) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const open = indexedDB.open('souk', 1);
      open.onupgradeneeded = () => open.result.createObjectStore('entries');
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    const fromHex = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (byte) => parseInt(byte, 16));
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction('entries', 'readwrite', { durability: 'strict' });
      for (const entry of entries) tx.objectStore('entries').put(fromHex(entry.hex), entry.key);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    const count = await new Promise<number>((resolve) => {
      const request = db.transaction('entries').objectStore('entries').count();
      request.onsuccess = () => resolve(request.result);
    });
    db.close();
    return count;
  }, fixture.entries);
  expect(written).toBe(fixture.entries.length);

  // The app opens the old shop, migrated: profile, catalog with its private fields, the offer.
  await page.goto('/');
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Old Stall', { timeout: 30_000 });
  await view(page, 'Catalog');
  for (const name of ['Figs', 'Honey', 'Olives']) await expect(page.getByRole('row', { name: new RegExp(name) })).toBeVisible();
  await expect(page.getByRole('table')).toHaveAccessibleName('Your products (3)');
  await expect(page.getByRole('row', { name: /Honey/ })).toContainText('10 jar');
  await expect(page.getByRole('row', { name: /Honey/ })).toContainText('10 offered at €7.50');
  await page.getByRole('button', { name: 'Edit Honey' }).click();
  const editor = page.getByRole('form', { name: 'Edit Honey' });
  await expect(editor.getByLabel('Supplier notes')).toHaveValue('Bees of Ana');
  await expect(editor.getByRole('checkbox', { name: 'Offer to the network' })).toBeChecked();
  await editor.getByRole('button', { name: 'Cancel' }).click();
  await view(page, 'Marketplace');
  await expect(offerCard(page, 'Honey', 'Old Stall')).toContainText('7.50');
  // The old shop is this device's root: it can add devices and back up.
  await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Shop', exact: true }).click();
  await expect(page.getByRole('button', { name: 'Add a device', exact: true })).toBeVisible();
  await expect(page.getByRole('form', { name: 'Back up this shop' })).toBeVisible();

  // A reload reads the migrated form; another shop takes the migrated, signed vault.
  await page.reload();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Old Stall');
  const peer = await openSouk(browser);
  await createShop(peer.page, 'New Neighbour');
  await view(peer.page, 'Marketplace');
  await expect(offerCard(peer.page, 'Honey', 'Old Stall')).toContainText('7.50', { timeout: 30_000 });

  await context.close();
  await peer.context.close();
});
