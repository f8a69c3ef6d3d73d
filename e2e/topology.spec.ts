import { expect, test } from '@playwright/test';
import { addOffer, createShop, expectPeers, offer, offerCard, openSouk, view } from './shop';

async function setMaxConnections(page: import('@playwright/test').Page, max: number): Promise<void> {
  await view(page, 'Network');
  await page.getByLabel('Maximum connections').fill(String(max));
  await page.getByRole('button', { name: 'Save network settings' }).click();
  await expect(page.getByRole('form', { name: 'Network settings' }).getByRole('status')).toHaveText('Saved.');
}

test('(b) A and C never link directly, yet converge through B', async ({ browser }) => {
  const a = await openSouk(browser);
  await createShop(a.page, 'Ada Corner');
  await addOffer(a.page, { name: 'Olive oil', price: '9.00', stock: 12 }, 10, '8.50');
  await setMaxConnections(a.page, 1);

  const b = await openSouk(browser);
  await createShop(b.page, 'Bo Middle');
  await expectPeers(b.page, 1);

  const c = await openSouk(browser);
  await createShop(c.page, 'Cy Far');
  await addOffer(c.page, { name: 'Figs', price: '4.00', stock: 30 }, 20, '3.75');
  await expectPeers(c.page, 1);

  await view(c.page, 'Marketplace');
  await view(a.page, 'Marketplace');
  await expect(offerCard(c.page, 'Olive oil', 'Ada Corner')).toContainText('8.50');
  await expect(offerCard(a.page, 'Figs', 'Cy Far')).toContainText('3.75');
  await offer(a.page, 'Olive oil', 10, '8.10');
  await view(a.page, 'Network');
  await expect(a.page.getByRole('list', { name: 'Connected peers' }).getByRole('listitem')).toHaveCount(1);
  await expect(a.page.getByRole('list', { name: 'Connected peers' })).toContainText('Bo Middle');
  await view(c.page, 'Network');
  await expect(c.page.getByRole('list', { name: 'Connected peers' }).getByRole('listitem')).toHaveCount(1);
  await expect(c.page.getByRole('list', { name: 'Connected peers' })).not.toContainText('Ada Corner');
  await view(c.page, 'Marketplace');
  await expect(offerCard(c.page, 'Olive oil', 'Ada Corner')).toContainText('8.10');
  for (const x of [a, b, c]) await x.context.close();
});

test('(e) a peer that tampers with changes is refused and the true offer shows', async ({ browser }) => {
  const owner = await openSouk(browser);
  await createShop(owner.page, 'True Honey');
  await addOffer(owner.page, { name: 'Honey', price: '7.00', stock: 9 }, 9, '7.00');
  await setMaxConnections(owner.page, 1);

  // The rogue is a Souk node whose data channels flip the last byte of every vault bundle it sends.
  const rogueContext = await browser.newContext();
  await rogueContext.addInitScript(() => {
    const send = RTCDataChannel.prototype.send;
    RTCDataChannel.prototype.send = function (this: RTCDataChannel, data: never) {
      const view = data as unknown as Uint8Array;
      if (ArrayBuffer.isView(view) && view[0] === 0x53 && view[1] === 0x4b && view[2] === 3 && view[3] === 4) {
        const copy = new Uint8Array(view);
        copy[copy.length - 1] = copy[copy.length - 1]! ^ 0xff;
        return send.call(this, copy as never);
      }
      return send.call(this, data);
    } as typeof send;
  });
  const roguePage = await rogueContext.newPage();
  await roguePage.goto('/');
  await createShop(roguePage, 'Rogue Relay');
  await addOffer(roguePage, { name: 'Fake saffron', price: '1.00', stock: 5 }, 5, '1.00');
  await view(roguePage, 'Marketplace');
  await expect(offerCard(roguePage, 'Honey', 'True Honey')).toContainText('7.00');

  // The victim can only reach the rogue at first: the owner is full.
  const victim = await openSouk(browser);
  await createShop(victim.page, 'Careful Buyer');
  await view(victim.page, 'Network');
  await expect(victim.page.getByRole('list', { name: 'Refusals' })).toContainText(/changes for vault .* refused/);
  await view(victim.page, 'Marketplace');
  await expect(offerCard(victim.page, 'Honey', 'True Honey')).toBeHidden();

  // The owner makes room; the true vault arrives from its author.
  await setMaxConnections(owner.page, 6);
  await expect(offerCard(victim.page, 'Honey', 'True Honey')).toContainText('7.00', { timeout: 30_000 });
  await expect(offerCard(victim.page, 'Fake saffron', 'Rogue Relay')).toBeHidden();
  for (const context of [owner.context, rogueContext, victim.context]) await context.close();
});

test('changing the network name leaves one network and joins another', async ({ browser }) => {
  const a = await openSouk(browser);
  const b = await openSouk(browser);
  await createShop(a.page, 'Market Hopper');
  await createShop(b.page, 'Stays Put');
  await expectPeers(a.page, 1);
  await view(a.page, 'Network');
  await a.page.getByLabel('Network name').fill('night-market');
  await a.page.getByRole('button', { name: 'Save network settings' }).click();
  await expectPeers(a.page, 0);
  await expectPeers(b.page, 0);
  await expect(a.page.getByRole('status', { name: 'Sync status' })).toContainText('network night-market');
  await a.page.getByLabel('Network name').fill('souk-local');
  await a.page.getByRole('button', { name: 'Save network settings' }).click();
  await expectPeers(a.page, 1);
  await a.page.getByLabel('Network name').fill('no spaces allowed');
  await a.page.getByRole('button', { name: 'Save network settings' }).click();
  await expect(a.page.getByRole('form', { name: 'Network settings' }).getByRole('alert')).toContainText('Network name: 1 to 64 letters');
  await a.context.close();
  await b.context.close();
});
