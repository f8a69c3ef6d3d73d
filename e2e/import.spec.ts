import { expect, test } from '@playwright/test';
import { createShop, offerCard, openSouk, view } from './shop';

const csv = (rows: string[]) => Buffer.from(['name,sku,unit,price,stock,offer_quantity,offer_price,shelf', ...rows].join('\n'));

test('a catalog CSV is checked whole, then imported with progress; its offers reach the marketplace', async ({ browser }) => {
  const { context, page } = await openSouk(browser);
  await createShop(page, 'Importer');
  await view(page, 'Catalog');
  const input = page.getByLabel('Import catalog (CSV)');

  await input.setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: csv(['Tea,T1,box,3.00,10,5,2.90,A1', 'Coffee,C1,bag,4.00,2,9,3.80,A2']) });
  const bad = page.getByRole('region', { name: 'Import preview: bad.csv' });
  await expect(bad.getByRole('list', { name: 'Problems' }).getByRole('listitem')).toHaveText(['Line 3: Offered quantity (9) is more than stock (2)']);
  await expect(bad.getByRole('button', { name: 'Save import' })).toBeDisabled();
  await expect(page.getByText('No products yet.')).toBeVisible();

  const rows = Array.from({ length: 1200 }, (_, i) => `Item ${String(i).padStart(4, '0')},SKU${i},each,1.${String(i % 100).padStart(2, '0')},10,${i % 2 ? 4 : ''},,B${i % 9}`);
  await input.setInputFiles({ name: 'catalog.csv', mimeType: 'text/csv', buffer: csv(rows) });
  const preview = page.getByRole('region', { name: 'Import preview: catalog.csv' });
  await expect(preview).toHaveAccessibleDescription('1,200 new, 0 changed, 0 unchanged');
  // Saving may be quicker than a look: record whether an indeterminate progress bar was shown.
  await page.evaluate(() => {
    const seen = document.createElement('meta');
    new MutationObserver(() => {
      if (document.querySelector('progress[aria-label="Import progress"]:not([value])')) seen.name = 'saw-import-progress';
    }).observe(document.body, { childList: true, subtree: true });
    document.head.append(seen);
  });
  await preview.getByRole('button', { name: 'Save import' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Imported' })).toHaveText('Imported catalog.csv: 1,200 new, 0 changed, 0 unchanged.', { timeout: 60_000 });
  await expect(page.locator('meta[name="saw-import-progress"]')).toHaveCount(1);
  await expect(page.getByRole('table').getByRole('caption')).toHaveText('Your products (first 100 of 1200)');
  await page.getByLabel('Search your products').fill('item 1199');
  await expect(page.getByRole('row', { name: /Item 1199/ })).toContainText('4 offered at');
  await view(page, 'Marketplace');
  await page.getByLabel('Search offers').fill('Item 0001');
  await expect(offerCard(page, 'Item 0001', 'Importer')).toContainText('1.01');
  await context.close();
});
