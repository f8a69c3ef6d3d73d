import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, expect, test, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { addProduct, createShop, fillStockMove, view } from './shop';

/**
 * A confirmed edit must be on disk when the UI confirms it. Closing the browser cleanly would
 * flush IndexedDB and hide an early confirmation, so this test starts Chromium itself (in its own
 * process group, on a profile directory, reached over the DevTools protocol), and the moment the
 * page shows the confirmation, a binding in this process SIGKILLs the whole group: no shutdown,
 * no flush. Then it starts Chromium again on the same profile and looks for the edit.
 *
 * What it can and cannot see (measured on the 2-core test machine, the node's write moved by hand
 * in a scratch copy): a confirmation that comes 10 ms or more before the write is issued went red
 * 7 of 8 times (20 ms and 50 ms: every time); a write issued at once but not awaited was caught
 * only about 1 time in 10, because the browser commits it within the few ms the kill takes to
 * follow the confirmation. A process kill leaves the OS page cache intact, so fsync (strict
 * durability) is not tested here at all. The old clean-close test stayed green with the write
 * 50 ms late.
 */

interface Launched {
  browser: Browser;
  context: BrowserContext;
  process: ChildProcess;
  /** SIGKILL to the browser's whole process group; returns when it is gone. */
  kill(): Promise<void>;
}

async function launch(executable: string, args: readonly string[], profile: string): Promise<Launched> {
  const child = spawn(executable, [...args, '--headless', `--user-data-dir=${profile}`, '--remote-debugging-port=0', 'about:blank'], {
    detached: true, // its own process group, so one kill reaches every Chromium process
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`Chromium did not start:\n${seen}`)), 30_000);
    child.once('exit', (code) => reject(new Error(`Chromium exited with ${code}:\n${seen}`)));
    child.stderr!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
  });
  const browser = await chromium.connectOverCDP(endpoint);
  const context = browser.contexts()[0]!;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    browser,
    context,
    process: child,
    async kill() {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // Already killed.
      }
      await exited;
      // Every process of that group is gone, not just the browser process.
      await expect.poll(() => processesInGroup(child.pid!), { timeout: 10_000 }).toEqual([]);
    },
  };
}

/** Pids still alive in process group `group` (Linux /proc). */
function processesInGroup(group: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid pgrp ...: comm may contain spaces, so read after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === group && fields[0] !== 'Z') pids.push(Number(entry));
    } catch {
      // The process went away while we looked.
    }
  }
  return pids;
}

async function open(context: BrowserContext, baseURL: string): Promise<Page> {
  const page = context.pages().find((p) => p.url() === 'about:blank') ?? (await context.newPage());
  await page.goto(baseURL);
  return page;
}

test('an edit the UI confirmed survives SIGKILL of the whole browser right after', async ({ baseURL }, testInfo) => {
  const executable = testInfo.project.use.launchOptions?.executablePath ?? '/usr/bin/chromium';
  const args = testInfo.project.use.launchOptions?.args ?? [];
  const profile = mkdtempSync(join(tmpdir(), 'souk-profile-'));
  let running: Launched | undefined;
  try {
    running = await launch(executable, args, profile);
    const page = await open(running.context, baseURL!);
    await createShop(page, 'Never Lost');
    await addProduct(page, { name: 'Sardines', price: '2.00', stock: 24 });

    // The kill fires from inside the page the instant the UI acts on the confirmation, not when a
    // polling assertion next looks: the adjust form is reset as soon as the node's promise
    // resolves (the new stock follows ~25 ms later, after the change notice), and whichever of
    // the two comes first triggers the kill.
    const victim = running;
    let signalledAt = 0;
    let killedAt = 0;
    let confirmed: (what: string) => void = () => {};
    const killed = new Promise<string>((resolve) => (confirmed = resolve));
    await page.exposeBinding('soukConfirmed', (_source, what: string) => {
      if (signalledAt) return;
      signalledAt = Date.now();
      process.kill(-victim.process.pid!, 'SIGKILL');
      killedAt = Date.now();
      confirmed(what);
    });
    await page.evaluate(() => {
      const signal = (window as unknown as { soukConfirmed(what: string): Promise<void> }).soukConfirmed;
      const form = document.querySelector('form[aria-label="Stock move for Sardines"]')!;
      form.addEventListener('reset', () => void signal('the stock move form was reset: stockMove resolved'));
      const observer = new MutationObserver(() => {
        const row = [...document.querySelectorAll('tr')].find((r) => r.textContent?.includes('Sardines'));
        if (row?.textContent?.includes('19 each')) void signal(`the row shows ${row.textContent}`);
      });
      observer.observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    await fillStockMove(page, 'Sardines', -5);
    await page.getByRole('button', { name: 'Record stock move for Sardines' }).click();
    const what = await killed;
    await running.kill();
    testInfo.annotations.push({ type: 'kill', description: `SIGKILL sent ${killedAt - signalledAt} ms after this process heard: ${what}` });
    await running.browser.close().catch(() => {});
    running = undefined;

    // The same profile, a new browser: the edit is there.
    running = await launch(executable, args, profile);
    const again = await open(running.context, baseURL!);
    await expect(again.getByRole('heading', { level: 1 })).toContainText('Never Lost');
    await view(again, 'Catalog');
    await expect(again.getByRole('row', { name: /Sardines/ })).toContainText('19 each');
    await running.kill();
    await running.browser.close().catch(() => {});
    running = undefined;
  } finally {
    if (running) await running.kill().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  }
});
