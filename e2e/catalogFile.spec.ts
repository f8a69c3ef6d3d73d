import { readFile } from 'node:fs/promises';
import { expect, test, type Page } from '@playwright/test';
import { addProduct, openSouk, view } from './shop';

/** Creates a shop, choosing its currency with the picker. */
async function createShopIn(page: Page, name: string, currency: string): Promise<void> {
  const form = page.getByRole('form', { name: 'Create your shop' });
  await form.getByLabel('Shop name').fill(name);
  await form.getByLabel('Area').fill('Spice Market');
  const picker = form.getByRole('combobox', { name: 'Currency' });
  await expect(picker.getByRole('option', { name: `${currency} — ` })).toHaveCount(1);
  await picker.selectOption(currency);
  await form.getByRole('button', { name: 'Create shop' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText(name);
}

/** Clicks "Export catalog (CSV)" and returns the downloaded file's name and text. */
async function exportCatalog(page: Page): Promise<{ name: string; text: string }> {
  await view(page, 'Catalog');
  const downloading = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Export catalog (CSV)' }).click();
  const download = await downloading;
  return { name: download.suggestedFilename(), text: await readFile((await download.path())!, 'utf8') };
}

/** Picks a file for "Import catalog (CSV)" and returns the preview that appears. */
async function importFile(page: Page, name: string, text: string) {
  await page.getByLabel('Import catalog (CSV)').setInputFiles({ name, mimeType: 'text/csv', buffer: Buffer.from(text) });
  const preview = page.getByRole('region', { name: `Import preview: ${name}` });
  await expect(preview).toBeVisible();
  return preview;
}

/** Saving may be quicker than a look: marks the page (a meta tag) once an indeterminate "Import progress" bar shows. */
async function watchImportProgress(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen = document.createElement('meta');
    new MutationObserver(() => {
      if (document.querySelector('progress[aria-label="Import progress"]:not([value])')) seen.name = 'saw-import-progress';
    }).observe(document.body, { childList: true, subtree: true });
    document.head.append(seen);
  });
}

/** Adds a product by form, then closes the form again (addProduct opens it by toggling). */
async function addAndClose(page: Page, product: { name: string; sku: string; price: string; stock: number }): Promise<void> {
  await addProduct(page, product);
  await page.getByText('Add a product').click();
}

const productRow = (page: Page, name: string) => page.getByRole('table').getByRole('row', { name: new RegExp(`^${name}\\b`) });

test('a JPY catalog goes out as a file and back in through a preview; only "Save import" saves; the currency can change', async ({ browser }) => {
  const { context, page } = await openSouk(browser);
  await createShopIn(page, 'Yen Stall', 'JPY');

  // Amount fields say their currency and refuse decimals the yen has not got.
  await view(page, 'Catalog');
  await page.getByText('Add a product').click();
  const add = page.getByRole('form', { name: 'Add a product' });
  const price = add.getByLabel('Price', { exact: true });
  await expect(price).toHaveAttribute('inputmode', 'decimal');
  await expect(price).toHaveAccessibleDescription(/^In JPY, whole amounts \(no decimals\)/);
  await add.getByLabel('Name', { exact: true }).fill('Green tea');
  await price.fill('12.5');
  await add.getByRole('button', { name: 'Add product' }).click();
  await expect(price).toHaveAccessibleDescription(/Price "12\.5" has decimals, but JPY has none/);
  await page.getByText('Add a product').click();

  await addAndClose(page, { name: 'Green tea', sku: 'T1', price: '1200', stock: 10 });
  await addAndClose(page, { name: 'Rice', sku: 'R1', price: '800', stock: 5 });
  await addAndClose(page, { name: 'Dates', sku: 'D1', price: '450', stock: 8 });
  await expect(productRow(page, 'Green tea')).toContainText('¥1,200');
  await expect(productRow(page, 'Rice')).toContainText('¥800');

  // Out: the whole catalog, named after the shop and the day.
  const exported = await exportCatalog(page);
  expect(exported.name).toMatch(/^Yen-Stall-catalog-\d{4}-\d{2}-\d{2}\.csv$/);
  const lines = exported.text.replace(/^\ufeff/, '').split('\r\n');
  expect(lines[0]).toBe('name,sku,unit,price,stock,offer_quantity,offer_price,cost_price,shelf,supplier_notes,batches');
  expect(lines).toContain('Rice,R1,each,800,5,,,,,,');

  // Back in unchanged: nothing new, nothing changed, nothing to save.
  let preview = await importFile(page, exported.name, exported.text);
  await expect(preview).toHaveAccessibleDescription('0 new, 0 changed, 3 unchanged');
  const saveButton = preview.getByRole('button', { name: 'Save import' });
  await expect(saveButton).toBeDisabled();
  await expect(saveButton).toHaveAccessibleDescription(/^Nothing to save/);
  await preview.getByRole('button', { name: 'Cancel' }).click();
  await expect(preview).toBeHidden();

  // The file edited as a spreadsheet would: one price changed, one product added.
  const edited = exported.text.replace('Rice,R1,each,800,5,', 'Rice,R1,each,850,5,') + 'Figs,F1,box,300,7,,,,,,\r\n';
  preview = await importFile(page, 'edited.csv', edited);
  await expect(preview).toHaveAccessibleDescription('1 new, 1 changed, 2 unchanged');
  await expect(preview.getByRole('list', { name: 'Changed products' }).getByRole('listitem')).toHaveText(['Line 4: Rice — price']);
  // On a phone the preview fits the width.
  await page.setViewportSize({ width: 360, height: 740 });
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth)).toBe(true);
  await page.setViewportSize({ width: 1280, height: 720 });
  // Nothing is saved by the preview.
  await expect(productRow(page, 'Rice')).toContainText('¥800');
  await expect(page.getByRole('table').getByRole('row', { name: /^Figs/ })).toHaveCount(0);
  await watchImportProgress(page);
  await preview.getByRole('button', { name: 'Save import' }).click();
  await expect(page.getByRole('status').filter({ hasText: 'Imported' })).toHaveText('Imported edited.csv: 1 new, 1 changed, 2 unchanged.');
  await expect(preview).toBeHidden();
  await expect(page.locator('meta[name="saw-import-progress"]')).toHaveCount(1);
  await expect(productRow(page, 'Rice')).toContainText('¥850');
  await expect(productRow(page, 'Figs')).toContainText('¥300');
  await expect(productRow(page, 'Figs')).toContainText('7 box');
  await expect(page.getByRole('table').getByRole('caption')).toHaveText('Your products (4)');

  // A quote never closed: the line is named, the save button says why it cannot save, nothing is saved.
  const broken = ['name,sku,price,stock', 'Olives,O1,500,2', '"Cashews,C1,900,3', 'Nuts,N1,200,3', ''].join('\n');
  preview = await importFile(page, 'broken.csv', broken);
  await expect(preview.getByRole('list', { name: 'Problems' }).getByRole('listitem').first()).toHaveText(
    /^Line 3: a quoted cell starts here and its closing quote is missing/,
  );
  await expect(preview.getByRole('button', { name: 'Save import' })).toBeDisabled();
  await expect(preview.getByRole('button', { name: 'Save import' })).toHaveAccessibleDescription(/^Nothing can be saved: the file has a problem/);
  await preview.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByRole('table').getByRole('caption')).toHaveText('Your products (4)');
  await expect(page.getByRole('table').getByRole('row', { name: /^Olives/ })).toHaveCount(0);

  // The currency changes on the profile form: the figures are kept, with KWD's three decimals.
  await view(page, 'Network');
  const profile = page.getByRole('region', { name: 'Your shop' });
  await profile.getByText('Edit shop profile').click();
  const form = profile.getByRole('form', { name: 'Shop profile' });
  const currency = form.getByRole('combobox', { name: 'Currency' });
  await expect(currency).toHaveValue('JPY');
  await currency.selectOption('KWD');
  await expect(currency).toHaveAccessibleDescription(/keeps every price's figures: ¥1,250 becomes KWD\s1,250\.000.*does not convert at an exchange rate/);
  await form.getByRole('button', { name: 'Save shop profile' }).click();
  await expect(form.getByRole('status')).toHaveText('Saved. Prices are now in KWD, with their figures kept.');
  await view(page, 'Catalog');
  await expect(productRow(page, 'Rice')).toContainText('KWD\u00a0850.000');
  await page.getByRole('button', { name: 'Edit Rice' }).click();
  const editor = page.getByRole('form', { name: 'Edit Rice' });
  await expect(editor.getByLabel('Price', { exact: true })).toHaveValue('850.000');
  await expect(editor.getByLabel('Price', { exact: true })).toHaveAccessibleDescription(/^In KWD, up to 3 decimals/);
  await context.close();
});

test.describe('in German', () => {
  test.use({ locale: 'de-DE' });

  test('a price typed as "12,50" in EUR is 1250 cents, shown as 12,50 €', async ({ browser }) => {
    const { context, page } = await openSouk(browser);
    await createShopIn(page, 'Euro Laden', 'EUR');
    await addProduct(page, { name: 'Kaffee', sku: 'K1', price: '12,50', stock: 4 });
    await expect(productRow(page, 'Kaffee')).toContainText('12,50\u00a0€');
    // The stored amount, as the file writes it: 1250 cents.
    const exported = await exportCatalog(page);
    expect(exported.text.replace(/^\ufeff/, '').split('\r\n')).toContain('Kaffee,K1,each,12.50,4,,,,,,');
    // The editor gives it back with a decimal comma.
    await page.getByRole('button', { name: 'Edit Kaffee' }).click();
    const editor = page.getByRole('form', { name: 'Edit Kaffee' });
    await expect(editor.getByLabel('Price', { exact: true })).toHaveValue('12,50');
    await expect(editor.getByLabel('Price', { exact: true })).toHaveAccessibleDescription('In EUR, up to 2 decimals, like 12,50');
    await context.close();
  });
});
