import { createServer } from 'node:http';
import { SignalingServer } from './signalingServer';
import { staticFiles } from './staticFiles';
import { SIGNALING_PATH } from './signalingProtocol';

/**
 * `tsx signaling/main.ts [--port 8080] [--host 0.0.0.0] [--serve dist]`
 * Runs the signaling server; with --serve, also serves the built app on the same port.
 */
function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

const port = Number(option('port') ?? process.env.PORT ?? 8080);
const host = option('host') ?? process.env.HOST ?? '0.0.0.0';
const root = option('serve');
const serve = root ? staticFiles(root) : undefined;

const server = createServer((request, response) => {
  if (serve) void serve(request, response);
  else response.writeHead(200, { 'content-type': 'text/plain' }).end(`Souk signaling server. Connect a WebSocket to ${SIGNALING_PATH}.\n`);
});
const signaling = new SignalingServer(server);
server.listen(port, host, () => {
  const shown = host === '0.0.0.0' ? 'localhost' : host;
  console.log(root ? `Souk is running at http://${shown}:${port} (signaling on ${SIGNALING_PATH})` : `Souk signaling on ws://${shown}:${port}${SIGNALING_PATH}`);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void signaling.close().then(() => server.close(() => process.exit(0)));
  });
}
