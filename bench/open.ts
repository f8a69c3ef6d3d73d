import * as A from '@automerge/automerge';
import { SoukNode } from '../src/core/node/soukNode';
import { contentKey, docKey, encodeIndexRecord, indexKey } from '../src/core/node/vaultStore';
import { MemoryStorage } from '../src/core/storage/memoryStorage';
import { HostileOwner, validOffer } from '../src/core/test/hostileOwner';
import { readVaultContent } from '../src/core/vault/vaultShape';
import { toHex } from '../src/core/wire/hex';

const REPLICAS = 10_000;

/** A node's storage holding `count` others' vaults (10 offers each), as its VaultStore writes them. */
function storageWith(count: number): MemoryStorage {
  const storage = new MemoryStorage();
  const template = new HostileOwner('Template', Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`p${i}`, validOffer(`p${i}`, `Item ${i}`)])));
  const bytes = A.save(template.doc);
  const content = new TextEncoder().encode(JSON.stringify(readVaultContent(template.doc)));
  const statement = template.statement();
  const writes = [];
  for (let i = 0; i < count; i++) {
    const id = toHex(crypto.getRandomValues(new Uint8Array(32)));
    const record = {
      id,
      statements: [{ ...statement, vaultId: Buffer.from(id, 'hex') }],
      revocations: [],
      asOf: 1,
      firstSeenAt: 1,
      lastUsedAt: 1,
      bytes: bytes.length,
      ops: 120,
      name: `Shop ${i}`,
      area: 'Market',
      offerCount: 10,
    };
    writes.push(
      { op: 'put' as const, key: indexKey(id), data: encodeIndexRecord(record) },
      { op: 'put' as const, key: docKey(id), data: bytes },
      { op: 'put' as const, key: contentKey(id), data: content },
    );
  }
  void storage.write(writes);
  return storage;
}

async function timeOpen(storage: MemoryStorage): Promise<{ open: number; content: number; vaults: number }> {
  const start = performance.now();
  const node = await SoukNode.open({ storage, vaultBudget: { maxOtherVaults: REPLICAS + 10 } });
  const open = performance.now() - start;
  await node.whenContentLoaded();
  const content = performance.now() - start;
  const vaults = node.view().vaults.length;
  node.close();
  return { open, content, vaults };
}

/** Opening a node that carries 10,000 vaults, against one that carries one: start-up reads the index only. */
export async function open(): Promise<void> {
  const many = storageWith(REPLICAS);
  const one = storageWith(1);
  await timeOpen(storageWith(1)); // warm up Automerge and the JIT
  const reference = await timeOpen(one);
  const measured = await timeOpen(many);
  if (measured.vaults !== REPLICAS) throw new Error(`opened ${measured.vaults} vaults, expected ${REPLICAS}`);
  console.log(`# open: ${REPLICAS} stored vaults (10 offers each) in memory storage; all their content listed after ${Math.round(measured.content)} ms (in the background)`);
  console.log(`BENCH open ${measured.open.toFixed(1)} ms ref=${reference.open.toFixed(1)} ms ratio=${(measured.open / reference.open).toFixed(2)}`);
}
