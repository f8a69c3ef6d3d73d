import * as A from '@automerge/automerge';
import { NetworkAdapter, Repo, type Message, type PeerId, type PeerMetadata } from '@automerge/automerge-repo';
import { createMemoryLinkPair } from '../src/core/link/memoryLink';
import { SoukNode } from '../src/core/node/soukNode';
import { docKey } from '../src/core/node/vaultStore';
import { MemoryStorage } from '../src/core/storage/memoryStorage';
import { acceptBundle } from '../src/core/vault/acceptBundle';
import { measureAutomerge, VAULT_LIMITS } from '../src/core/vault/automergeCost';
import { checkSignedHeads, type SignedHeads } from '../src/core/vault/signedHeads';
import type { SharedVaultDoc } from '../src/core/vault/vaultDocuments';
import { readVaultContent } from '../src/core/vault/vaultShape';
import { catalogRows, median, PRODUCTS } from './importBench';

const RUNS = 5;
const TIMEOUT_MS = 120_000;

/**
 * automerge-repo's MessageChannelNetworkAdapter (packages/automerge-repo-network-messagechannel),
 * which is not in the installed package, rebuilt the same way: "arrive"/"welcome" to learn the
 * peer, repo messages posted as they are with `data` transferred as an ArrayBuffer.
 */
class MessagePortAdapter extends NetworkAdapter {
  #ready = false;
  #resolveReady!: () => void;
  #readyPromise = new Promise<void>((resolve) => (this.#resolveReady = resolve));
  #remote: PeerId | undefined;

  constructor(private readonly port: MessagePort) {
    super();
  }

  isReady(): boolean {
    return this.#ready;
  }

  whenReady(): Promise<void> {
    return this.#readyPromise;
  }

  #forceReady(): void {
    if (this.#ready) return;
    this.#ready = true;
    this.#resolveReady();
  }

  connect(peerId: PeerId, peerMetadata?: PeerMetadata): void {
    this.peerId = peerId;
    this.peerMetadata = peerMetadata;
    this.port.addEventListener('message', (event: MessageEvent) => {
      const message = event.data as { type: string; senderId: PeerId; targetId?: PeerId; peerMetadata?: PeerMetadata; data?: ArrayBuffer };
      if (message.targetId !== undefined && message.targetId !== this.peerId) return;
      switch (message.type) {
        case 'arrive':
          this.port.postMessage({ type: 'welcome', senderId: this.peerId, peerMetadata: this.peerMetadata, targetId: message.senderId });
          this.#announce(message.senderId, message.peerMetadata ?? {});
          break;
        case 'welcome':
          this.#announce(message.senderId, message.peerMetadata ?? {});
          break;
        case 'leave':
          if (this.#remote === message.senderId) {
            this.emit('peer-disconnected', { peerId: message.senderId });
            this.emit('close');
          }
          break;
        default:
          this.emit('message', ('data' in message && message.data ? { ...message, data: new Uint8Array(message.data) } : message) as Message);
      }
    });
    this.port.start();
    this.port.postMessage({ type: 'arrive', senderId: this.peerId, peerMetadata });
    setTimeout(() => this.#forceReady(), 100);
  }

  send(message: Message): void {
    if ('data' in message && message.data) {
      const data = message.data.buffer.slice(message.data.byteOffset, message.data.byteOffset + message.data.byteLength);
      this.port.postMessage({ ...message, data }, [data as ArrayBuffer]);
    } else this.port.postMessage(message);
  }

  #announce(peerId: PeerId, peerMetadata: PeerMetadata): void {
    this.#remote = peerId;
    this.#forceReady();
    this.emit('peer-candidate', { peerId, peerMetadata });
  }

  disconnect(): void {
    if (this.#remote && this.peerId) {
      this.port.postMessage({ type: 'leave', senderId: this.peerId });
      this.emit('peer-disconnected', { peerId: this.#remote });
      this.emit('close');
    }
    this.port.close();
  }
}

type OffersDoc = { offers: Record<string, Record<string, unknown>> };

/** The seller's 10,000 offers as plain Automerge maps (the fields a SharedOffer carries, text as ImmutableString). */
function offersDocument(): Uint8Array {
  const s = (v: string) => new A.ImmutableString(v);
  const offers: OffersDoc['offers'] = {};
  catalogRows().forEach((row, i) => {
    const dated = row.batches?.find((b) => b.expiresOn);
    offers[`p${String(i).padStart(6, '0')}`] = {
      name: s(row.name),
      sku: s(row.sku),
      unit: s(row.unit),
      quantity: row.offerQuantity!,
      price: row.offerPrice!,
      expiresOn: dated ? s(dated.expiresOn) : null,
    };
  });
  return A.save(A.from<OffersDoc>({ offers }));
}

function until(condition: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const check = () => {
      if (condition()) resolve();
      else if (performance.now() - start > TIMEOUT_MS) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(check, 2);
    };
    check();
  });
}

/** A fresh node linked to the seller over memory links: ms until its marketplace lists all the seller's offers. */
async function soukCatchup(seller: SoukNode, vaultId: string): Promise<{ ms: number; bytes: number; canonical: Uint8Array; statements: SignedHeads[] }> {
  const storage = new MemoryStorage();
  const buyer = await SoukNode.open({ storage });
  const [x, y] = createMemoryLinkPair('seller', 'buyer');
  const start = performance.now();
  seller.addLink(x);
  buyer.addLink(y);
  // The record (cheap) first; the marketplace (sorts every offer) only once the vault is there.
  await until(() => buyer.view().vaults.find((v) => v.vaultId === vaultId)?.offers === PRODUCTS && buyer.marketplace('', 1).total === PRODUCTS, 'the buyer’s marketplace');
  const ms = performance.now() - start;
  const bytes = buyer.view().traffic.bytesIn;
  const canonical = (await storage.load(docKey(vaultId)))!;
  const statements = buyer.statementsOf(vaultId)!;
  buyer.close();
  await new Promise((resolve) => setTimeout(resolve, 20)); // the seller sees the link close
  return { ms, bytes, canonical, statements };
}

/** Two automerge-repo Repos over a MessageChannel: ms until the second repo's handle holds all the offers. */
async function repoCatchup(saved: Uint8Array): Promise<number> {
  const { port1, port2 } = new MessageChannel();
  const seller = new Repo({ network: [new MessagePortAdapter(port1)] });
  const handle = seller.import<OffersDoc>(saved);
  await handle.whenReady();
  const start = performance.now();
  const buyer = new Repo({ network: [new MessagePortAdapter(port2)] });
  const copy = await buyer.find<OffersDoc>(handle.url);
  const heads = handle.heads().join();
  await until(() => copy.heads().join() === heads, 'the second repo'); // cheap: heads, not the offers, each poll
  const ms = performance.now() - start;
  if (Object.keys(copy.doc().offers).length !== PRODUCTS) throw new Error('the second repo lacks offers');
  await Promise.all([buyer.shutdown(), seller.shutdown()]);
  return ms;
}

/**
 * Where the receiving side's time goes: acceptBundle's steps replayed one by one, with timers, on
 * the vault the buyer took (its canonical encoding, which is what the seller sends), then the
 * whole acceptBundle and the store's write. Medians of `reps`, in ms.
 */
function acceptanceBreakdown(bytes: Uint8Array, statements: SignedHeads[], reps = 5): string {
  const steps = new Map<string, number[]>();
  const time = <T>(name: string, work: () => T): T => {
    const start = performance.now();
    const result = work();
    steps.set(name, [...(steps.get(name) ?? []), performance.now() - start]);
    return result;
  };
  const vaultId = statements[0]!.vaultId;
  for (let i = 0; i < reps; i++) {
    time('checkSignedHeads', () => statements.forEach((s) => checkSignedHeads(s)));
    time('measureAutomerge', () => measureAutomerge(bytes, VAULT_LIMITS));
    const doc = time('A.load', () => A.load<SharedVaultDoc>(bytes));
    time('missingDeps+heads', () => A.getMissingDeps(doc, []).length + A.getHeads(doc).length);
    const content = time('readVaultContent', () => readVaultContent(doc, vaultId));
    const canonical = time('A.save', () => A.save(doc));
    time('measure canonical', () => measureAutomerge(canonical, VAULT_LIMITS));
    time('reload check', () => A.getHeads(A.load(canonical)));
    const storage = new MemoryStorage();
    time('content JSON + storage write', () =>
      storage.write([
        { op: 'put', key: ['vault', 'x', 'doc'], data: canonical },
        { op: 'put', key: ['vault', 'x', 'content'], data: new TextEncoder().encode(JSON.stringify(content)) },
      ]),
    );
    const outcome = time('acceptBundle (whole)', () => acceptBundle(undefined, { statements, snapshot: true, changes: [bytes] }, { limits: VAULT_LIMITS }));
    if (!outcome.accepted) throw new Error(`acceptBundle refused the bench vault: ${outcome.reason}`);
  }
  return [...steps].map(([name, values]) => `${name} ${median(values).toFixed(1)}`).join(', ');
}

/** A fresh node catches up a seller's 10,000-offer vault over memory links, against automerge-repo syncing the same offers over a MessageChannel. */
export async function catchupNode(): Promise<void> {
  const seller = await SoukNode.open({ storage: new MemoryStorage() });
  const vaultId = await seller.createShop({ name: 'Bench Seller', area: 'Bench Town', currency: 'EUR' });
  await seller.importProducts(catalogRows());
  const saved = offersDocument();
  await soukCatchup(seller, vaultId); // warm-up (and the seller's cached encoding)
  await repoCatchup(saved);
  const measured: number[] = [];
  const reference: number[] = [];
  let last: Awaited<ReturnType<typeof soukCatchup>> | undefined;
  for (let i = 0; i < RUNS; i++) {
    last = await soukCatchup(seller, vaultId);
    measured.push(last.ms);
    reference.push(await repoCatchup(saved));
  }
  seller.close();
  const bytes = last!.bytes;
  const breakdown = acceptanceBreakdown(last!.canonical, last!.statements);
  const ms = median(measured);
  const ref = median(reference);
  console.log(
    `# catchup-node: a fresh SoukNode takes a ${PRODUCTS}-offer vault over memory links until its marketplace lists all (${bytes} bytes in), median of ${RUNS}: ${measured.map((m) => m.toFixed(0)).join('/')} ms`,
  );
  console.log(`# catchup-node: ref = automerge-repo 2.5.6, two Repos over a MessageChannel adapter, the same offers as plain maps (${saved.length} bytes saved): ${reference.map((m) => m.toFixed(0)).join('/')} ms`);
  console.log(`# catchup-node: receiving side, acceptBundle's steps replayed on the ${last!.canonical.length}-byte vault (ms, median): ${breakdown}`);
  console.log(`BENCH catchup-node ${ms.toFixed(1)} ms ref=${ref.toFixed(1)} ms ratio=${(ms / ref).toFixed(2)}`);
}
