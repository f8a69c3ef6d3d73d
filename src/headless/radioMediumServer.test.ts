import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { Datagram } from '../core/link/datagramLink';
import { MeshtasticLink } from '../meshtastic/meshtasticLink';
import { streamTransport } from '../meshtastic/streamTransport';
import { startRadioMediumServer } from './radioMediumServer';

/** Real sockets and real time (core waits 200 ms before each write); SHORT_TURBO keeps airtime to tens of ms. */

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function socketStreams(ws: WebSocket): { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> } {
  return {
    readable: new ReadableStream({
      start(controller) {
        ws.on('message', (data: Buffer) => controller.enqueue(new Uint8Array(data)));
        ws.on('close', () => {
          try {
            controller.close();
          } catch {
            /* the reader cancelled first */
          }
        });
      },
    }),
    writable: new WritableStream({ write: (chunk) => void ws.send(chunk) }),
  };
}

async function radio(url: string, name: string) {
  const ws = new WebSocket(`${url}?name=${encodeURIComponent(name)}`);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  const { readable, writable } = socketStreams(ws);
  const link = new MeshtasticLink(streamTransport(readable, writable), { label: name });
  link.device.log.settings.minLevel = 7;
  const received: Datagram[] = [];
  const closed: string[] = [];
  link.start({ receive: (d) => received.push(d), closed: (r) => closed.push(r) });
  cleanups.push(() => link.close('test over'));
  return { ws, link, received, closed };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250 && !condition(); i++) await new Promise((r) => setTimeout(r, 20));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

describe('radio medium server', () => {
  it('two WebSocket radios configure with their names and trade a broadcast; a closed socket unplugs', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const server = await startRadioMediumServer(0, { preset: 'SHORT_TURBO' });
    cleanups.push(() => server.close());
    const a = await radio(server.url, 'stall-a');
    const b = await radio(server.url, 'stall-b');
    await until(() => a.link.info().state === 'connected' && b.link.info().state === 'connected', 'both configured');
    expect(a.link.info().device?.longName).toBe('stall-a');
    expect(a.link.info().device?.preset).toBe('SHORT_TURBO');
    expect(server.medium.stats()).toMatchObject({ connections: 2, radios: 2 });
    await a.link.send(new Uint8Array([1, 2, 3]), 'broadcast');
    await until(() => b.received.length === 1, 'the broadcast');
    expect(b.received[0]).toMatchObject({ from: a.link.address, to: 'broadcast' });
    a.ws.close();
    await until(() => a.closed.length === 1, 'the unplug');
    expect(a.link.info().state).toBe('unplugged');
  });

  it('refuses other paths, bad names and connections past the bound', async () => {
    const server = await startRadioMediumServer(0, { maxConnections: 1 });
    cleanups.push(() => server.close());
    const refused = (url: string) =>
      new Promise<boolean>((resolve) => {
        const ws = new WebSocket(url);
        ws.once('open', () => {
          ws.close();
          resolve(false);
        });
        ws.once('error', () => resolve(true));
      });
    expect(await refused(server.url.replace('/radio-sim', '/elsewhere'))).toBe(true);
    expect(await refused(`${server.url}?name=${'x'.repeat(41)}`)).toBe(true);
    const first = new WebSocket(`${server.url}?name=one`);
    await new Promise((resolve) => first.once('open', resolve));
    cleanups.push(() => first.close());
    expect(await refused(`${server.url}?name=two`)).toBe(true);
  });

  it('one address holds at most maxPerAddress connections; a slot freed is free again', async () => {
    const server = await startRadioMediumServer(0, { maxPerAddress: 2 });
    cleanups.push(() => server.close());
    const open = (name: string) =>
      new Promise<WebSocket | null>((resolve) => {
        const ws = new WebSocket(`${server.url}?name=${name}`);
        ws.once('open', () => resolve(ws));
        ws.once('error', () => resolve(null));
      });
    const [a, b] = [await open('a'), await open('b')];
    expect(a && b).toBeTruthy();
    expect(await open('c')).toBeNull();
    a!.close();
    await until(() => server.medium.stats().connections === 1, 'the slot to free');
    const c = await open('c');
    expect(c).not.toBeNull();
    b!.close();
    c!.close();
  });
});
