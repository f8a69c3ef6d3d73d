import { describe, it } from 'vitest';
import { linkConformanceCases } from './linkConformance';
import { createMemoryLinkPair } from './memoryLink';
import { StreamLink } from './streamLink';

/** Two StreamLinks joined back to back through TransformStreams, as the leader tab joins a data channel to the worker. */
function streamPair(): [StreamLink, StreamLink] {
  const ab = new TransformStream<Uint8Array, Uint8Array>();
  const ba = new TransformStream<Uint8Array, Uint8Array>();
  return [new StreamLink('a', ba.readable, ab.writable), new StreamLink('b', ab.readable, ba.writable)];
}

describe('memory links pass the link conformance suite', () => {
  for (const testCase of linkConformanceCases) it(testCase.name, () => testCase.run(() => createMemoryLinkPair()));
});

describe('stream links pass the link conformance suite', () => {
  for (const testCase of linkConformanceCases) it(testCase.name, () => testCase.run(streamPair));
});
