import { expect, test } from '@playwright/test';
import { createShop, offerCard, openSouk, view } from './shop';

const csv = (rows: string[]) => Buffer.from(['name,sku,unit,price,stock,offer_quantity,offer_price,shelf', ...rows].join('\n'));

test('a catalog CSV is checked whole, then imported with progress; its offers reach the marketplace', async ({ browser }) => {
  const { context, page } = await openSouk(browser);
  await createShop(page, 'Importer');
  await view(page, 'Catalog');
  const input = page.getByLabel('Import catalog (CSV)');

  await input.setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: csv(['Tea,T1,box,3.00,10,5,2.90,A1', 'Coffee,C1,bag,4.00,2,9,3.80,A2']) });
  await expect(page.getByRole('alert')).toHaveText('Nothing was imported: Line 3: Offered quantity (9) is more than stock (2)');
  await expect(page.getByText('No products yet.')).toBeVisible();

  const rows = Array.from({ length: 1200 }, (_, i) => `Item ${String(i).padStart(4, '0')},SKU${i},each,1.${String(i % 100).padStart(2, '0')},10,${i % 2 ? 4 : ''},,B${i % 9}`);
  await input.setInputFiles({ name: 'catalog.csv', mimeType: 'text/csv', buffer: csv(rows) });
  await expect(page.getByRole('progressbar', { name: 'Import progress' })).toBeVisible();
  await expect(page.getByRole('status').filter({ hasText: 'Imported' })).toHaveText('Imported 1200 products.', { timeout: 60_000 });
  await expect(page.getByRole('table').getByRole('caption')).toHaveText('Your products (first 100 of 1200)');
  await page.getByLabel('Search your products').fill('item 1199');
  await expect(page.getByRole('row', { name: /Item 1199/ })).toContainText('4 offered at');
  await view(page, 'Marketplace');
  await page.getByLabel('Search offers').fill('Item 0001');
  await expect(offerCard(page, 'Item 0001', 'Importer')).toContainText('1.01');
  await context.close();
});
