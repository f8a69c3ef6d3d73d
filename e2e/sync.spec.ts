import { expect, test } from '@playwright/test';
import { addOffer, createShop, expectPeers, fillStockMove, offer, offerCard, openSouk, view } from './shop';

test('(a) two shops see each other’s offers change live over WebRTC', async ({ browser }) => {
  const ada = await openSouk(browser);
  const bo = await openSouk(browser);
  await createShop(ada.page, 'Ada Groceries');
  await createShop(bo.page, 'Bo Spices', 'New Market');
  await addOffer(ada.page, { name: 'Rice 5kg', price: '12.50', stock: 40 }, 30, '12.00');
  await addOffer(bo.page, { name: 'Saffron', price: '15.00', stock: 10 }, 5, '14.00');

  await expectPeers(ada.page, 1);
  await view(bo.page, 'Marketplace');
  await view(ada.page, 'Marketplace');
  await expect(offerCard(bo.page, 'Rice 5kg', 'Ada Groceries')).toContainText('12.00');
  await expect(offerCard(ada.page, 'Saffron', 'Bo Spices')).toContainText('14.00');

  // Ada changes price and sells stock; Bo's marketplace follows without a reload.
  await offer(ada.page, 'Rice 5kg', 30, '11.25');
  await expect(offerCard(bo.page, 'Rice 5kg', 'Ada Groceries')).toContainText('11.25');
  await view(ada.page, 'Catalog');
  await fillStockMove(ada.page, 'Rice 5kg', -25);
  await ada.page.getByRole('button', { name: 'Record stock move for Rice 5kg' }).click();
  await expect(offerCard(bo.page, 'Rice 5kg', 'Ada Groceries')).toContainText('15 each available');
  // Search by name.
  await bo.page.getByLabel('Search offers').fill('saffron');
  await expect(offerCard(bo.page, 'Saffron', 'Bo Spices')).toBeVisible();
  await expect(offerCard(bo.page, 'Rice 5kg', 'Ada Groceries')).toBeHidden();
  // Network view shows the peer by shop name.
  await view(bo.page, 'Network');
  await expect(bo.page.getByRole('list', { name: 'Connected peers' })).toContainText('Ada Groceries');
  await ada.context.close();
  await bo.context.close();
});
