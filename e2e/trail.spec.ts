import { readFile } from 'node:fs/promises';
import { expect, test } from '@playwright/test';
import { createShop, expectPeers, honeyMarket, offerCard, openSouk, reserveOffer, view } from './shop';

/**
 * The Trail page: a period's export downloads as a souk-audit-trail file, the page verifies it
 * with the keys in it alone, and a file with one byte of the signed document changed is refused
 * with the problem named.
 */
test('exports the trail of a period and verifies the file in the page; a tampered file is refused', async ({ browser }) => {
  const { context, page } = await openSouk(browser);
  await createShop(page, 'Ada Groceries');
  await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Trail' }).click();
  await expect(page.getByRole('heading', { name: 'Trail', exact: true })).toBeVisible();
  await expect(page.getByText('No trade events yet')).toBeVisible();

  const form = page.getByRole('form', { name: 'Export the trail of a period' });
  await expect(form.getByLabel('First day')).toHaveValue(/^\d{4}-\d{2}-\d{2}$/);
  const downloading = page.waitForEvent('download');
  await form.getByRole('button', { name: 'Export trail (JSON)' }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^souk-trail-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}\.json$/);
  await expect(form.getByRole('status')).toContainText('Downloaded');
  const json = await readFile((await download.path())!, 'utf8');
  const file = JSON.parse(json);
  expect(file).toMatchObject({ format: 'souk-audit-trail', version: 1, events: [] });
  expect(file.vaults).toHaveLength(1);

  const verify = page.getByRole('region', { name: 'Verify a trail file' });
  await verify.getByLabel('Trail file (JSON)').setInputFiles({ name: 'trail.json', mimeType: 'application/json', buffer: Buffer.from(json) });
  await expect(verify.getByRole('status')).toContainText('Valid.');
  await expect(verify.getByRole('status')).toContainText('Ada Groceries');

  // One byte of the signed document changed: refused, with the vault named.
  const bytes = Buffer.from(file.vaults[0].document, 'base64');
  bytes[Math.floor(bytes.length / 2)]! ^= 0x40;
  file.vaults[0].document = bytes.toString('base64');
  await verify.getByLabel('Trail file (JSON)').setInputFiles({ name: 'tampered.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(file)) });
  await expect(verify.getByRole('status')).toContainText('Not valid.');
  await expect(verify.getByRole('list', { name: 'Problems found' }).getByRole('listitem').first()).toContainText(`vault ${file.vaults[0].vaultId.slice(0, 8)}`);

  // Not a trail at all.
  await verify.getByLabel('Trail file (JSON)').setInputFiles({ name: 'notes.json', mimeType: 'application/json', buffer: Buffer.from('{"hello": 1}') });
  await expect(verify.getByRole('list', { name: 'Problems found' })).toContainText('not a souk-audit-trail');

  // Phone width: the page still fits.
  await page.setViewportSize({ width: 360, height: 740 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  await context.close();
});

test('a sale made through a reservation walks back to its request and offer on the Trail page, and its export verifies', async ({ browser }) => {
  const { seller, buyer } = await honeyMarket(browser);
  await expectPeers(buyer.page, 1);
  await view(buyer.page, 'Marketplace');
  await expect(offerCard(buyer.page, 'Honey', 'Hill Honey')).toContainText('10 each available', { timeout: 30_000 });
  await reserveOffer(buyer.page, 'Honey', 'Hill Honey', 3);

  await view(seller.page, 'Reservations');
  const asSeller = seller.page.getByRole('listitem', { name: /Request: 3 each Honey by Valley Grocer/ });
  await expect(asSeller.getByRole('status', { name: 'State' })).toHaveText('Waiting for your answer', { timeout: 30_000 });
  await asSeller.getByRole('button', { name: 'Accept' }).click();
  await expect(asSeller.getByRole('status', { name: 'State' })).toHaveText(/Accepted/);
  await asSeller.getByRole('button', { name: 'Fulfil' }).click();
  await expect(asSeller.getByRole('status', { name: 'State' })).toHaveText('Fulfilled — sold');

  const page = seller.page;
  await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Trail' }).click();
  const events = page.getByRole('list', { name: 'Trade events, newest first' });
  const sale = events.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'inventory.offer.fulfilled' }) });
  await expect(sale).toContainText('Signed by Hill Honey (your shop)');
  const request = events.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'inventory.offer.reserved.request' }) });
  await expect(request).toContainText('Signed by Valley Grocer');
  await sale.getByRole('button', { name: /^Walk back from inventory\.offer\.fulfilled/ }).click();
  const chain = page.getByRole('list', { name: 'Chain of events, each followed by what it derives from' });
  await expect(chain.getByRole('listitem')).toHaveCount(4);
  await expect(chain).toContainText('inventory.offer.reserved.request');
  await expect(chain).toContainText('inventory.offer.reserved.acceptance');
  await expect(chain.getByRole('listitem').last()).toContainText('inventory.offer.created');
  await expect(chain.getByRole('listitem').last()).toContainText('Signed by Hill Honey');

  const downloading = page.waitForEvent('download');
  await page.getByRole('form', { name: 'Export the trail of a period' }).getByRole('button', { name: 'Export trail (JSON)' }).click();
  const json = await readFile((await (await downloading).path())!, 'utf8');
  expect(JSON.parse(json).events.map((e: { name: string }) => e.name).sort()).toEqual([
    'inventory.offer.created',
    'inventory.offer.fulfilled',
    'inventory.offer.reserved.acceptance',
    'inventory.offer.reserved.request',
    'inventory.offer.reserved.seen',
  ]);
  const verify = page.getByRole('region', { name: 'Verify a trail file' });
  await verify.getByLabel('Trail file (JSON)').setInputFiles({ name: 'sale.json', mimeType: 'application/json', buffer: Buffer.from(json) });
  await expect(verify.getByRole('status')).toContainText('Valid.');
  await expect(verify.getByRole('status')).toContainText('5 events verified');
  await seller.context.close();
  await buyer.context.close();
});
