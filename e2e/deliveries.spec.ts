import { expect, test } from '@playwright/test';
import { openSouk } from './shop';

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
