import { LinkClosedError, type Link } from './link';

/**
 * What every Link adapter must do, as framework-free cases (see storageConformance.ts).
 * `makePair` returns two connected ends.
 */
export interface LinkConformanceCase {
  name: string;
  run(makePair: () => [Link, Link] | Promise<[Link, Link]>): Promise<void>;
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

function collect(link: Link): { chunks: Uint8Array[]; closed: Promise<string>; total: () => number } {
  const chunks: Uint8Array[] = [];
  let done!: (reason: string) => void;
  const closed = new Promise<string>((resolve) => (done = resolve));
  link.start({ receive: (bytes) => chunks.push(bytes), closed: done });
  return { chunks, closed, total: () => chunks.reduce((n, c) => n + c.length, 0) };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > 5000) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export const linkConformanceCases: LinkConformanceCase[] = [
  {
    name: 'delivers bytes intact and in order, both ways',
    async run(makePair) {
      const [a, b] = await makePair();
      const atA = collect(a);
      const atB = collect(b);
      for (let i = 0; i < 100; i++) await a.send(new Uint8Array([i, i, i]));
      await b.send(new Uint8Array([42]));
      await until(() => atB.total() === 300 && atA.total() === 1, 'all bytes delivered');
      const stream = atB.chunks.flatMap((c) => [...c]);
      check(stream.every((v, i) => v === Math.floor(i / 3)), 'bytes out of order or changed');
      check(atA.chunks[0]![0] === 42, 'reverse direction failed');
    },
  },
  {
    name: 'a chunk sent is not changed by later edits to the sender’s array',
    async run(makePair) {
      const [a, b] = await makePair();
      collect(a);
      const atB = collect(b);
      const data = new Uint8Array([1, 2, 3]);
      await a.send(data);
      data.fill(0);
      await until(() => atB.total() === 3, 'delivery');
      check(atB.chunks.flatMap((c) => [...c]).join() === '1,2,3', 'delivered bytes changed');
    },
  },
  {
    name: 'carries a megabyte in pieces',
    async run(makePair) {
      const [a, b] = await makePair();
      collect(a);
      const atB = collect(b);
      const piece = new Uint8Array(64 * 1024).fill(7);
      for (let i = 0; i < 16; i++) await a.send(piece);
      await until(() => atB.total() === 16 * piece.length, 'a megabyte delivered');
    },
  },
  {
    name: 'applies backpressure: a fast sender cannot run far ahead of delivery',
    async run(makePair) {
      const [a, b] = await makePair();
      collect(a);
      const atB = collect(b);
      const piece = new Uint8Array(64 * 1024).fill(3);
      const total = 32 * 1024 * 1024;
      const allowed = 8 * 1024 * 1024;
      let sent = 0;
      while (sent < total) {
        await a.send(piece);
        sent += piece.length;
        const ahead = sent - atB.total();
        check(ahead <= allowed, `send resolved with ${ahead} bytes sent but not delivered (at most ${allowed} allowed)`);
      }
      await until(() => atB.total() === total, 'all 32 MiB delivered');
    },
  },
  {
    name: 'close reaches the other end, and sending afterwards rejects with LinkClosedError',
    async run(makePair) {
      const [a, b] = await makePair();
      const atA = collect(a);
      const atB = collect(b);
      a.close('done here');
      const reason = await atB.closed;
      check(typeof reason === 'string' && reason.length > 0, 'the other end got no reason');
      await atA.closed;
      let failure: unknown;
      try {
        await a.send(new Uint8Array([1]));
      } catch (error) {
        failure = error;
      }
      check(failure instanceof LinkClosedError, `expected LinkClosedError, got ${String(failure)}`);
    },
  },
];
