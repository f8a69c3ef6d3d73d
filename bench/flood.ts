import { createMemoryLinkPair } from '../src/core/link/memoryLink';
import { SoukNode } from '../src/core/node/soukNode';
import { MemoryStorage } from '../src/core/storage/memoryStorage';
import { HostileOwner, validOffer } from '../src/core/test/hostileOwner';
import { RawPeer } from '../src/core/test/rawPeer';
import { fromHex, toHex } from '../src/core/wire/hex';

const EDITS = 15;
const MINTED = 1500;

async function shop(name: string): Promise<SoukNode> {
  const node = await SoukNode.open({ storage: new MemoryStorage() });
  await node.createShop({ name, area: 'Bench Town' });
  return node;
}

function connect(a: SoukNode, b: SoukNode): void {
  const [x, y] = createMemoryLinkPair(`${a.view().shop?.name}`, `${b.view().shop?.name}`);
  a.addLink(x);
  b.addLink(y);
}

async function until(condition: () => boolean, timeoutMs = 60_000): Promise<void> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > timeoutMs) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** Median time for an honest owner's edits to reach the victim, with or without a hostile peer flooding the victim. */
async function honestArrival(flood: boolean): Promise<number> {
  const owner = await shop('Owner');
  const victim = await shop('Victim');
  const product = await owner.addProduct({ name: 'Tea', sku: 'T', unit: 'box', price: 100, stock: 50 });
  await owner.importProducts(Array.from({ length: 300 }, (_, i) => ({ name: `Filler ${i}`, sku: '', unit: 'each', price: 1, stock: 1, offerQuantity: 1 })));
  await owner.setOffer(product, { quantity: 10, price: 100 });
  connect(owner, victim);
  const price = () => victim.marketplace('tea').offers.find((o) => o.name === 'Tea')?.price;
  await until(() => price() === 100);
  let stop = false;
  const hostileWork: Promise<void>[] = [];
  if (flood) {
    // The flooder's own work (signing, encoding) is done before the clock starts: it shares this process's CPU.
    const minted = Array.from({ length: MINTED }, (_, i) => {
      const owner = new HostileOwner(`Minted ${i}`, { p: validOffer('p', `Spam ${i}`) });
      return { id: owner.id, statement: owner.statement(), snapshot: owner.snapshot() };
    });
    const byId = new Map(minted.map((o) => [o.id, o]));
    const rogue = new RawPeer(victim, 'flooder');
    await rogue.hello();
    const ownVault = fromHex(victim.view().shop!.vaultId);
    const ownerVault = fromHex(owner.view().shop!.vaultId);
    hostileWork.push(
      (async () => {
        let next = 0;
        let answered = 0;
        while (!stop && rogue.closedReason === undefined) {
          // Announce minted vaults, answer every want with one, and ask for the big vaults over and over.
          if (next < minted.length) {
            await rogue.send({ type: 'heads', statements: minted.slice(next, next + 64).map((o) => o.statement) });
            next += 64;
          }
          const wants = rogue.received.filter((m) => m.type === 'want');
          for (const want of wants.slice(answered)) {
            if (want.type !== 'want') continue;
            const owner = byId.get(toHex(want.vaultId));
            if (owner) await rogue.send({ type: 'changes', statements: [owner.statement], snapshot: true, changes: [owner.snapshot] });
          }
          answered = wants.length;
          for (let i = 0; i < 8; i++) {
            await rogue.send({ type: 'want', vaultId: ownVault, have: [] });
            await rogue.send({ type: 'want', vaultId: ownerVault, have: [] });
          }
          rogue.received.splice(0, rogue.received.length - 2000);
          answered = Math.min(answered, rogue.received.filter((m) => m.type === 'want').length);
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      })(),
    );
    await new Promise((resolve) => setTimeout(resolve, 200)); // the flood is under way
  }
  const times: number[] = [];
  for (let i = 1; i <= EDITS; i++) {
    const start = performance.now();
    await owner.setOffer(product, { quantity: 10, price: 100 + i });
    await until(() => price() === 100 + i);
    times.push(performance.now() - start);
  }
  stop = true;
  await Promise.all(hostileWork);
  owner.close();
  victim.close();
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

/** One hostile peer mints vaults and floods wants while an honest peer edits: how much slower do honest edits arrive? */
export async function flood(): Promise<void> {
  await honestArrival(false); // warm-up
  const reference = await honestArrival(false);
  const measured = await honestArrival(true);
  console.log(`# flood: median of ${EDITS} honest edits' arrival at the victim while one peer announces ${MINTED} minted vaults, serves them and floods wants; ref = the same edits without the flood`);
  console.log(`BENCH flood ${measured.toFixed(1)} ms ref=${reference.toFixed(1)} ms ratio=${(measured / reference).toFixed(2)}`);
}
