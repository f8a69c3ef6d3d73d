import type { Browser, Page } from '@playwright/test';
import type { NodeView } from '../src/core/node/nodeView';
import { catalogCsvText, PRODUCTS } from './importBench';

async function nodeView(page: Page): Promise<NodeView> {
  await page.waitForFunction(() => 'soukNode' in globalThis);
  return page.evaluate(() => (globalThis as unknown as { soukNode: { view(): Promise<NodeView> } }).soukNode.view());
}

/** A fresh browser profile with a shop of this name, its node reachable as `soukNode`. */
export async function openShop(browser: Browser, baseURL: string, name: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(baseURL);
  await page.getByLabel('Shop name').fill(name);
  await page.getByLabel('Area').fill('Bench Town');
  await page.getByRole('button', { name: 'Create shop' }).click();
  await page.getByRole('heading', { level: 1, name: new RegExp(name) }).waitFor({ timeout: 60_000 });
  await page.waitForFunction(() => 'soukNode' in globalThis, undefined, { timeout: 60_000 });
  return page;
}

/** Sends `total` bytes over an in-page loopback data channel with the same backpressure rule as Souk. */
async function rawDataChannel(page: Page, total: number): Promise<number> {
  return page.evaluate(async (total) => {
    const a = new RTCPeerConnection({ iceServers: [] });
    const b = new RTCPeerConnection({ iceServers: [] });
    a.onicecandidate = (e) => e.candidate && void b.addIceCandidate(e.candidate);
    b.onicecandidate = (e) => e.candidate && void a.addIceCandidate(e.candidate);
    const channel = a.createDataChannel('raw', { ordered: true });
    channel.binaryType = 'arraybuffer';
    const received = new Promise<number>((resolve) => {
      b.ondatachannel = (event) => {
        let got = 0;
        event.channel.binaryType = 'arraybuffer';
        event.channel.onmessage = (m) => {
          got += (m.data as ArrayBuffer).byteLength;
          if (got >= total) resolve(performance.now());
        };
      };
    });
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription!);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription!);
    await new Promise((resolve) => (channel.onopen = resolve));
    const piece = new Uint8Array(64 * 1024);
    channel.bufferedAmountLowThreshold = 64 * 1024;
    const start = performance.now();
    for (let sent = 0; sent < total; sent += piece.length) {
      if (channel.bufferedAmount > 64 * 1024) await new Promise((resolve) => (channel.onbufferedamountlow = resolve));
      channel.send(piece.subarray(0, Math.min(piece.length, total - sent)));
    }
    const end = await received;
    a.close();
    b.close();
    return end - start;
  }, total);
}

/** A fresh peer catches up a 10,000-product catalog over WebRTC. */
export async function catchup(browser: Browser, baseURL: string): Promise<void> {
  const seller = await openShop(browser, baseURL, 'Bench Seller');
  await seller.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Catalog' }).click();
  await seller.getByLabel('Import catalog (CSV)').setInputFiles({ name: 'catalog.csv', mimeType: 'text/csv', buffer: Buffer.from(catalogCsvText(PRODUCTS)) });
  await seller.getByRole('button', { name: 'Save import' }).click({ timeout: 300_000 });
  await seller.getByText(`${PRODUCTS.toLocaleString('en-US')} new`).first().waitFor({ timeout: 300_000 });
  await seller.getByText(/^Imported /).waitFor({ timeout: 300_000 });
  const sellerView = await nodeView(seller);
  const vault = sellerView.shop!.vaultId;
  const counter = sellerView.vaults.find((v) => v.vaultId === vault)!.counter;

  const buyer = await (await browser.newContext()).newPage();
  await buyer.goto(baseURL);
  await buyer.waitForFunction(() => 'soukNode' in globalThis);
  // Polled inside the page (no round trip to Playwright), recording when the seller's bytes arrive.
  const { view, samples } = await buyer.evaluate(
    async ({ vault, counter, products }) => {
      const node = (globalThis as unknown as { soukNode: { view(): Promise<NodeView> } }).soukNode;
      const samples: [number, number][] = [];
      for (;;) {
        const view = await node.view();
        const link = view.peers.find((p) => p.shopVaultId === vault);
        if (link) samples.push([Date.now() - link.connectedAt, link.bytesIn]);
        const copy = view.vaults.find((v) => v.vaultId === vault);
        if (copy && copy.counter === counter && copy.offers === products) return { view, samples };
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    { vault, counter, products: PRODUCTS },
  );
  const link = view.peers.find((p) => p.shopVaultId === vault)!;
  const copy = view.vaults.find((v) => v.vaultId === vault)!;
  const ms = copy.asOf - link.connectedAt;
  const bytes = link.bytesIn;
  // The timeline as the buyer saw it: the bundle's first bytes (past the hello, proof and heads), the last, and acceptance.
  const first = samples.find(([, b]) => b > 16 * 1024)?.[0];
  const last = samples.find(([, b]) => b >= bytes)?.[0];
  const ref = await rawDataChannel(buyer, bytes);
  console.log(`# catchup: ${PRODUCTS} products, ${bytes} bytes received over the link; ref sends the same bytes raw over a loopback data channel`);
  console.log(`# catchup: after the link opened (ms, polled every ~5 ms): bundle's first 16 KiB in by ${first ?? '?'}, all bytes in by ${last ?? '?'}, vault accepted at ${Math.round(ms)}`);
  console.log(`BENCH catchup ${Math.round(ms)} ms ref=${Math.round(ref)} ms ratio=${(ms / ref).toFixed(2)}`);
}
