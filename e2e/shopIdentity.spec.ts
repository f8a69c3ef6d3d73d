import { expect, test, type Page } from '@playwright/test';
import { addOffer, addProduct, createShop, offer, offerCardByKey, openSouk, ownShopKey, view } from './shop';

/** Arabic letters only (no spaces, no marks): each takes 2 bytes of UTF-8. */
function arabic(letters: number): string {
  const alphabet = 'سوقعسلتمرجبن';
  return Array.from({ length: letters }, (_, i) => alphabet[i % alphabet.length]).join('');
}

const LOOK_ALIKE = 'New shop using the name of a shop you know — check the key';

async function marketplace(page: Page): Promise<void> {
  await view(page, 'Marketplace');
  await expect(page.getByRole('region', { name: 'Marketplace' })).toBeVisible();
}

test('a look-alike shop is told apart by its key, flagged, and the merchant can trust the real one', async ({ browser }, testInfo) => {
  const a = await openSouk(browser);
  await createShop(a.page, 'Honest');
  const honestKey = await ownShopKey(a.page);
  await addOffer(a.page, { name: 'Honey Jar', price: '6.00', stock: 10 }, 10, '6.00');

  // B (on a phone) sees the first Honest before any other shop of that name exists.
  const b = await openSouk(browser);
  await b.page.setViewportSize({ width: 390, height: 844 });
  await createShop(b.page, 'Careful Buyer');
  await marketplace(b.page);
  const realCard = offerCardByKey(b.page, 'Honey Jar', 'Honest', honestKey);
  await expect(realCard).toContainText('6.00', { timeout: 45_000 });
  await expect(realCard).toContainText(`Shop key ${honestKey}`);

  // C signs a vault of its own with the very same name and product.
  const c = await openSouk(browser);
  await createShop(c.page, 'Honest', 'Elsewhere');
  const copyKey = await ownShopKey(c.page);
  expect(copyKey).not.toBe(honestKey);
  await addOffer(c.page, { name: 'Honey Jar', price: '5.00', stock: 10 }, 10, '5.00');

  const copyCard = offerCardByKey(b.page, 'Honey Jar', 'Honest', copyKey);
  await expect(copyCard).toContainText('5.00', { timeout: 45_000 });
  await expect(copyCard).toContainText(`Shop key ${copyKey}`);
  // The later one carries the warning, naming the original's key; the original carries none.
  const warning = copyCard.getByRole('alert');
  await expect(warning).toContainText(LOOK_ALIKE);
  await expect(warning).toContainText(honestKey);
  await expect(realCard.getByRole('alert')).toHaveCount(0);
  await expect(b.page.getByRole('list', { name: 'Offers' }).getByRole('listitem')).toHaveCount(2);
  await b.page.screenshot({ path: testInfo.outputPath('marketplace-look-alike-390.png'), fullPage: true });

  // The first Honest sees the copy flagged against its own shop.
  await marketplace(a.page);
  const copyAtA = offerCardByKey(a.page, 'Honey Jar', 'Honest', copyKey);
  await expect(copyAtA.getByRole('alert')).toContainText(LOOK_ALIKE, { timeout: 45_000 });
  await expect(copyAtA.getByRole('alert')).toContainText(`Your own shop has key ${honestKey}`);
  await expect(offerCardByKey(a.page, 'Honey Jar', 'Honest', honestKey)).toContainText('Your shop');

  // B marks the real Honest trusted from its offer card.
  await expect(realCard.getByText('Trusted', { exact: true })).toHaveCount(0);
  await realCard.getByRole('button', { name: `Trust Honest (${honestKey})` }).click();
  await expect(realCard.getByText('Trusted', { exact: true })).toBeVisible();
  await expect(realCard.getByRole('button', { name: `Stop trusting Honest (${honestKey})` })).toBeVisible();
  await expect(copyCard.getByText('Trusted', { exact: true })).toHaveCount(0);
  await expect(copyCard.getByRole('alert')).toContainText(honestKey);

  // The mark outlives a reload, and the Network view's vault list shows it too.
  await b.page.reload();
  await marketplace(b.page);
  await expect(realCard.getByText('Trusted', { exact: true })).toBeVisible({ timeout: 30_000 });
  await expect(copyCard.getByRole('alert')).toContainText(LOOK_ALIKE);
  await view(b.page, 'Network');
  const vaults = b.page.getByRole('list', { name: 'Vaults' });
  const realRow = vaults.getByRole('listitem', { name: `Honest, shop key ${honestKey}` });
  const copyRow = vaults.getByRole('listitem', { name: `Honest, shop key ${copyKey}` });
  await expect(realRow.getByText('Trusted', { exact: true })).toBeVisible();
  await expect(copyRow.getByRole('alert')).toContainText(honestKey);
  await expect(vaults.getByRole('listitem', { name: /^Careful Buyer, shop key/ })).toContainText('Your shop');
  await b.page.screenshot({ path: testInfo.outputPath('network-390.png'), fullPage: true });

  // Taken back from the vault list.
  await realRow.getByRole('button', { name: `Stop trusting Honest (${honestKey})` }).click();
  await expect(realRow.getByText('Trusted', { exact: true })).toHaveCount(0);
  await expect(realRow.getByRole('button', { name: `Trust Honest (${honestKey})` })).toBeVisible();

  // Peers are named from their proven vaults, with their keys.
  const peers = b.page.getByRole('list', { name: 'Connected peers' });
  await expect(peers).toContainText(honestKey);
  await expect(peers).toContainText(copyKey);
  for (const x of [a, b, c]) await x.context.close();
});

test('text limits are in bytes: a 75-letter Arabic shop name is refused next to the field, a 40-letter one works', async ({ browser }) => {
  const { context, page } = await openSouk(browser);
  const form = page.getByRole('form', { name: 'Create your shop' });
  const name = form.getByLabel('Shop name');

  await name.fill(arabic(75));
  await expect(name).toHaveAccessibleDescription('150 of 120 bytes — too long');
  await form.getByLabel('Area').fill('Old Town');
  await form.getByRole('button', { name: 'Create shop' }).click();
  const alert = form.getByRole('alert');
  await expect(alert).toHaveText(
    'Shop name is too long: 150 bytes, the limit is 120 (letters outside the Latin alphabet take 2 to 4 bytes each)',
  );
  await expect(name).toHaveAccessibleDescription(/Shop name is too long: 150 bytes/);
  await expect(name).toHaveAttribute('aria-invalid', 'true');
  // No shop was made.
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Souk');
  await expect(page.getByRole('banner').getByText(/Your shop key/)).toHaveCount(0);

  await name.fill(arabic(40));
  await expect(name).toHaveAccessibleDescription('80 of 120 bytes');
  await createShop(page, arabic(40));
  await ownShopKey(page);

  // The product form counts bytes too and says what is wrong next to the name.
  await view(page, 'Catalog');
  await page.getByText('Add a product').click();
  const add = page.getByRole('form', { name: 'Add a product' });
  const productName = add.getByLabel('Name', { exact: true });
  await productName.fill(arabic(121));
  await expect(productName).toHaveAccessibleDescription('242 of 240 bytes — too long');
  await add.getByLabel('Price', { exact: true }).fill('2.00');
  await add.getByRole('button', { name: 'Add product' }).click();
  await expect(productName).toHaveAccessibleDescription(/Name is too long: 242 bytes, the limit is 240/);
  await productName.fill(arabic(60));
  await expect(productName).toHaveAccessibleDescription('120 of 240 bytes');
  await add.getByRole('button', { name: 'Add product' }).click();
  await expect(page.getByRole('row', { name: new RegExp(arabic(60)) })).toBeVisible();
  // After the form is emptied for the next product, the counter follows.
  await expect(productName).toHaveValue('');
  await expect(productName).toHaveAccessibleDescription('0 of 240 bytes');

  // So does the shop profile editor.
  await view(page, 'Network');
  const profile = page.getByRole('region', { name: 'Your shop' });
  await profile.getByText('Edit shop profile').click();
  const edit = profile.getByRole('form', { name: 'Shop profile' });
  await edit.getByLabel('Shop name').fill(arabic(61));
  await expect(edit.getByLabel('Shop name')).toHaveAccessibleDescription('122 of 120 bytes — too long');
  await edit.getByRole('button', { name: 'Save shop profile' }).click();
  await expect(edit.getByRole('alert')).toHaveText(/^Shop name is too long: 122 bytes, the limit is 120/);
  await expect(page.getByRole('heading', { level: 1 })).toContainText(arabic(40));
  await edit.getByLabel('Shop name').fill('Dukkan');
  await edit.getByRole('button', { name: 'Save shop profile' }).click();
  await expect(page.getByRole('heading', { level: 1 })).toContainText('Dukkan');
  await context.close();
});

test('one offer that cannot be shown never takes the Marketplace down; shops still loading are counted', async ({ browser }) => {
  const { context, page } = await openSouk(browser);
  // Stands in for a value no check caught: once armed, the page's copy of the node's answer to a
  // marketplace read gets an offer whose name throws when read, and three shops still loading.
  await context.addInitScript(() => {
    const tamper = (data: unknown) => {
      const flag = (globalThis as { soukTamper?: boolean }).soukTamper;
      const value = (data as { value?: { offers?: unknown; loadingVaults?: unknown } } | null)?.value;
      if (!flag || !value || !Array.isArray(value.offers) || typeof value.loadingVaults !== 'number') return;
      value.loadingVaults = 3;
      for (const offer of value.offers as Record<string, unknown>[]) {
        if (offer.name === 'Bad Apple') {
          Object.defineProperty(offer, 'name', {
            get() {
              throw new Error('unreadable');
            },
          });
        }
      }
    };
    for (const proto of [MessagePort.prototype, Worker.prototype]) {
      const add = proto.addEventListener;
      proto.addEventListener = function (this: EventTarget, type: string, listener: unknown, options?: unknown) {
        if (type === 'message' && typeof listener === 'function') {
          const wrapped = function (this: unknown, event: MessageEvent) {
            tamper(event.data);
            return (listener as (e: MessageEvent) => unknown).call(this, event);
          };
          return add.call(this, type, wrapped as EventListener, options as AddEventListenerOptions);
        }
        return add.call(this, type, listener as EventListener, options as AddEventListenerOptions);
      } as typeof proto.addEventListener;
    }
  });
  await page.reload();
  await createShop(page, 'Sturdy Stall');
  await addOffer(page, { name: 'Good Bread', price: '2.00', stock: 5 }, 5, '2.00');
  await page.reload(); // addProduct opens the add form by toggling it: start from a closed one.
  await addProduct(page, { name: 'Bad Apple', price: '1.00', stock: 5 });
  await offer(page, 'Bad Apple', 5, '1.00');
  await marketplace(page);
  const offers = page.getByRole('list', { name: 'Offers' });
  await expect(offers.getByRole('listitem')).toHaveCount(2);
  await expect(page.getByText(/Loading \d+ shops?…/)).toHaveCount(0);

  await page.evaluate(() => {
    (globalThis as { soukTamper?: boolean }).soukTamper = true;
  });
  await page.getByLabel('Search offers').fill(' ');
  await expect(offers.getByText('This offer could not be shown.')).toBeVisible();
  await expect(offers.getByRole('listitem', { name: /^Good Bread from Sturdy Stall/ })).toContainText('2.00');
  await expect(page.getByRole('status').filter({ hasText: 'Loading 3 shops…' })).toBeVisible();
  await expect(page.getByRole('navigation', { name: 'Views' })).toBeVisible();

  // The next good answer shows the offer again.
  await page.evaluate(() => {
    (globalThis as { soukTamper?: boolean }).soukTamper = false;
  });
  await page.getByLabel('Search offers').fill('');
  await expect(offers.getByRole('listitem', { name: /^Bad Apple from Sturdy Stall/ })).toContainText('1.00');
  await expect(offers.getByText('This offer could not be shown.')).toHaveCount(0);
  await context.close();
});

test('a peer is named only from its proven shop: a node without a shop shows as such', async ({ browser }) => {
  const shop = await openSouk(browser);
  await createShop(shop.page, 'Named Stall');
  const bare = await openSouk(browser);
  const bareId = await bare.page.evaluate(async () => {
    const node = (globalThis as unknown as { soukNode: { view(): Promise<{ nodeId: string }> } }).soukNode;
    return (await node.view()).nodeId;
  });
  await view(shop.page, 'Network');
  const peers = shop.page.getByRole('list', { name: 'Connected peers' });
  await expect(peers.getByRole('listitem')).toHaveText(new RegExp(`^node ${bareId.slice(0, 8)} \\(no shop\\)`), { timeout: 45_000 });
  // The bare node sees the shop by its vault's name and key.
  await view(bare.page, 'Network');
  const shopKey = await ownShopKey(shop.page);
  await expect(bare.page.getByRole('list', { name: 'Connected peers' }).getByRole('listitem')).toContainText(`Named Stall Shop key ${shopKey}`);
  await shop.context.close();
  await bare.context.close();
});
