import { openShop } from './catchup';
import type { Browser, Page } from '@playwright/test';
import type { NodeView } from '../src/core/node/nodeView';
import type { PackageProgress, PackageSettings } from '../src/core/packages/packageView';

const MiB = 1024 * 1024;
/** The file every transfer benchmark moves. */
const FILE_BYTES = Number(process.env.TRANSFER_MIB ?? 256) * MiB;
/** transfer3: each seeder's upload cap (KiB/s). */
const CAP_BYTES_PER_SECOND = Number(process.env.TRANSFER3_CAP_KIB ?? 2048) * 1024;
/** Raw data channel: the backpressure rule of src/browser/links/dataChannelStreams.ts (64 KiB messages, 4 MiB high, 1 MiB low). */
const RAW_MESSAGE = 64 * 1024;
const RAW_HIGH_WATER = 4 * MiB;
const RAW_LOW_WATER = 1 * MiB;

/** The parts of the page's Comlink remote of the node (workers/nodeHost.ts) used here. */
interface Remote {
  view(): Promise<NodeView>;
  addProduct(input: { name: string; sku: string; unit: string; price: number; stock: number }): Promise<string>;
  setOffer(id: string, offer: { quantity: number; price: number }): Promise<void>;
  products(query: string): Promise<{ products: { id: string }[] }>;
  marketplace(query: string): Promise<{ offers: { price: number }[] }>;
  packages: {
    attach(productId: string, file: Blob, options: { kind: 'file'; shared: boolean; name?: string }): Promise<{ root: string }>;
    fetch(root: string): Promise<PackageProgress>;
    progress(root: string): Promise<PackageProgress>;
    updateSettings(settings: Partial<PackageSettings>): Promise<PackageSettings>;
  };
}

async function nodeReady(page: Page): Promise<void> {
  await page.waitForFunction(() => 'soukNode' in globalThis, undefined, { timeout: 60_000 });
}


/**
 * Makes the benchmark file in the page (the same deterministic bytes in every page: 1 MiB parts,
 * xorshift32 seeded by the part's index, so the package's root is the same whoever attaches it)
 * and attaches it to a new offered product through soukNode. Returns the root and the ms it took.
 */
async function seed(page: Page, size: number): Promise<{ root: string; ms: number }> {
  return page.evaluate(async (size) => {
    const node = (globalThis as unknown as { soukNode: Remote }).soukNode;
    const parts: Blob[] = [];
    for (let offset = 0, part = 0; offset < size; offset += 1024 * 1024, part++) {
      const words = new Uint32Array(Math.min(1024 * 1024, size - offset) / 4);
      let x = (part + 1) * 2654435761 >>> 0;
      for (let i = 0; i < words.length; i++) {
        x ^= x << 13;
        x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5;
        x >>>= 0;
        words[i] = x;
      }
      parts.push(new Blob([words]));
    }
    const file = new Blob(parts, { type: 'application/octet-stream' });
    const productId = await node.addProduct({ name: 'Bench drawings', sku: 'BENCH-1', unit: 'piece', price: 100, stock: 5 });
    await node.setOffer(productId, { quantity: 1, price: 100 });
    const start = performance.now();
    const attachment = await node.packages.attach(productId, file, { kind: 'file', shared: true, name: 'bench-drawings.bin' });
    return { root: attachment.root, ms: performance.now() - start };
  }, size);
}

/** A fresh node (no shop) linked to `peers` peers that knows the package (from a vault it carries). */
async function downloader(browser: Browser, baseURL: string, root: string, peers: number): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await page.goto(baseURL);
  await nodeReady(page);
  await page.evaluate(
    async ({ root, peers }) => {
      const node = (globalThis as unknown as { soukNode: Remote }).soukNode;
      const deadline = Date.now() + 120_000;
      for (;;) {
        const [view, progress] = await Promise.all([node.view(), node.packages.progress(root)]);
        if (view.peers.length >= peers && progress.problem === null) return;
        if (Date.now() > deadline) throw new Error(`the downloader has ${view.peers.length} of ${peers} peers; the package: ${progress.problem}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    },
    { root, peers },
  );
  return page;
}

/** Fetches the package in the page: ms from fetch to complete (polled every 50 ms), and the peak peersServing seen. */
async function fetchTimed(page: Page, root: string): Promise<{ ms: number; peakPeers: number; samples: [number, number][] }> {
  return page.evaluate(async (root) => {
    const node = (globalThis as unknown as { soukNode: Remote }).soukNode;
    const start = performance.now();
    let progress = await node.packages.fetch(root);
    let peakPeers = 0;
    const samples: [number, number][] = [];
    let movedAt = start;
    let lastDone = -1;
    while (progress.state !== 'complete') {
      if (progress.state === 'failed') throw new Error(`the download failed: ${progress.problem}`);
      const now = performance.now();
      if (progress.bytesDone !== lastDone) [lastDone, movedAt] = [progress.bytesDone, now];
      else if (now - movedAt > 60_000) throw new Error(`the download stalled for 60 s: ${JSON.stringify(progress)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      progress = await node.packages.progress(root);
      peakPeers = Math.max(peakPeers, progress.peersServing);
      samples.push([performance.now() - start, progress.bytesDone]);
    }
    return { ms: performance.now() - start, peakPeers, samples };
  }, root);
}

/**
 * The raw reference: `total` bytes from one page to another over a fresh loopback data channel
 * (non-trickle offer and answer carried by this process), 64 KiB messages with the app's
 * backpressure marks, timed from the first send to the last byte received (wall clock in both).
 */
async function rawDataChannel(from: Page, to: Page, total: number): Promise<number> {
  type RawWindow = { raw: { pc: RTCPeerConnection; done?: Promise<number> } };
  const offer = await from.evaluate(async () => {
    const pc = new RTCPeerConnection({ iceServers: [] });
    const channel = pc.createDataChannel('raw', { ordered: true });
    channel.binaryType = 'arraybuffer';
    (globalThis as unknown as RawWindow).raw = { pc };
    (globalThis as unknown as { rawChannel: RTCDataChannel }).rawChannel = channel;
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise<void>((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve();
      pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
      setTimeout(resolve, 3000);
    });
    return pc.localDescription!.sdp;
  });
  const answer = await to.evaluate(
    async ({ offer, total }) => {
      const pc = new RTCPeerConnection({ iceServers: [] });
      const done = new Promise<number>((resolve) => {
        pc.ondatachannel = (event) => {
          let got = 0;
          event.channel.binaryType = 'arraybuffer';
          event.channel.onmessage = (m) => {
            got += (m.data as ArrayBuffer).byteLength;
            if (got >= total) resolve(performance.timeOrigin + performance.now());
          };
        };
      });
      (globalThis as unknown as RawWindow).raw = { pc, done };
      await pc.setRemoteDescription({ type: 'offer', sdp: offer });
      await pc.setLocalDescription(await pc.createAnswer());
      await new Promise<void>((resolve) => {
        if (pc.iceGatheringState === 'complete') return resolve();
        pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve());
        setTimeout(resolve, 3000);
      });
      return pc.localDescription!.sdp;
    },
    { offer, total },
  );
  const started = await from.evaluate(
    async ({ answer, total, message, high, low }) => {
      const { pc } = (globalThis as unknown as RawWindow).raw;
      const channel = (globalThis as unknown as { rawChannel: RTCDataChannel }).rawChannel;
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
      if (channel.readyState !== 'open') await new Promise((resolve) => (channel.onopen = resolve));
      channel.bufferedAmountLowThreshold = low;
      const piece = new Uint8Array(message);
      for (let i = 0; i < piece.length; i++) piece[i] = (i * 31) & 0xff;
      const start = performance.timeOrigin + performance.now();
      void (async () => {
        for (let sent = 0; sent < total; sent += piece.length) {
          if (channel.bufferedAmount > high) await new Promise((resolve) => (channel.onbufferedamountlow = resolve));
          channel.send(piece.subarray(0, Math.min(piece.length, total - sent)));
        }
      })();
      return start;
    },
    { answer, total, message: RAW_MESSAGE, high: RAW_HIGH_WATER, low: RAW_LOW_WATER },
  );
  const ended = await to.evaluate(() => (globalThis as unknown as RawWindow).raw.done!);
  await Promise.all([from, to].map((page) => page.evaluate(() => (globalThis as unknown as RawWindow).raw.pc.close())));
  return ended - started;
}

const mbps = (bytes: number, ms: number) => (bytes / 1e6 / (ms / 1000)).toFixed(1);

/** When the download passed each quarter (ms since fetch), from the polled samples. */
function quarters(samples: [number, number][], size: number): string {
  const first = samples.find(([, done]) => done > 0)?.[0];
  return [`first chunk by ${first === undefined ? '?' : Math.round(first)} ms`]
    .concat(
      [0.25, 0.5, 0.75]
        .map((share) => samples.find(([, done]) => done >= share * size)?.[0])
        .map((at, i) => `${25 * (i + 1)}% at ${at === undefined ? '?' : Math.round(at)} ms`),
    )
    .join(', ');
}

/**
 * An offer edit on the seeder (its price set to `price`): ms from the moment it is made until the
 * buyer's Marketplace lists the new price (polled every 10 ms; both pages' wall clocks are this
 * machine's).
 */
async function offerEditArrival(seeder: Page, buyer: Page, price: number): Promise<number> {
  const seen = buyer.evaluate(async (price) => {
    const node = (globalThis as unknown as { soukNode: Remote }).soukNode;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const { offers } = await node.marketplace('Bench drawings');
      if (offers.some((offer) => offer.price === price)) return Date.now();
      if (Date.now() > deadline) throw new Error('the offer edit never arrived');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }, price);
  const madeAt = await seeder.evaluate(async (price) => {
    const node = (globalThis as unknown as { soukNode: Remote }).soukNode;
    const { products } = await node.products('Bench drawings');
    const madeAt = Date.now();
    await node.setOffer(products[0]!.id, { quantity: 1, price });
    return madeAt;
  }, price);
  return (await seen) - madeAt;
}

/** Resolves once the buyer holds `share` of the package. */
async function heldShare(page: Page, root: string, share: number): Promise<void> {
  await page.evaluate(
    async ({ root, share }) => {
      const node = (globalThis as unknown as { soukNode: Remote }).soukNode;
      for (;;) {
        const progress = await node.packages.progress(root);
        if (progress.size > 0 && progress.bytesDone >= share * progress.size) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    { root, share },
  );
}

/** transfer1: 256 MiB from one seeder to one fresh peer through the app; ref = the raw data channel between the same two pages. */
export async function transfer1(browser: Browser, baseURL: string): Promise<void> {
  const seeder = await openShop(browser, baseURL, 'Bench Seeder');
  const { root, ms: attachMs } = await seed(seeder, FILE_BYTES);
  const buyer = await downloader(browser, baseURL, root, 1);
  const fetching = fetchTimed(buyer, root);
  // A vault edit made a quarter of the way into the transfer, on the same link: control and sync
  // traffic go before bulk, so it must not wait behind the file (goal: within a second).
  await heldShare(buyer, root, 0.25);
  const editDuring = await offerEditArrival(seeder, buyer, 4242);
  const { ms, peakPeers, samples } = await fetching;
  const editQuiet = await offerEditArrival(seeder, buyer, 4343);
  const sentBySeeder = (await seeder.evaluate(() => (globalThis as unknown as { soukNode: Remote }).soukNode.view())).traffic.bytesOut;
  const refs = [await rawDataChannel(seeder, buyer, FILE_BYTES), await rawDataChannel(seeder, buyer, FILE_BYTES)];
  const ref = Math.min(...refs);
  await Promise.all([seeder, buyer].map((page) => page.context().close()));
  console.log(`# transfer1: ${FILE_BYTES / MiB} MiB in 256 KiB chunks, one seeder, loopback WebRTC; attach took ${Math.round(attachMs)} ms (${mbps(FILE_BYTES, attachMs)} MB/s)`);
  console.log(`# transfer1: app ${mbps(FILE_BYTES, ms)} MB/s (${quarters(samples, FILE_BYTES)}; peers serving ≤ ${peakPeers}; seeder sent ${(sentBySeeder / MiB).toFixed(1)} MiB in all)`);
  console.log(`# transfer1: raw data channel page to page, same bytes, ${RAW_MESSAGE / 1024} KiB messages, ${RAW_HIGH_WATER / MiB} MiB/${RAW_LOW_WATER / MiB} MiB marks: ${refs.map((r) => `${Math.round(r)} ms (${mbps(FILE_BYTES, r)} MB/s)`).join(', ')}; the faster is ref`);
  console.log(`BENCH transfer1 ${Math.round(ms)} ms ref=${Math.round(ref)} ms ratio=${(ms / ref).toFixed(2)}`);
  console.log(`# transfer1: an offer edit made at 25% of the transfer reached the buyer in ${editDuring} ms; the same edit with the link idle, after it: ${editQuiet} ms (goal: within 1000 ms)`);
  console.log(`BENCH edit-during-transfer ${editDuring} ms ref=${editQuiet} ms ratio=${(editDuring / Math.max(1, editQuiet)).toFixed(2)}`);
}

/** transfer3: the same file from three seeders each capped at the same upload rate; ref = the time the sum of the caps allows. */
export async function transfer3(browser: Browser, baseURL: string): Promise<void> {
  const seeders = [];
  for (const name of ['Bench Seeder One', 'Bench Seeder Two', 'Bench Seeder Three']) seeders.push(await openShop(browser, baseURL, name));
  // Each seeder attaches the same bytes to its own product: one package (one root), held by three.
  const seeded = [];
  for (const seeder of seeders) {
    seeded.push(await seed(seeder, FILE_BYTES));
    console.log(`# transfer3: seeder ${seeded.length} attached the file in ${Math.round(seeded.at(-1)!.ms)} ms`);
  }
  const root = seeded[0]!.root;
  if (seeded.some((s) => s.root !== root)) throw new Error('transfer3: the seeders made different packages');
  await Promise.all(
    seeders.map((seeder) =>
      seeder.evaluate((cap) => (globalThis as unknown as { soukNode: Remote }).soukNode.packages.updateSettings({ uploadCapBytesPerSecond: cap }), CAP_BYTES_PER_SECOND),
    ),
  );
  const buyer = await downloader(browser, baseURL, root, 3);
  const { ms, peakPeers, samples } = await fetchTimed(buyer, root);
  const view = await buyer.evaluate(() => (globalThis as unknown as { soukNode: Remote }).soukNode.view());
  const shares = view.peers.map((p) => `${p.name || p.nodeId.slice(0, 8)} ${(p.bytesIn / MiB).toFixed(1)} MiB`).join(', ');
  await Promise.all([...seeders, buyer].map((page) => page.context().close()));
  const ref = (FILE_BYTES / (3 * CAP_BYTES_PER_SECOND)) * 1000;
  console.log(`# transfer3: ${FILE_BYTES / MiB} MiB from 3 seeders capped at ${CAP_BYTES_PER_SECOND / 1024} KiB/s each (sum ${mbps(3 * CAP_BYTES_PER_SECOND, 1000)} MB/s); ref = size / sum of caps`);
  console.log(`# transfer3: app ${mbps(FILE_BYTES, ms)} MB/s (${quarters(samples, FILE_BYTES)}; peers serving ≤ ${peakPeers}); received from each: ${shares}`);
  console.log(`BENCH transfer3 ${Math.round(ms)} ms ref=${Math.round(ref)} ms ratio=${(ms / ref).toFixed(2)}`);
}
