import { expect, test, type Page } from '@playwright/test';
import { addOffer, createShop, expectPeers, offerCard, openSouk, reserveOffer, view } from './shop';

async function deliveries(page: Page): Promise<void> {
  await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Deliveries' }).click();
}

/** A datetime-local value some hours from now, in local time. */
function inHours(hours: number): string {
  const d = new Date(Date.now() + hours * 3600_000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

test('roles: a driver sees Deliveries first and no Catalog, and announces capacity; a shop keeps its Catalog', async ({ browser }) => {
  const driver = await openSouk(browser);
  const page = driver.page;
  await page.getByLabel('Shop name').fill('Dara Deliveries');
  await page.getByLabel('Area').fill('Old Town');
  await page.getByLabel('Role').selectOption('driver');
  await page.getByRole('button', { name: 'Create shop' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Dara Deliveries');
  const nav = page.getByRole('navigation', { name: 'Views' });
  await expect(nav.getByRole('button').first()).toHaveText('Deliveries');
  await expect(nav.getByRole('button', { name: 'Catalog' })).toHaveCount(0);
  for (const name of ['Shop', 'Network', 'Radio', 'Storage']) await expect(nav.getByRole('button', { name })).toBeVisible();

  const form = page.getByRole('form', { name: 'Your capacity' });
  await form.getByLabel('Area').fill('New Town');
  await form.getByLabel('Load').fill('12');
  await form.getByLabel('Until').fill('2000-01-01T10:00');
  await form.getByRole('button', { name: 'Announce capacity' }).click();
  await expect(form.getByRole('alert')).toContainText(/Until/);
  const later = new Date(Date.now() + 6 * 3600_000);
  const pad = (n: number) => String(n).padStart(2, '0');
  await form.getByLabel('Until').fill(`${later.getFullYear()}-${pad(later.getMonth() + 1)}-${pad(later.getDate())}T${pad(later.getHours())}:${pad(later.getMinutes())}`);
  await form.getByRole('button', { name: 'Announce capacity' }).click();
  await expect(form.getByRole('status')).toHaveText('Capacity announced.');
  await expect(form).toContainText('Announced: New Town, load 12');
  await expect(page.getByRole('region', { name: 'Jobs offered' })).toContainText('No jobs offered yet.');

  // The role can be changed in the profile: a shop gets its Catalog back.
  await nav.getByRole('button', { name: 'Network' }).click();
  await page.getByText('Edit shop profile').click();
  await page.getByRole('form', { name: 'Shop profile' }).getByLabel('Role').selectOption('shop');
  await page.getByRole('button', { name: 'Save shop profile' }).click();
  await expect(nav.getByRole('button', { name: 'Catalog' })).toBeVisible();
  await expect(nav.getByRole('button').first()).toHaveText('Catalog');
  await nav.getByRole('button', { name: 'Deliveries' }).click();
  await expect(page.getByRole('region', { name: 'Your deliveries' })).toContainText('No deliveries yet.');
  await driver.context.close();
});

test('seller, buyer and driver: reserve → accept → fulfil → request delivery → accept → picked up → delivered, each step on every side', async ({ browser }) => {
  const seller = await openSouk(browser);
  const buyer = await openSouk(browser);
  const driver = await openSouk(browser);
  await createShop(seller.page, 'Hill Honey');
  await createShop(buyer.page, 'Valley Grocer', 'New Market');
  await driver.page.getByLabel('Shop name').fill('Dara Vans');
  await driver.page.getByLabel('Area').fill('Old Town');
  await driver.page.getByLabel('Role').selectOption('driver');
  await driver.page.getByRole('button', { name: 'Create shop' }).click();
  await expect(driver.page.getByRole('heading', { level: 1 })).toContainText('Dara Vans');
  const capacity = driver.page.getByRole('form', { name: 'Your capacity' });
  await capacity.getByLabel('Area').fill('new market');
  await capacity.getByLabel('Load').fill('20');
  await capacity.getByLabel('Until').fill(inHours(8));
  await capacity.getByRole('button', { name: 'Announce capacity' }).click();
  await expect(capacity.getByRole('status')).toHaveText('Capacity announced.');

  await addOffer(seller.page, { name: 'Honey', price: '7.00', stock: 10 }, 10, '7.00');
  await expectPeers(seller.page, 2);
  await view(buyer.page, 'Marketplace');
  await expect(offerCard(buyer.page, 'Honey', 'Hill Honey')).toContainText('10 each available', { timeout: 30_000 });
  await reserveOffer(buyer.page, 'Honey', 'Hill Honey', 3);

  await view(seller.page, 'Reservations');
  const sale = seller.page.getByRole('listitem', { name: /Request: 3 each Honey by Valley Grocer/ });
  await sale.getByRole('button', { name: 'Accept' }).click({ timeout: 30_000 });
  await sale.getByRole('button', { name: 'Fulfil' }).click();
  await expect(sale.getByRole('status', { name: 'State' })).toHaveText('Fulfilled — sold');

  // The seller asks for delivery; the driver who announced capacity in the buyer's area is proposed.
  await deliveries(seller.page);
  const toDeliver = seller.page.getByRole('listitem', { name: /Sale of 3 each Honey to Valley Grocer/ });
  await expect(toDeliver.getByRole('combobox', { name: 'Driver' })).toContainText('Dara Vans', { timeout: 30_000 });
  await toDeliver.getByRole('button', { name: 'Request delivery' }).click();
  const atSeller = seller.page.getByRole('listitem', { name: /Delivery of 3 each Honey from Hill Honey to Valley Grocer/ });
  await expect(atSeller).toContainText('Waiting for Dara Vans to accept');

  await deliveries(buyer.page);
  const atBuyer = buyer.page.getByRole('listitem', { name: /Delivery of 3 each Honey from Hill Honey to Valley Grocer/ });
  await expect(atBuyer).toContainText('Waiting for Dara Vans to accept', { timeout: 30_000 });

  const job = driver.page.getByRole('region', { name: 'Jobs offered' }).getByRole('listitem', { name: /Job: 3 each Honey from Hill Honey \(Old Town\) to Valley Grocer \(New Market\)/ });
  await job.getByRole('button', { name: 'Accept' }).click({ timeout: 30_000 });
  const mine = driver.page.getByRole('region', { name: 'Your jobs' }).getByRole('listitem', { name: /Job: 3 each Honey/ });
  await mine.getByRole('button', { name: 'Picked up' }).click();
  await expect(atSeller).toContainText('Picked up by Dara Vans', { timeout: 30_000 });
  await expect(atBuyer).toContainText('Picked up by Dara Vans', { timeout: 30_000 });
  await mine.getByRole('button', { name: 'Delivered' }).click();
  await expect(driver.page.getByRole('region', { name: 'Past jobs' })).toContainText('Delivered by Dara Vans');
  await expect(atSeller).toContainText('Delivered by Dara Vans', { timeout: 30_000 });
  await expect(atBuyer).toContainText('Delivered by Dara Vans', { timeout: 30_000 });
  await view(buyer.page, 'Reservations');
  await expect(buyer.page.getByRole('listitem', { name: /Your request: 3 each Honey from Hill Honey/ }).getByRole('status', { name: 'State' })).toHaveText('Delivered');
  for (const side of [seller, buyer, driver]) await side.context.close();
});
