import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { Mesh, Portnums } from '@meshtastic/protobufs';
import { expect, test, type BrowserContext, type Page, type WebSocketRoute } from '@playwright/test';
import { WebSocket } from 'ws';
import { decodeEnvelope, encodeEnvelope, RADIO_PORT } from '../src/core/radio/radioEnvelope';
import { startRadioMediumServer } from '../src/headless/radioMediumServer';
import { frameSerial, SerialDeframer } from '../src/meshtastic/serialFraming';
import { addOffer, adjustStock, createShop, offerCard, view } from './shop';

/**
 * Radio only: two shops in two browser profiles, no signaling server reachable (their WebSocket
 * to /signal is refused from the start, so no WebRTC link can form), each with a simulated
 * Meshtastic radio on one simulated LoRa medium (the real radio medium server, started here).
 */

async function openRadioShop(
  browser: import('@playwright/test').Browser,
  name: string,
): Promise<{ context: BrowserContext; page: Page; unplug: () => Promise<void> }> {
  const context = await browser.newContext();
  // No signaling: the pages never reach the server that introduces WebRTC peers.
  await context.routeWebSocket(/\/signal/, (ws) => ws.close({ code: 1011, reason: 'no signaling in this test' }));
  // The radio's medium connection passes through here, so the test can pull the radio's plug.
  const mediumSockets = new Set<{ page: WebSocketRoute; server: WebSocketRoute }>();
  await context.routeWebSocket(/\/radio-sim/, (ws) => {
    mediumSockets.add({ page: ws, server: ws.connectToServer() });
  });
  const page = await context.newPage();
  await page.goto('/');
  await expect(page.getByRole('navigation', { name: 'Views' })).toBeVisible();
  await createShop(page, name);
  return {
    context,
    page,
    unplug: async () => {
      for (const ws of mediumSockets) {
        await ws.server.close({ code: 1001, reason: 'unplugged' });
        await ws.page.close({ code: 1001, reason: 'unplugged' });
      }
      mediumSockets.clear();
    },
  };
}

async function radioView(page: Page): Promise<void> {
  await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name: 'Radio' }).click();
}

async function connectSimulated(page: Page, url: string): Promise<void> {
  await radioView(page);
  await page.getByLabel('Simulated radio medium').fill(url);
  await page.getByRole('button', { name: 'Connect simulated radio' }).click();
  await expect(page.getByRole('region', { name: 'Radio connection' }).getByRole('status').first()).toContainText('Connected');
}

/** A device on the medium built here: it hears what the shops' radios send and can put its own packets on the air. */
function mediumDevice(url: string) {
  const socket = new WebSocket(url);
  socket.binaryType = 'nodebuffer';
  const deframer = new SerialDeframer();
  const heard: Uint8Array[] = [];
  socket.on('message', (data: Buffer) => {
    for (const protobuf of deframer.push(new Uint8Array(data))) {
      const fromRadio = fromBinary(Mesh.FromRadioSchema, protobuf);
      if (fromRadio.payloadVariant.case !== 'packet') continue;
      const packet = fromRadio.payloadVariant.value;
      if (packet.payloadVariant.case === 'decoded' && packet.payloadVariant.value.portnum === RADIO_PORT) heard.push(packet.payloadVariant.value.payload);
    }
  });
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return {
    opened,
    heard,
    send(payload: Uint8Array) {
      const toRadio = create(Mesh.ToRadioSchema, {
        payloadVariant: {
          case: 'packet',
          value: create(Mesh.MeshPacketSchema, {
            to: 0xffffffff,
            id: (Math.random() * 0x7fffffff) >>> 0,
            hopLimit: 3,
            payloadVariant: { case: 'decoded', value: create(Mesh.DataSchema, { portnum: Portnums.PortNum.PRIVATE_APP, payload }) },
          }),
        },
      });
      socket.send(frameSerial(toBinary(Mesh.ToRadioSchema, toRadio)));
    },
    close: () => socket.close(),
  };
}

/** A's genuine update with its counter raised by one: the signature no longer covers it. */
function forgeFrom(heard: Uint8Array[]): Uint8Array {
  for (const payload of heard) {
    const decoded = decodeEnvelope(payload);
    if (!('envelope' in decoded) || decoded.envelope.kind !== 'update') continue;
    const update = decoded.envelope.update.slice();
    // version (1) | vault id prefix (8) | device key prefix (4) | counter (uLEB128): a one-byte counter below 127 is raised.
    const counterAt = 1 + 8 + 4;
    if (update[counterAt]! >= 0x7f) continue;
    update[counterAt]! += 1;
    return encodeEnvelope({ ...decoded.envelope, update });
  }
  throw new Error(`no compact update heard among ${heard.length} packets on the medium`);
}

test('two shops trade over a simulated LoRa radio with no signaling: changes arrive "via radio", a forgery is refused, an unplugged radio keeps its queue', async ({
  browser,
}) => {
  // LoRa is slow: a catch-up bundle and several updates at LongFast airtime take minutes of the medium's real time.
  test.setTimeout(600_000);
  const medium = await startRadioMediumServer(0);
  const mediumUrl = (name: string) => `${medium.url}?name=${name}`;
  const listener = mediumDevice(mediumUrl('listener'));
  const ada = await openRadioShop(browser, 'Ada Groceries');
  const bo = await openRadioShop(browser, 'Bo Spices');
  try {
    await listener.opened;
    // Each shop connects a simulated radio; the Radio page shows the device.
    await connectSimulated(ada.page, mediumUrl('ada'));
    await connectSimulated(bo.page, mediumUrl('bo'));
    const device = ada.page.getByRole('region', { name: 'Radio device' });
    await expect(device).toContainText(/Node number\s*![0-9a-f]{8}/);
    await expect(device).toContainText('LONG_FAST');
    // Ada offers rice with the radio on: her update goes on the air; Bo, who never held her shop, reconciles and catches up.
    await addOffer(ada.page, { name: 'Rice 5kg', price: '12.50', stock: 40 }, 30, '12.00');

    // Ada's offer reaches Bo over the radio alone, marked as such.
    await view(bo.page, 'Marketplace');
    const rice = offerCard(bo.page, 'Rice 5kg', 'Ada Groceries');
    await expect(rice).toContainText('12.00', { timeout: 150_000 });
    await expect(rice).toContainText(/via radio, as of \d{1,2}:\d{2}/);
    await radioView(bo.page);
    await expect(bo.page.getByRole('table', { name: 'Radios it hears' })).toBeVisible();
    await view(bo.page, 'Marketplace');

    // A stock change on Ada shows on Bo.
    await adjustStock(ada.page, 'Rice 5kg', -25);
    await expect(rice).toContainText('15 each available', { timeout: 150_000 });

    // A forged update (Ada's, with a counter its signature does not cover) is refused and listed on Bo's Radio page.
    await expect.poll(() => listener.heard.some((p) => { const d = decodeEnvelope(p); return 'envelope' in d && d.envelope.kind === 'update'; })).toBe(true);
    listener.send(forgeFrom(listener.heard));
    await radioView(bo.page);
    await expect(bo.page.getByRole('list', { name: 'Refusals' })).toContainText(/signature|refused|forged/i, { timeout: 30_000 });
    await view(bo.page, 'Marketplace');
    await expect(rice).toContainText('15 each available');

    // Ada's radio is unplugged: the page says so, an edit waits in the queue and does not reach Bo.
    await ada.unplug();
    await radioView(ada.page);
    await expect(ada.page.getByRole('region', { name: 'Radio connection' })).toContainText('Radio unplugged');
    await adjustStock(ada.page, 'Rice 5kg', -5);
    await radioView(ada.page);
    await expect(ada.page.getByRole('region', { name: 'Radio connection' })).toContainText(/[1-9]\d* updates? waits?; they go when it is back/);
    await expect(ada.page.getByRole('list', { name: 'Waiting updates' }).getByRole('listitem')).not.toHaveCount(0);
    await expect(rice).toContainText('15 each available');

    // Plugged back in: the waiting edit goes, and Bo sees it.
    await connectSimulated(ada.page, mediumUrl('ada'));
    await expect(rice).toContainText('10 each available', { timeout: 180_000 });
    await expect(rice).toContainText('via radio');

    // The radio is remembered: after a reload, Bo's page reconnects it without a tap.
    await bo.page.reload();
    await expect(bo.page.getByRole('navigation', { name: 'Views' })).toBeVisible();
    await radioView(bo.page);
    await expect(bo.page.getByRole('region', { name: 'Radio connection' }).getByRole('status').first()).toContainText('Connected', { timeout: 60_000 });
  } finally {
    listener.close();
    await ada.context.close();
    await bo.context.close();
    await medium.close();
  }
});
