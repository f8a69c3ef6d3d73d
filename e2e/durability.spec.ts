import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, expect, test } from '@playwright/test';
import { addProduct, createShop, view } from './shop';

test('an edit the UI confirmed survives the browser being killed right after', async ({ baseURL }, testInfo) => {
  const profile = mkdtempSync(join(tmpdir(), 'souk-profile-'));
  const launch = () =>
    chromium.launchPersistentContext(profile, {
      executablePath: testInfo.project.use.launchOptions?.executablePath,
      args: testInfo.project.use.launchOptions?.args,
      baseURL,
    });
  try {
    let context = await launch();
    let page = context.pages()[0] ?? (await context.newPage());
    await page.goto('/');
    await createShop(page, 'Never Lost');
    await addProduct(page, { name: 'Sardines', price: '2.00', stock: 24 });
    await page.getByLabel('Stock change for Sardines').fill('-5');
    await page.getByRole('button', { name: 'Adjust stock of Sardines' }).click();
    await expect(page.getByRole('row', { name: /Sardines/ })).toContainText('19 each');
    // Confirmed on screen: now the whole browser goes away at once.
    await context.close();

    context = await launch();
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto('/');
    await expect(page.getByRole('heading', { level: 1 })).toContainText('Never Lost');
    await view(page, 'Catalog');
    await expect(page.getByRole('row', { name: /Sardines/ })).toContainText('19 each');
    await context.close();
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
});
