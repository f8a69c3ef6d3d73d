import { expect, test, type Browser, type Page } from '@playwright/test';
import { Hostile } from './hostilePeer';
import { createShop, openSouk, view } from './shop';

/**
 * Attack 13 of the review: a peer that politely closes only its data channel (its
 * RTCPeerConnection stays up) must not keep a slot, must not be counted as a peer, and must not
 * be dialed again at once.
 *
 * The hostile peer (./hostilePeer.ts) runs no Souk UI. Its node is a real SoukNode in this Node
 * process (so its hello and handshake are whatever the protocol currently is), its signaling is a
 * WebSocket from Node, and its WebRTC is a bare RTCPeerConnection in a blank page of another
 * browser context, bridged to the node byte for byte.
 */

const ROUNDS = 5;
/** The victim's first redial wait is 5 s; a little slack for timers and the close travelling. */
const NO_REDIAL_WITHIN_MS = 4_500;

async function setMaxConnections(page: Page, max: number): Promise<void> {
  await view(page, 'Network');
  await page.getByLabel('Maximum connections').fill(String(max));
  await page.getByRole('button', { name: 'Save network settings' }).click();
  await expect(page.getByRole('form', { name: 'Network settings' }).getByRole('status')).toHaveText('Saved.');
}

function peersLine(page: Page) {
  return page.getByRole('status', { name: 'Sync status' });
}

/** A victim shop with room for one link, and a hostile peer in the same network. */
async function victimAndHostile(browser: Browser, baseURL: string) {
  const victim = await openSouk(browser);
  await createShop(victim.page, 'Vera Victim');
  await setMaxConnections(victim.page, 1);
  await expect(peersLine(victim.page)).toContainText('network souk-local: online');
  await expect(peersLine(victim.page)).toContainText('0 peers');
  const hostileContext = await browser.newContext();
  const hostile = await Hostile.start(await hostileContext.newPage());
  // The victim is the only node in the room so far.
  const peers = await hostile.join(`${baseURL.replace(/^http/, 'ws')}/signal`, 'souk-local');
  expect(peers).toHaveLength(1);
  hostile.victim = peers[0]!;
  const close = async () => {
    hostile.close();
    await hostileContext.close();
    await victim.context.close();
  };
  return { victim, hostile, close };
}

/** A genuine new shop links with the victim (maxConnections 1: any slot still held blocks it); both count one peer. */
async function genuineShopLinks(browser: Browser, victim: Page): Promise<void> {
  const genuine = await openSouk(browser);
  await createShop(genuine.page, 'Gus Genuine');
  await expect(peersLine(genuine.page)).toContainText('1 peer', { timeout: 30_000 });
  await expect(peersLine(victim)).toContainText('1 peer');
  await view(victim, 'Network');
  const connected = victim.getByRole('list', { name: 'Connected peers' });
  await expect(connected.getByRole('listitem')).toHaveCount(1);
  await expect(connected).toContainText('Gus Genuine');
  await genuine.context.close();
}

test('a peer that closes only its data channel frees its slot, is not counted, and is not redialed at once', async ({ browser, baseURL }) => {
  test.setTimeout(150_000);
  const { victim, hostile, close } = await victimAndHostile(browser, baseURL!);
  try {
    let last = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      // Round 1: the victim, having room, dials the newcomer. Later rounds: the hostile dials.
      if (round > 1) await hostile.dial(hostile.victim);
      const id = await hostile.waitForHandshake(last);
      last = id;
      // The victim counts the hostile as its one peer...
      await expect(peersLine(victim.page)).toContainText('1 peer', { timeout: 10_000 });
      // ...until it politely closes only the data channel: the count must drop well before the
      // 35 s heartbeat would notice, and the slot must be free for the next round.
      const pcState = await hostile.closeChannel(id);
      expect(pcState).toBe('connected');
      await expect(peersLine(victim.page)).toContainText('0 peers', { timeout: 8_000 });
    }
    const lastClose = hostile.closes.at(-1)!;

    // The hostile peer is not dialed again at once: never within the first wait after any of its
    // drops, and not at all in the 12 s after the fifth (its wait is then over a minute).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, lastClose + 12_000 - Date.now())));
    const timeline = () =>
      [...hostile.closes.map((at) => ({ at, what: 'hostile closed its channel' })), ...hostile.victimDials.map((at) => ({ at, what: 'victim dialed the hostile' }))]
        .sort((a, b) => a.at - b.at)
        .map(({ at, what }) => `+${at - hostile.closes[0]!} ms ${what}`)
        .join('\n');
    for (const dialAt of hostile.victimDials.slice(1)) {
      const closeBefore = hostile.closes.filter((at) => at <= dialAt).at(-1)!;
      expect(dialAt - closeBefore, `the victim redialed the hostile peer ${dialAt - closeBefore} ms after a drop:\n${timeline()}`).toBeGreaterThanOrEqual(NO_REDIAL_WITHIN_MS);
    }
    expect(hostile.victimDials.filter((at) => at > lastClose), `the victim redialed after the fifth drop:\n${timeline()}`).toEqual([]);

    await genuineShopLinks(browser, victim.page);
  } finally {
    await close();
  }
});

test("a link the victim's node drops (its session ended) is closed by the leader and frees its slot", async ({ browser, baseURL }) => {
  test.setTimeout(120_000);
  const { victim, hostile, close } = await victimAndHostile(browser, baseURL!);
  try {
    // The victim dials the newcomer; the handshake completes.
    const id = await hostile.waitForHandshake(0);
    await expect(peersLine(victim.page)).toContainText('1 peer', { timeout: 10_000 });
    // The hostile peer keeps its channel open but sends bytes that are no frame: the victim's node
    // ends the session. Its leader tab must then close the WebRTC link itself and free the slot.
    await hostile.sendGarbage(id);
    await expect(peersLine(victim.page)).toContainText('0 peers', { timeout: 8_000 });
    await expect.poll(() => hostile.links.get(id)!.link.closedReason, { timeout: 5_000, message: 'the victim closed the data channel' }).toBe('data channel closed');
    await genuineShopLinks(browser, victim.page);
  } finally {
    await close();
  }
});
