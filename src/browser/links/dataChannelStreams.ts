import type SimplePeer from '@thaunknown/simple-peer/lite.js';

/** Data channel messages stay well under Chromium's 256 KiB limit. */
export const DATA_CHANNEL_CHUNK = 64 * 1024;

/**
 * A connected simple-peer as a pair of byte streams, ready to transfer to the node's worker.
 * Writes wait for the channel to drain (backpressure); closing either stream closes the peer.
 */
export function dataChannelStreams(peer: SimplePeer): { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> } {
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      peer.on('data', (data) => controller.enqueue(new Uint8Array(data)));
      peer.on('close', () => {
        try {
          controller.close();
        } catch {
          // Already closed or cancelled.
        }
      });
      peer.on('error', (error) => {
        try {
          controller.error(error);
        } catch {
          // Already closed.
        }
      });
    },
    cancel() {
      peer.destroy();
    },
  });
  const writable = new WritableStream<Uint8Array>(
    {
      async write(chunk) {
        for (let offset = 0; offset < chunk.length; offset += DATA_CHANNEL_CHUNK) {
          if (peer.destroyed) throw new Error('the peer connection closed');
          const piece = chunk.subarray(offset, offset + DATA_CHANNEL_CHUNK);
          if (!peer.write(piece)) await drained(peer);
        }
      },
      close() {
        peer.destroy();
      },
      abort() {
        peer.destroy();
      },
    },
    { highWaterMark: 8 },
  );
  return { readable, writable };
}

function drained(peer: SimplePeer): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      peer.off('drain', done);
      peer.off('close', failed);
      resolve();
    };
    const failed = () => {
      peer.off('drain', done);
      reject(new Error('the peer connection closed'));
    };
    peer.once('drain', done);
    peer.once('close', failed);
  });
}
