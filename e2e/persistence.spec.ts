import { expect, test } from '@playwright/test';
import { addOffer, addProduct, createShop, expectPeers, fillStockMove, offer, offerCard, openSouk, view } from './shop';

test('(c) a reload keeps the shop, catalog, private fields and offers', async ({ browser }) => {
  const { context, page } = await openSouk(browser);
  await createShop(page, 'Keeper Store');
  await addProduct(page, { name: 'Lentils', price: '3.20', stock: 50, sku: 'LEN-1' });
  await page.getByRole('button', { name: 'Edit Lentils' }).click();
  const editor = page.getByRole('form', { name: 'Edit Lentils' });
  await editor.getByLabel('Supplier notes').fill('Farmer Hassan, cash only');
  await editor.getByRole('checkbox', { name: 'Offer to the network' }).check();
  await editor.getByLabel('Offered quantity').fill('20');
  await editor.getByLabel(/Offer price/).fill('3.00');
  await editor.getByRole('button', { name: 'Save' }).click();
  // Confirmed by the UI, then the page goes away at once.
  await expect(page.getByRole('row', { name: /Lentils/ })).toContainText('20 offered at');
  await page.reload();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Keeper Store');
  await view(page, 'Catalog');
  await expect(page.getByRole('row', { name: /Lentils/ })).toContainText('50 each');
  await page.getByRole('button', { name: 'Edit Lentils' }).click();
  await expect(page.getByRole('form', { name: 'Edit Lentils' }).getByLabel('Supplier notes')).toHaveValue('Farmer Hassan, cash only');
  await view(page, 'Marketplace');
  await expect(offerCard(page, 'Lentils', 'Keeper Store')).toContainText('3.00');
  await context.close();
});

test('(d) a second tab is the same node, both show changes live, and it takes over the links', async ({ browser }) => {
  const first = await openSouk(browser);
  await createShop(first.page, 'Two Tabs');
  const second = await first.context.newPage();
  await second.goto('/');
  await expect(second.getByRole('heading', { level: 1 })).toContainText('Two Tabs');
  await addProduct(first.page, { name: 'Mint tea', price: '2.00', stock: 8 });
  await view(second, 'Catalog');
  await expect(second.getByRole('row', { name: /Mint tea/ })).toContainText('8 each');
  await fillStockMove(second, 'Mint tea', 4);
  await second.getByRole('button', { name: 'Record stock move for Mint tea' }).click();
  await expect(first.page.getByRole('row', { name: /Mint tea/ })).toContainText('12 each');

  // A peer links to this node through the first tab, the leader.
  const peer = await openSouk(browser);
  await createShop(peer.page, 'Neighbour');
  await expectPeers(second, 1);
  await offer(second, 'Mint tea', 5, '1.90');
  await view(peer.page, 'Marketplace');
  await expect(offerCard(peer.page, 'Mint tea', 'Two Tabs')).toContainText('1.90');
  // The leader tab closes: the second tab takes the links over and the peer hears new changes.
  await first.page.close();
  await expectPeers(second, 1);
  await offer(second, 'Mint tea', 5, '1.70');
  await expect(offerCard(peer.page, 'Mint tea', 'Two Tabs')).toContainText('1.70');
  await first.context.close();
  await peer.context.close();
});

test('(f) after one visit the app loads offline with its local data', async ({ browser }) => {
  const { context, page } = await openSouk(browser);
  await createShop(page, 'Offline Stall');
  await addProduct(page, { name: 'Candles', price: '1.50', stock: 30 });
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
  await context.setOffline(true);
  await page.reload();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Offline Stall');
  await view(page, 'Catalog');
  await expect(page.getByRole('row', { name: /Candles/ })).toContainText('30 each');
  // Still editable offline.
  await fillStockMove(page, 'Candles', -2);
  await page.getByRole('button', { name: 'Record stock move for Candles' }).click();
  await expect(page.getByRole('row', { name: /Candles/ })).toContainText('28 each');
  await expect(page.getByRole('status', { name: 'Sync status' })).toContainText(/offline|connecting/);
  await context.close();
});

test('(g) edits made apart, one side offline, both survive when they meet again', async ({ browser }) => {
  const a = await openSouk(browser);
  const b = await openSouk(browser);
  await createShop(a.page, 'Apart A');
  await createShop(b.page, 'Apart B');
  await addOffer(a.page, { name: 'Dates', price: '6.00', stock: 10 }, 10, '6.00');
  await addOffer(b.page, { name: 'Walnuts', price: '5.00', stock: 10 }, 10, '5.00');
  await view(b.page, 'Marketplace');
  await expect(offerCard(b.page, 'Dates', 'Apart A')).toContainText('6.00');
  await a.page.evaluate(() => navigator.serviceWorker.ready);

  // A leaves; B edits meanwhile.
  await a.page.close();
  await expectPeers(b.page, 0);
  await offer(b.page, 'Walnuts', 10, '4.40');

  // A comes back with no network, edits offline, then reconnects.
  await a.context.setOffline(true);
  const again = await a.context.newPage();
  await again.goto('/');
  await expect(again.getByRole('heading', { level: 1 })).toContainText('Apart A');
  await offer(again, 'Dates', 8, '5.50');
  await addOffer(again, { name: 'Raisins', price: '2.00', stock: 5 }, 5, '2.00');
  await a.context.setOffline(false);

  await view(b.page, 'Marketplace');
  await expect(offerCard(b.page, 'Dates', 'Apart A')).toContainText('5.50', { timeout: 45_000 });
  await expect(offerCard(b.page, 'Raisins', 'Apart A')).toContainText('2.00');
  await view(again, 'Marketplace');
  await expect(offerCard(again, 'Walnuts', 'Apart B')).toContainText('4.40');
  await expect(offerCard(again, 'Dates', 'Apart A')).toContainText('5.50');
  await a.context.close();
  await b.context.close();
});

test('without SharedWorker, one tab runs the node in a dedicated worker and another takes over when it closes', async ({ browser }) => {
  const context = await browser.newContext();
  await context.addInitScript(() => {
    delete (globalThis as { SharedWorker?: unknown }).SharedWorker;
  });
  const first = await context.newPage();
  await first.goto('/');
  await createShop(first, 'No Shared Worker');
  await addProduct(first, { name: 'Soap', price: '1.00', stock: 3 });
  const second = await context.newPage();
  await second.goto('/');
  await expect(second.getByText('Souk is open in another tab')).toBeVisible();
  await first.close();
  await expect(second.getByRole('heading', { level: 1 })).toContainText('No Shared Worker');
  await view(second, 'Catalog');
  await expect(second.getByRole('row', { name: /Soap/ })).toContainText('3 each');
  await context.close();
});
