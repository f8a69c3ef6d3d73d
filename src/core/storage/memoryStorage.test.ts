import { describe, it } from 'vitest';
import { MemoryStorage } from './memoryStorage';
import { storageConformanceCases } from './storageConformance';

describe('MemoryStorage passes the storage conformance suite', () => {
  for (const testCase of storageConformanceCases) it(testCase.name, () => testCase.run(new MemoryStorage()));
});
