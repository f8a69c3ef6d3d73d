import { expect, test, type Page } from '@playwright/test';
import { expectPeers, honeyMarket, offerCard, reserveOffer, view } from './shop';

/** A reservation's card as one side lists it. */
function reservation(page: Page, label: RegExp) {
  return page.getByRole('listitem', { name: label });
}


test('reserve → accept by hand → fulfil between two shops, each step visible on both sides', async ({ browser }) => {
  const { seller, buyer } = await honeyMarket(browser);
  await expectPeers(buyer.page, 1);
  await view(buyer.page, 'Marketplace');
  await expect(offerCard(buyer.page, 'Honey', 'Hill Honey')).toContainText('10 each available', { timeout: 30_000 });

  await reserveOffer(buyer.page, 'Honey', 'Hill Honey', 3, 'for the Friday market');
  await view(buyer.page, 'Reservations');
  const asBuyer = reservation(buyer.page, /Your request: 3 each Honey from Hill Honey/);
  // The seller answers by hand (the default rule): the node marks it seen.
  await expect(asBuyer.getByRole('status', { name: 'State' })).toHaveText(/Seen by the seller/, { timeout: 30_000 });

  await view(seller.page, 'Reservations');
  const asSeller = reservation(seller.page, /Request: 3 each Honey by Valley Grocer/);
  await expect(asSeller).toContainText('for the Friday market');
  await expect(asSeller.getByRole('status', { name: 'State' })).toHaveText('Waiting for your answer');
  await asSeller.getByRole('button', { name: 'Accept' }).click();
  await expect(asSeller.getByRole('status', { name: 'State' })).toHaveText(/Accepted — held until/);
  await expect(asBuyer.getByRole('status', { name: 'State' })).toHaveText(/Accepted — held until/, { timeout: 30_000 });
  // The hold leaves the offer at once, on the buyer's marketplace too.
  await view(buyer.page, 'Marketplace');
  await expect(offerCard(buyer.page, 'Honey', 'Hill Honey')).toContainText('7 each available', { timeout: 30_000 });

  // A message each way.
  await view(buyer.page, 'Reservations');
  await asBuyer.getByRole('textbox', { name: 'Message' }).fill('I will come at noon');
  await asBuyer.getByRole('button', { name: 'Send' }).click();
  await expect(asSeller.getByRole('list', { name: 'Messages' })).toContainText('I will come at noon', { timeout: 30_000 });

  await asSeller.getByRole('button', { name: 'Fulfil' }).click();
  await expect(asSeller.getByRole('status', { name: 'State' })).toHaveText('Fulfilled — sold');
  await expect(asBuyer.getByRole('status', { name: 'State' })).toHaveText('Fulfilled — sold', { timeout: 30_000 });
  // Stock moved once: 7 left, and the offer stays at 7.
  await view(seller.page, 'Catalog');
  await expect(seller.page.getByRole('row', { name: /Honey/ })).toContainText('7');
  await view(buyer.page, 'Marketplace');
  await expect(offerCard(buyer.page, 'Honey', 'Hill Honey')).toContainText('7 each available');
  await seller.context.close();
  await buyer.context.close();
});

test('a reservation made while the seller is offline completes once the seller is back', async ({ browser }) => {
  const { seller, buyer } = await honeyMarket(browser);
  await view(seller.page, 'Reservations');
  const rules = seller.page.getByRole('form', { name: 'Reservation rules' });
  await rules.getByLabel(/Accept automatically up to/).fill('5');
  await rules.getByRole('button', { name: 'Save rules' }).click();
  await expect(rules.getByRole('status')).toHaveText('Rules saved');
  await view(buyer.page, 'Marketplace');
  await expect(offerCard(buyer.page, 'Honey', 'Hill Honey')).toContainText('10 each available', { timeout: 30_000 });

  // The seller closes Souk: its node stops with its last page.
  await seller.page.close();
  await expectPeers(buyer.page, 0);
  await reserveOffer(buyer.page, 'Honey', 'Hill Honey', 2, 'when you open');
  await view(buyer.page, 'Reservations');
  const asBuyer = reservation(buyer.page, /Your request: 2 each Honey from Hill Honey/);
  await expect(asBuyer.getByRole('status', { name: 'State' })).toHaveText('Sent — waiting for the seller');

  // The seller comes back: its node answers by its rule.
  const back = await seller.context.newPage();
  await back.goto('/');
  await expect(asBuyer.getByRole('status', { name: 'State' })).toHaveText(/Accepted — held until/, { timeout: 60_000 });
  await view(back, 'Reservations');
  await expect(reservation(back, /Request: 2 each Honey by Valley Grocer/).getByRole('status', { name: 'State' })).toHaveText(/Accepted/);
  await seller.context.close();
  await buyer.context.close();
});
