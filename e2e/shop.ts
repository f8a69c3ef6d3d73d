import { expect, type Browser, type BrowserContext, type Page } from '@playwright/test';

/** Opens Souk in a fresh browser profile (context). */
export async function openSouk(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto('/');
  await expect(page.getByRole('navigation', { name: 'Views' })).toBeVisible();
  return { context, page };
}

export async function createShop(page: Page, name: string, area = 'Old Town'): Promise<void> {
  await page.getByLabel('Shop name').fill(name);
  await page.getByLabel('Area').fill(area);
  await page.getByRole('button', { name: 'Create shop' }).click();
  try {
    await expect(page.getByRole('heading', { level: 1 })).toContainText(name);
  } catch (error) {
    // Say what the page showed instead: an alert, or a form still waiting on the node.
    const alerts = await page.getByRole('alert').allInnerTexts().catch(() => []);
    const busy = await page.getByRole('button', { name: 'Create shop' }).isDisabled().catch(() => null);
    throw new Error(`the shop "${name}" did not open; alerts: ${JSON.stringify(alerts)}; Create shop button disabled: ${busy}\n${String(error)}`);
  }
}

export async function view(page: Page, name: 'Catalog' | 'Counter' | 'Marketplace' | 'Network' | 'Reservations'): Promise<void> {
  await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name }).click();
}

export async function addProduct(page: Page, product: { name: string; price: string; stock: number; sku?: string }): Promise<void> {
  await view(page, 'Catalog');
  const form = page.getByRole('form', { name: 'Add a product' });
  // The form stays open after an add: open it only when it is closed.
  if (!(await form.isVisible())) await page.getByText('Add a product').click();
  await form.getByLabel('Name', { exact: true }).fill(product.name);
  await form.getByLabel('SKU', { exact: true }).fill(product.sku ?? '');
  await form.getByLabel('Price', { exact: true }).fill(product.price);
  await form.getByLabel('Stock', { exact: true }).fill(String(product.stock));
  await form.getByRole('button', { name: 'Add product' }).click();
  await expect(page.getByRole('row', { name: new RegExp(product.name) })).toBeVisible();
}

/** Offers (or re-prices) a product through its editor. */
export async function offer(page: Page, name: string, quantity: number, price: string): Promise<void> {
  await view(page, 'Catalog');
  await page.getByRole('button', { name: `Edit ${name}` }).click();
  const editor = page.getByRole('form', { name: `Edit ${name}` });
  const box = editor.getByRole('checkbox', { name: 'Offer to the network' });
  if (!(await box.isChecked())) await box.check();
  await editor.getByLabel('Offered quantity').fill(String(quantity));
  await editor.getByLabel(/Offer price/).fill(price);
  await editor.getByRole('button', { name: 'Save' }).click();
  await expect(editor).toBeHidden();
}

export function offerCard(page: Page, product: string, seller: string) {
  return page.getByRole('list', { name: 'Offers' }).getByRole('listitem', { name: `${product} from ${seller}` });
}

export async function expectPeers(page: Page, count: number): Promise<void> {
  await expect(page.getByRole('status', { name: 'Sync status' })).toContainText(`${count} ${count === 1 ? 'peer' : 'peers'}`, { timeout: 30_000 });
}

/** Adds a product and offers it to the network in one step. */
export async function addOffer(page: Page, product: { name: string; price: string; stock: number }, quantity: number, price: string): Promise<void> {
  await addProduct(page, product);
  await offer(page, product.name, quantity, price);
}

/** The fingerprint of this profile's own shop key ("a1b2-c3d4-e5f6"), as the header shows it. */
export async function ownShopKey(page: Page): Promise<string> {
  const key = page.getByRole('banner').getByText(/^Your shop key/);
  await expect(key).toHaveText(/^Your shop key [0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}$/);
  return ((await key.textContent()) ?? '').replace('Your shop key', '').trim();
}

/** One shop's offer card, told apart from look-alikes by the shop's key fingerprint. */
export function offerCardByKey(page: Page, product: string, seller: string, fingerprint: string) {
  return page.getByRole('list', { name: 'Offers' }).getByRole('listitem', { name: `${product} from ${seller}, shop key ${fingerprint}`, exact: true });
}

// ---- A shop on several devices, backups (e2e/devices, backup, upgrade specs).

/** Opens the "Shop" view: the shop's devices and backup. */
export async function shopView(page: Page): Promise<void> {
  await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Shop', exact: true }).click();
}

/** On the root device: "Add a device", and the pairing code it shows. */
export async function startAddingDevice(page: Page): Promise<string> {
  await shopView(page);
  await page.getByRole('button', { name: 'Add a device', exact: true }).click();
  const code = page.getByRole('region', { name: 'Add a device' }).locator('code.pairing-code');
  await expect(code).toHaveText(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]$/);
  return (await code.textContent())!.trim();
}

/** On a device with no shop: "Join a shop" with a name for this device, ready for a code. */
export async function openJoinShop(page: Page, deviceName: string): Promise<void> {
  await page.getByRole('button', { name: 'Join a shop' }).click();
  await page.getByLabel('Name for this device').fill(deviceName);
}

/** On a device with no shop: joins by typing the pairing code. */
export async function joinByCode(page: Page, code: string, deviceName: string): Promise<void> {
  await openJoinShop(page, deviceName);
  await page.getByRole('textbox', { name: 'Pairing code' }).fill(code);
  await page.getByRole('button', { name: 'Join', exact: true }).click();
}

/** Sells (delta < 0) or receives (delta > 0) stock through the catalog's "Stock move" control. */
export async function adjustStock(page: Page, product: string, delta: number): Promise<void> {
  await view(page, 'Catalog');
  await fillStockMove(page, product, delta);
  await page.getByRole('button', { name: `Record stock move for ${product}` }).click();
}

/** Fills a product's "Stock move" control: a sale of -delta, or a delivery received of delta. */
export async function fillStockMove(page: Page, product: string, delta: number): Promise<void> {
  const form = page.getByRole('form', { name: `Stock move for ${product}` });
  await form.getByRole('combobox', { name: `Kind of stock move for ${product}` }).selectOption(delta > 0 ? 'received' : 'sale');
  await form.getByLabel(`Quantity moved for ${product}`).fill(String(Math.abs(delta)));
}

/** Waits until the page is controlled by the service worker (so it loads again with no network). */
export async function whenOfflineReady(page: Page): Promise<void> {
  await page.evaluate(() => navigator.serviceWorker.ready);
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
}

/** Reserves a quantity of another shop's offer from the Marketplace, with a note, and waits for "Request sent". */
export async function reserveOffer(page: Page, product: string, seller: string, quantity: number, note = ''): Promise<void> {
  await view(page, 'Marketplace');
  const card = offerCard(page, product, seller);
  await expect(card).toBeVisible({ timeout: 30_000 });
  await card.getByRole('button', { name: `Reserve ${product}` }).click();
  const form = card.getByRole('form', { name: `Reserve ${product}` });
  await form.getByLabel(/Quantity/).fill(String(quantity));
  if (note) await form.getByLabel('Note to the seller').fill(note);
  await form.getByRole('button', { name: 'Send request' }).click();
  await expect(form.getByRole('status')).toContainText('Request sent');
}

/** The trade specs' market: Hill Honey (Old Town) offering 10 Honey at 7.00, and Valley Grocer (New Market) to buy it. */
export async function honeyMarket(browser: Browser): Promise<{ seller: { context: BrowserContext; page: Page }; buyer: { context: BrowserContext; page: Page } }> {
  const seller = await openSouk(browser);
  const buyer = await openSouk(browser);
  await createShop(seller.page, 'Hill Honey');
  await createShop(buyer.page, 'Valley Grocer', 'New Market');
  await addOffer(seller.page, { name: 'Honey', price: '7.00', stock: 10 }, 10, '7.00');
  return { seller, buyer };
}
