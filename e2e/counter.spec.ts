import { expect, test } from '@playwright/test';
import { addProduct, createShop, openSouk, view } from './shop';

test('a counter sale and its undo: stock moves, the day’s takings follow', async ({ browser }) => {
  const { context, page } = await openSouk(browser);
  await createShop(page, 'Corner Counter');
  await addProduct(page, { name: 'Mint tea', price: '2.00', stock: 10, sku: 'MINT-1' });
  await addProduct(page, { name: 'Green tea', price: '3.00', stock: 5 });

  await view(page, 'Counter');
  const sale = page.getByRole('form', { name: 'Record a sale' });
  const today = page.getByRole('region', { name: "Today's sales" });
  await expect(today).toContainText('0 sales');
  // The SKU, typed as a scanner would, picks the product; its price is the default.
  await sale.getByRole('searchbox', { name: 'Search or scan a product' }).fill('MINT-1');
  await expect(sale.getByLabel('Product', { exact: true })).toHaveValue(/.+/);
  await expect(sale.getByLabel('Price', { exact: true })).toHaveValue('2.00');
  await sale.getByLabel('Quantity', { exact: true }).fill('3');
  await sale.getByRole('button', { name: 'Record sale' }).click();
  await expect(sale.getByRole('status')).toHaveText('Sold 3 each of Mint tea.');
  await expect(today).toContainText('1 sale');
  await expect(today).toContainText(/Takings \D*6\.00/);

  // A second sale at a price of its own.
  await sale.getByLabel('Quantity', { exact: true }).fill('1');
  await sale.getByLabel('Price', { exact: true }).fill('2.50');
  await sale.getByRole('button', { name: 'Record sale' }).click();
  await expect(today).toContainText('2 sales');
  await expect(today).toContainText(/Takings \D*8\.50/);
  // More than the stock is refused, saying why.
  await sale.getByLabel('Quantity', { exact: true }).fill('7');
  await sale.getByRole('button', { name: 'Record sale' }).click();
  await expect(sale.getByRole('alert')).toContainText('Only 6 each in stock; cannot sell 7');
  await expect(today).toContainText('2 sales');

  const moves = page.getByRole('list', { name: 'Stock moves today' });
  await expect(moves.getByRole('listitem')).toHaveCount(2);
  // Undo the newest sale (listed first): takings and stock go back.
  await moves.getByRole('button', { name: /^Undo sale of Mint tea/ }).first().click();
  await expect(today).toContainText('1 sale');
  await expect(today).toContainText(/Takings \D*6\.00/);
  await expect(moves.getByRole('listitem')).toHaveCount(3);
  await expect(moves.getByRole('button', { name: /^Undo sale of Mint tea/ })).toHaveCount(1);
  await expect(moves).toContainText('undone');

  await view(page, 'Catalog');
  await expect(page.getByRole('row', { name: /Mint tea/ })).toContainText('7 each');
  await context.close();
});

test('the catalog’s stock move and batches: receive a batch, see it near expiry, sell from it, history per product', async ({ browser }) => {
  const { context, page } = await openSouk(browser);
  await createShop(page, 'Batch Grocer');
  await addProduct(page, { name: 'Yoghurt', price: '1.20', stock: 0 });
  await page.getByRole('button', { name: 'Batches and history of Yoghurt' }).click();
  await page.locator('summary', { hasText: 'Receive batch' }).click();
  const receive = page.getByRole('form', { name: 'Receive a batch of Yoghurt' });
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  await receive.getByLabel('Quantity received').fill('12');
  await receive.getByLabel('Expires on').fill(tomorrow);
  await receive.getByLabel('Supplier (private)').fill('Dairy Omar');
  await receive.getByLabel(/invoice hash/).fill('ab'.repeat(32));
  await receive.getByRole('button', { name: 'Receive batch' }).click();
  await expect(receive.getByRole('status')).toContainText('the receipt is signed');
  await expect(page.getByRole('row', { name: /^Yoghurt/ })).toContainText('12 each');
  const batches = page.getByRole('table', { name: 'Batches of Yoghurt' });
  await expect(batches).toContainText('12 of 12 each');
  await expect(batches).toContainText('Dairy Omar');
  await expect(page.getByRole('alert', { name: 'Expiry alerts' })).toContainText(`Yoghurt: 12 each expire on ${tomorrow}`);

  // A sale through the stock move control takes from the batch.
  const move = page.getByRole('form', { name: 'Stock move for Yoghurt' });
  await move.getByRole('combobox', { name: 'Kind of stock move for Yoghurt' }).selectOption('sale');
  await move.getByLabel('Quantity moved for Yoghurt').fill('5');
  await move.getByRole('button', { name: 'Record stock move for Yoghurt' }).click();
  await expect(batches).toContainText('7 of 12 each');
  // Waste with a note; a correction by count.
  await move.getByRole('combobox', { name: 'Kind of stock move for Yoghurt' }).selectOption('waste');
  await move.getByLabel('Quantity moved for Yoghurt').fill('1');
  await move.getByLabel('Note for the stock move of Yoghurt').fill('lid broken');
  await move.getByRole('button', { name: 'Record stock move for Yoghurt' }).click();
  await move.getByRole('combobox', { name: 'Kind of stock move for Yoghurt' }).selectOption('correction');
  await move.getByLabel('Counted stock of Yoghurt').fill('5');
  await move.getByRole('button', { name: 'Record stock move for Yoghurt' }).click();
  await expect(page.getByRole('row', { name: /^Yoghurt/ })).toContainText('5 each');
  const history = page.getByRole('list', { name: 'Stock history of Yoghurt' });
  await expect(history.getByRole('listitem')).toHaveCount(4);
  await expect(history).toContainText('Correction · 6 → 5 each');
  await expect(history).toContainText('“lid broken”');
  await history.getByRole('button', { name: /^Undo correction of Yoghurt/ }).click();
  await expect(page.getByRole('row', { name: /^Yoghurt/ })).toContainText('6 each');
  await context.close();
});
