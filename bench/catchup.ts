import type { Browser, Page } from '@playwright/test';
import type { NodeView } from '../src/core/node/nodeView';

const PRODUCTS = 10_000;

function catalogCsv(count: number): string {
  const lines = ['name,sku,unit,price,stock,offer_quantity,offer_price,cost_price,shelf,supplier_notes,expires_on'];
  for (let i = 0; i < count; i++) {
    const n = String(i).padStart(5, '0');
    lines.push(`Product ${n},SKU-${n},each,${(1 + (i % 500) / 10).toFixed(2)},${50 + (i % 100)},${10 + (i % 40)},${(1 + (i % 450) / 10).toFixed(2)},0.50,Aisle ${i % 30},Supplier ${i % 17},2027-0${1 + (i % 9)}-1${i % 10}`);
  }
  return lines.join('\n');
}

async function nodeView(page: Page): Promise<NodeView> {
  await page.waitForFunction(() => 'soukNode' in globalThis);
  return page.evaluate(() => (globalThis as unknown as { soukNode: { view(): Promise<NodeView> } }).soukNode.view());
}

async function openShop(browser: Browser, baseURL: string, name: string): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(baseURL);
  await page.getByLabel('Shop name').fill(name);
  await page.getByLabel('Area').fill('Bench Town');
  await page.getByRole('button', { name: 'Create shop' }).click();
  await page.getByRole('heading', { level: 1, name: new RegExp(name) }).waitFor();
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
  await seller.getByLabel('Import catalog (CSV)').setInputFiles({ name: 'catalog.csv', mimeType: 'text/csv', buffer: Buffer.from(catalogCsv(PRODUCTS)) });
  await seller.getByText(`Imported ${PRODUCTS} products.`).waitFor({ timeout: 300_000 });
  const sellerView = await nodeView(seller);
  const vault = sellerView.shop!.vaultId;
  const counter = sellerView.vaults.find((v) => v.vaultId === vault)!.counter;

  const buyer = await (await browser.newContext()).newPage();
  await buyer.goto(baseURL);
  let view: NodeView;
  for (;;) {
    view = await nodeView(buyer);
    const copy = view.vaults.find((v) => v.vaultId === vault);
    if (copy && copy.counter === counter && copy.offers === PRODUCTS) break;
    await buyer.waitForTimeout(20);
  }
  const link = view.peers.find((p) => p.shopVaultId === vault)!;
  const copy = view.vaults.find((v) => v.vaultId === vault)!;
  const ms = copy.asOf - link.connectedAt;
  const bytes = link.bytesIn;
  const ref = await rawDataChannel(buyer, bytes);
  console.log(`# catchup: ${PRODUCTS} products, ${bytes} bytes received over the link; ref sends the same bytes raw over a loopback data channel`);
  console.log(`BENCH catchup ${Math.round(ms)} ms ref=${Math.round(ref)} ms ratio=${(ms / ref).toFixed(2)}`);
}
