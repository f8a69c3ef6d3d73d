import { readFileSync, writeFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { createShop, openSouk } from './shop';

test('a new version is installed in the background and used only when the merchant says so', async ({ browser }) => {
  const { context, page } = await openSouk(browser);
  await createShop(page, 'Updating Stall');
  await expect.poll(() => page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
  const firstScript = await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.active!.scriptURL);

  const swPath = 'dist/sw.js';
  const original = readFileSync(swPath, 'utf8');
  try {
    // A new deployment: the service worker's bytes change.
    writeFileSync(swPath, `${original}\n// next release\n`);
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.update());
    const prompt = page.getByRole('alertdialog', { name: 'Update available' });
    await expect(prompt).toContainText('A new version of Souk is ready.');
    // Nothing switched yet: the new version waits.
    expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.waiting !== null)).toBe(true);
    await prompt.getByRole('button', { name: 'Later' }).click();
    await expect(prompt).toBeHidden();
    await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.update());
    await page.reload();
    await expect(page.getByRole('alertdialog', { name: 'Update available' })).toBeVisible();
    const reloaded = page.waitForEvent('load');
    await page.getByRole('button', { name: 'Reload to update' }).click();
    await reloaded;
    await expect.poll(() => page.evaluate(async () => (await navigator.serviceWorker.getRegistration())?.waiting === null)).toBe(true);
    await expect(page.getByRole('heading', { level: 1 })).toContainText('Updating Stall');
    await expect(page.getByRole('alertdialog', { name: 'Update available' })).toBeHidden();
    expect(await page.evaluate(async () => (await navigator.serviceWorker.getRegistration())!.active!.scriptURL)).toBe(firstScript);
  } finally {
    writeFileSync(swPath, original);
    await context.close();
  }
});
