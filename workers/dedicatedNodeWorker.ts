import * as Comlink from 'comlink';
import { startNodeHost } from './nodeHost';

/**
 * Where SharedWorker is missing, the tab that holds the node lock runs the node in this
 * dedicated worker. It says 'ready' once it can take calls, so none are lost while it loads.
 */
const api = await startNodeHost();
Comlink.expose(api, self as unknown as Comlink.Endpoint);
(self as unknown as Worker).postMessage('souk-node-ready');
