import { createServer } from 'node:http';
import { forwardedAddress, SignalingServer } from './signalingServer';
import { staticFiles } from './staticFiles';
import { SIGNALING_PATH } from './signalingProtocol';
import { RADIO_SIM_PATH, RadioMediumServer } from '../src/headless/radioMediumServer';

/**
 * `tsx signaling/main.ts [--port 8080] [--host 0.0.0.0] [--serve dist] [--trust-proxy]`
 * Runs the signaling server; with --serve, also serves the built app on the same port.
 * --trust-proxy (or TRUST_PROXY=1): connections are counted per address by the last
 * X-Forwarded-For entry. Set it only behind a reverse proxy that writes that header; without a
 * proxy a client could claim any address.
 * --per-address-in-room N (or PER_ADDRESS_IN_ROOM=N): how many members of one network may come
 * from one address (default 4). Raise it where many merchants share one public address (a
 * market's wifi, a carrier's NAT).
 */
function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

const port = Number(option('port') ?? process.env.PORT ?? 8080);
const host = option('host') ?? process.env.HOST ?? '0.0.0.0';
const root = option('serve');
const serve = root ? staticFiles(root) : undefined;
const trustProxy = process.argv.includes('--trust-proxy') || process.env.TRUST_PROXY === '1';
const perAddressInRoom = Number(option('per-address-in-room') ?? process.env.PER_ADDRESS_IN_ROOM ?? NaN);

const server = createServer((request, response) => {
  if (serve) serve(request, response).catch(() => response.destroy());
  else response.writeHead(200, { 'content-type': 'text/plain' }).end(`Souk signaling server. Connect a WebSocket to ${SIGNALING_PATH}.\n`);
});
const limits = Number.isInteger(perAddressInRoom) && perAddressInRoom > 0 ? { maxPerAddressInRoom: perAddressInRoom } : {};
const signaling = new SignalingServer(server, limits, trustProxy ? { addressOf: forwardedAddress } : {});
// The simulated LoRa medium ("simulated radio" on the Radio page) on the same port: its upgrades
// are taken before the signaling server's, which refuses every path but its own.
const radioMedium = new RadioMediumServer();
const otherUpgrades = server.listeners('upgrade') as ((...args: unknown[]) => void)[];
server.removeAllListeners('upgrade');
server.on('upgrade', (request, socket, head) => {
  if (radioMedium.handleUpgrade(request, socket, head)) return;
  for (const listener of otherUpgrades) listener.call(server, request, socket, head);
});
server.listen(port, host, () => {
  const shown = host === '0.0.0.0' ? 'localhost' : host;
  console.log(
    root
      ? `Souk is running at http://${shown}:${port} (signaling on ${SIGNALING_PATH}, simulated radio medium on ${RADIO_SIM_PATH})`
      : `Souk signaling on ws://${shown}:${port}${SIGNALING_PATH}, simulated radio medium on ${RADIO_SIM_PATH}`,
  );
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void Promise.all([signaling.close(), radioMedium.close()]).then(() => server.close(() => process.exit(0)));
  });
}
