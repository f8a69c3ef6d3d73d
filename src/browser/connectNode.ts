import * as Comlink from 'comlink';
import type { NodeApi } from '../../workers/nodeHost';
import { NODE_LOCK } from './nodeChannel';

export type NodeConnection =
  | { mode: 'shared' | 'dedicated'; node: Comlink.Remote<NodeApi> }
  | { mode: 'waiting'; ready: Promise<{ mode: 'dedicated'; node: Comlink.Remote<NodeApi> }> };

function startDedicated(): Promise<Comlink.Remote<NodeApi>> {
  const worker = new Worker(new URL('../../workers/dedicatedNodeWorker.ts', import.meta.url), { type: 'module', name: 'souk-node' });
  return new Promise((resolve, reject) => {
    worker.addEventListener('error', (event) => reject(new Error(`Souk's node failed to start: ${event.message}`)), { once: true });
    worker.addEventListener('message', function ready(event) {
      if (event.data !== 'souk-node-ready') return;
      worker.removeEventListener('message', ready);
      resolve(Comlink.wrap<NodeApi>(worker));
    });
  });
}

/**
 * Reaches this profile's one node: the shared worker where the browser has SharedWorker;
 * otherwise a dedicated worker in whichever tab holds the node lock. A tab that does not get the
 * lock waits and takes over when the holder closes.
 */
export async function connectNode(): Promise<NodeConnection> {
  if (typeof SharedWorker !== 'undefined') {
    const worker = new SharedWorker(new URL('../../workers/sharedNodeWorker.ts', import.meta.url), { type: 'module', name: 'souk-node' });
    worker.port.start();
    return { mode: 'shared', node: Comlink.wrap<NodeApi>(worker.port) };
  }
  const held = await new Promise<boolean>((resolve) => {
    void navigator.locks.request(NODE_LOCK, { ifAvailable: true }, async (lock) => {
      resolve(lock !== null);
      if (lock) await new Promise(() => {}); // Held for the life of this tab.
    });
  });
  if (held) return { mode: 'dedicated', node: await startDedicated() };
  const ready = new Promise<{ mode: 'dedicated'; node: Comlink.Remote<NodeApi> }>((resolve, reject) => {
    void navigator.locks.request(NODE_LOCK, async () => {
      startDedicated().then((node) => resolve({ mode: 'dedicated', node }), reject);
      await new Promise(() => {});
    });
  });
  return { mode: 'waiting', ready };
}
