// Bundled by e2e/storage.spec.ts and run inside Chromium: the shared storage conformance cases
// against the real IndexedDB adapter, each on a fresh database.
import { IndexedDbStorage } from '../../src/browser/storage/indexedDbStorage';
import { storageConformanceCases } from '../../src/core/storage/storageConformance';

async function run(): Promise<{ name: string; error?: string }[]> {
  const results: { name: string; error?: string }[] = [];
  for (const [i, testCase] of storageConformanceCases.entries()) {
    const storage = await IndexedDbStorage.open(`souk-conformance-${Date.now()}-${i}`);
    try {
      await testCase.run(storage);
      results.push({ name: testCase.name });
    } catch (error) {
      results.push({ name: testCase.name, error: error instanceof Error ? error.message : String(error) });
    } finally {
      storage.close();
    }
  }
  return results;
}

(globalThis as { runStorageConformance?: typeof run }).runStorageConformance = run;
