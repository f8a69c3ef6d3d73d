import { execFileSync } from 'node:child_process';
import { chromium, expect, test } from '@playwright/test';
import config from '../playwright.config';
import {
  addOffer,
  adjustStock,
  createShop,
  expectPeers,
  joinByCode,
  offer,
  offerCard,
  openJoinShop,
  openSouk,
  shopView,
  startAddingDevice,
  view,
  whenOfflineReady,
} from './shop';

/**
 * A shop on several devices, in real Chromium contexts over the real signaling server and WebRTC:
 * joined by the typed code and by the QR code through a fake camera; both devices sell while apart
 * and the stock counts both sales; a device the root device revoked is refused by other shops.
 */

test('two devices of one shop: joined by the typed code, sell apart, converge; a revoked device is refused', async ({ browser }) => {
  test.setTimeout(180_000);
  const a = await openSouk(browser);
  await createShop(a.page, 'Two Tills');
  await addOffer(a.page, { name: 'Honey', price: '7.00', stock: 10 }, 10, '7.00');
  await a.page.getByText('Add a product').click(); // closes the form addProduct left open, which it opens again
  await addOffer(a.page, { name: 'Figs', price: '3.00', stock: 20 }, 20, '3.00');

  // B, a new device, joins by the typed code.
  const b = await openSouk(browser);
  const code = await startAddingDevice(a.page);
  await expect(a.page.getByRole('status', { name: 'Adding a device' })).toHaveText('Waiting for the new device');
  await joinByCode(b.page, code, 'Back office laptop');
  await expect(b.page.getByRole('status', { name: 'Joining progress' })).toContainText('Joining…');
  await expect(b.page.getByRole('heading', { level: 1 })).toContainText('Two Tills', { timeout: 30_000 });
  await expect(a.page.getByRole('status', { name: 'Adding a device' })).toHaveText('Added Back office laptop');
  await a.page.getByRole('button', { name: 'Done' }).click();
  // The private catalog came along, and B is not the root device.
  await view(b.page, 'Catalog');
  await expect(b.page.getByRole('row', { name: /Honey/ })).toContainText('10 each');
  await shopView(b.page);
  const bDevices = b.page.getByRole('list', { name: 'Devices of this shop' });
  await expect(bDevices.getByRole('listitem', { name: 'Back office laptop' })).toContainText('This device');
  await expect(bDevices.getByRole('listitem', { name: 'First device' })).toBeVisible();
  await expect(b.page.getByRole('button', { name: 'Add a device' })).toHaveCount(0);
  await expect(b.page.getByRole('button', { name: /^Revoke/ })).toHaveCount(0);
  await expect(b.page.getByRole('form', { name: 'Back up this shop' })).toHaveCount(0);

  // C, another shop, sees the offer.
  const c = await openSouk(browser);
  await createShop(c.page, 'Buyer Stall', 'New Market');
  await view(c.page, 'Marketplace');
  await expect(offerCard(c.page, 'Honey', 'Two Tills')).toContainText('10 each available', { timeout: 30_000 });

  // B goes away and sells 2 with no network; A sells 1 meanwhile.
  await whenOfflineReady(b.page);
  await b.page.close();
  await b.context.setOffline(true);
  const bAgain = await b.context.newPage();
  await bAgain.goto('/');
  await expect(bAgain.getByRole('heading', { level: 1 })).toContainText('Two Tills');
  await adjustStock(bAgain, 'Honey', -2);
  await expect(bAgain.getByRole('row', { name: /Honey/ })).toContainText('8 each');
  await adjustStock(a.page, 'Honey', -1);
  await expect(a.page.getByRole('row', { name: /Honey/ })).toContainText('9 each');
  await expect(offerCard(c.page, 'Honey', 'Two Tills')).toContainText('9 each available');

  // B comes back: both devices count both sales, and C sees the one merged offer.
  await b.context.setOffline(false);
  await expect(bAgain.getByRole('row', { name: /Honey/ })).toContainText('7 each', { timeout: 45_000 });
  await expect(a.page.getByRole('row', { name: /Honey/ })).toContainText('7 each', { timeout: 30_000 });
  await expect(offerCard(c.page, 'Honey', 'Two Tills')).toContainText('7 each available', { timeout: 30_000 });
  await shopView(a.page);
  await expect(a.page.getByRole('list', { name: 'Devices of this shop' }).getByRole('listitem', { name: 'Back office laptop' })).toContainText(
    /Connected now|Last seen/,
  );

  // Before the revocation, a price B sets reaches C.
  await offer(bAgain, 'Figs', 20, '2.90');
  await expect(offerCard(c.page, 'Figs', 'Two Tills')).toContainText('2.90', { timeout: 30_000 });

  // B is lost: it goes away again, and whoever holds it re-prices Honey with no network.
  await bAgain.close();
  await b.context.setOffline(true);
  const lost = await b.context.newPage();
  await lost.goto('/');
  await expect(lost.getByRole('heading', { level: 1 })).toContainText('Two Tills');
  await offer(lost, 'Honey', 7, '6.50');
  await expect(lost.getByRole('row', { name: /Honey/ })).toContainText('offered at $6.50');

  // The root device revokes B, after a confirmation that says what stays and what is refused.
  await shopView(a.page);
  await a.page.getByRole('button', { name: 'Revoke Back office laptop' }).click();
  const dialog = a.page.getByRole('dialog', { name: 'Revoke Back office laptop?' });
  await expect(dialog).toContainText('What stays');
  await expect(dialog).toContainText('What is refused');
  await dialog.getByRole('button', { name: 'Revoke Back office laptop' }).click();
  await expect(dialog).toBeHidden();
  const revoked = a.page.getByRole('list', { name: 'Devices of this shop' }).getByRole('listitem', { name: 'Back office laptop' });
  await expect(revoked).toContainText('Revoked');
  await expect(a.page.getByRole('button', { name: 'Revoke Back office laptop' })).toHaveCount(0);
  // C has the revocation once it has A's latest version: A re-prices Figs and C shows it.
  await offer(a.page, 'Figs', 20, '2.80');
  await expect(offerCard(c.page, 'Figs', 'Two Tills')).toContainText('2.80', { timeout: 30_000 });

  // B comes back online with its later edit and links again; the other shop refuses the edit —
  // the offer price stays.
  await b.context.setOffline(false);
  await expect(lost.getByRole('status', { name: 'Sync status' })).toContainText(/[1-9] peers?/, { timeout: 45_000 });
  await lost.waitForTimeout(8_000);
  // A later edit of A's still arrives (C is listening), and the Honey price never moved.
  await offer(a.page, 'Figs', 20, '2.70');
  await expect(offerCard(c.page, 'Figs', 'Two Tills')).toContainText('2.70', { timeout: 30_000 });
  await expect(offerCard(c.page, 'Honey', 'Two Tills')).toContainText('7.00');
  await view(a.page, 'Marketplace');
  await expect(offerCard(a.page, 'Honey', 'Two Tills')).toContainText('7.00');
  await view(a.page, 'Catalog');
  await expect(a.page.getByRole('row', { name: /Honey/ })).toContainText('offered at $7.00');

  await a.context.close();
  await b.context.close();
  await c.context.close();
});

test('a new device joins by scanning the QR code with the camera', async ({ browser, baseURL }, testInfo) => {
  test.setTimeout(120_000);
  // Chromium's fake camera plays a file it opens at launch: the device that scans is a browser of
  // its own, launched once the code is on screen. The root device is in the usual browser.
  const video = testInfo.outputPath('pairing-qr.y4m');
  const a = await openSouk(browser);
  await createShop(a.page, 'Scan Stall');
  await addOffer(a.page, { name: 'Olives', price: '4.00', stock: 12 }, 6, '4.00');
  const code = await startAddingDevice(a.page);
  await expect(a.page.getByRole('img', { name: 'Pairing QR code' })).toBeVisible();
  execFileSync(process.execPath, ['scripts/make-qr-video.mjs', `SOUK-PAIR:${code}`, video, '--frames', '10']);
  const launch = config.use?.launchOptions ?? {};
  const camera = await chromium.launch({
    ...launch,
    args: [...(launch.args ?? []), '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', `--use-file-for-fake-video-capture=${video}`],
  });
  try {
    const context = await camera.newContext({ baseURL, permissions: ['camera'] });
    const b = { context, page: await context.newPage() };
    await b.page.goto('/');
    await openJoinShop(b.page, 'Till phone');
    await b.page.getByRole('button', { name: 'Scan the QR code' }).click();
    await expect(b.page.getByRole('region', { name: 'Scan with the camera' }).getByRole('status')).toHaveText('QR code read.');
    await expect(b.page.getByRole('heading', { level: 1 })).toContainText('Scan Stall', { timeout: 30_000 });
    await expect(a.page.getByRole('status', { name: 'Adding a device' })).toHaveText('Added Till phone');
    await view(b.page, 'Catalog');
    await expect(b.page.getByRole('row', { name: /Olives/ })).toContainText('12 each');
    await expectPeers(b.page, 1);
  } finally {
    await camera.close();
    await a.context.close();
  }
});
