import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { addOffer, adjustStock, createShop, offerCard, openSouk, shopView, view } from './shop';

/**
 * "Back up this shop" on one device, "Restore from a backup" in a fresh profile: a wrong
 * passphrase restores nothing, the right one brings the shop and its private catalog back, and the
 * restored device syncs with the first.
 */
test('a shop backed up in one profile is restored in a fresh one and syncs with the first', async ({ browser }, testInfo) => {
  test.setTimeout(150_000);
  const a = await openSouk(browser);
  await createShop(a.page, 'Vault Stall');
  await addOffer(a.page, { name: 'Dates', price: '6.00', stock: 15 }, 10, '6.00');

  // The reminder is there until the shop is backed up, and leads to the backup form.
  const reminder = a.page.getByRole('region', { name: 'Backup reminder' });
  await expect(reminder).toContainText('This shop is not backed up');
  await expect(reminder).toContainText('private window');
  await reminder.getByRole('button', { name: 'Back up now' }).click();
  const form = a.page.getByRole('form', { name: 'Back up this shop' });
  await expect(form).toBeVisible();
  const passphrase = 'olive grove at dawn';
  // Too short, then two different passphrases: refused with a message, nothing downloaded.
  await form.getByLabel('Passphrase', { exact: true }).fill('short');
  await form.getByLabel('Repeat the passphrase').fill('short');
  await form.getByRole('button', { name: 'Back up this shop' }).click();
  await expect(form.getByRole('alert')).toContainText('at least 10 characters');
  await form.getByLabel('Passphrase', { exact: true }).fill(passphrase);
  await form.getByLabel('Repeat the passphrase').fill(`${passphrase}!`);
  await form.getByRole('button', { name: 'Back up this shop' }).click();
  await expect(form.getByRole('alert')).toContainText('differ');
  await form.getByLabel('Repeat the passphrase').fill(passphrase);
  const downloading = a.page.waitForEvent('download');
  await form.getByRole('button', { name: 'Back up this shop' }).click();
  await expect(form.getByRole('progressbar', { name: 'Locking the backup' })).toBeVisible();
  const download = await downloading;
  const today = new Date();
  const day = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, '0')}-${String(today.getDate()).padStart(2, '0')}`;
  expect(download.suggestedFilename()).toBe(`Vault-Stall-${day}.soukbackup`);
  const file = testInfo.outputPath(download.suggestedFilename());
  await download.saveAs(file);
  expect(readFileSync(file).subarray(0, 10).toString('ascii')).toBe('SOUKBACKUP');
  await expect(form.getByRole('status')).toContainText(`Backup saved as Vault-Stall-${day}.soukbackup`);
  await expect(reminder).toBeHidden();
  await expect(a.page.getByText(/^Last backed up/)).toBeVisible();

  // A fresh profile: a wrong passphrase first restores nothing.
  const r = await openSouk(browser);
  await r.page.getByRole('button', { name: 'Restore from a backup' }).click();
  const restore = r.page.getByRole('form', { name: 'Restore from a backup' });
  await restore.getByLabel('Backup file').setInputFiles(file);
  await restore.getByLabel('Backup passphrase').fill('olive grove at dusk');
  await restore.getByLabel('Name for this device').fill('New phone');
  await restore.getByRole('button', { name: 'Restore shop' }).click();
  await expect(restore.getByRole('alert')).toContainText('The passphrase is wrong, or the backup file is damaged');
  await expect(r.page.getByRole('heading', { level: 1 })).toHaveText('Souk');
  await expect(r.page.getByRole('form', { name: 'Create your shop' })).toBeVisible();

  // The right passphrase: the shop, its catalog (private fields too) and its offers come back.
  await restore.getByLabel('Backup passphrase').fill(passphrase);
  await restore.getByRole('button', { name: 'Restore shop' }).click();
  await expect(r.page.getByRole('heading', { level: 1 })).toContainText('Vault Stall', { timeout: 60_000 });
  await view(r.page, 'Catalog');
  await expect(r.page.getByRole('row', { name: /Dates/ })).toContainText('15 each');
  await view(r.page, 'Marketplace');
  await expect(offerCard(r.page, 'Dates', 'Vault Stall')).toContainText('6.00');
  // The restored device holds the root key: it can add devices and make backups.
  await shopView(r.page);
  await expect(r.page.getByRole('button', { name: 'Add a device', exact: true })).toBeVisible();
  await expect(r.page.getByRole('list', { name: 'Devices of this shop' }).getByRole('listitem', { name: 'New phone' })).toContainText('This device');

  // It syncs with the first profile both ways.
  await adjustStock(r.page, 'Dates', -4);
  await expect(r.page.getByRole('row', { name: /Dates/ })).toContainText('11 each');
  await view(a.page, 'Catalog');
  await expect(a.page.getByRole('row', { name: /Dates/ })).toContainText('11 each', { timeout: 30_000 });
  await adjustStock(a.page, 'Dates', -1);
  await expect(r.page.getByRole('row', { name: /Dates/ })).toContainText('10 each', { timeout: 30_000 });
  await shopView(a.page);
  await expect(a.page.getByRole('list', { name: 'Devices of this shop' }).getByRole('listitem', { name: 'New phone' })).toBeVisible();

  await a.context.close();
  await r.context.close();
});
