/**
 * The shared worker's very first module. The node's modules wait for WebAssembly at top level;
 * a `connect` event that fires meanwhile would be lost, so ports are queued here until the node
 * is ready to take them.
 */
const queued: MessagePort[] = [];
let take: ((port: MessagePort) => void) | undefined;

(self as unknown as { onconnect: (event: MessageEvent) => void }).onconnect = (event) => {
  for (const port of event.ports) {
    if (take) take(port);
    else queued.push(port);
  }
};

export function onPort(handler: (port: MessagePort) => void): void {
  take = handler;
  for (const port of queued.splice(0)) handler(port);
}
