import { onPort } from './connectQueue';
import * as Comlink from 'comlink';
import { startNodeHost } from './nodeHost';

/** One node per browser profile: every tab connects to this shared worker. */
const api = await startNodeHost();
onPort((port) => {
  Comlink.expose(api, port);
  port.start();
});
