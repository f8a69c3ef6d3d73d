import type SimplePeer from '@thaunknown/simple-peer/lite.js';

/** Data channel messages stay well under Chromium's 256 KiB limit. */
export const DATA_CHANNEL_CHUNK = 64 * 1024;
/**
 * The channel's own send buffer is kept between these marks: sending directly on the data
 * channel while under SEND_HIGH_WATER, else waiting for 'bufferedamountlow' at SEND_LOW_WATER.
 * (simple-peer's own write waits for its 64 KiB buffer to drain after every message, which
 * caps a loopback link near 1 MB/s; Chromium kills a channel past 16 MiB buffered.)
 */
export const SEND_HIGH_WATER = 4 * 1024 * 1024;
export const SEND_LOW_WATER = 1024 * 1024;
/** A connection 'disconnected' this long is treated as gone (ICE may recover from a shorter blip). */
export const DISCONNECTED_GRACE_MS = 5_000;
/** How often the channel and the connection are looked at, besides their events. */
const CHECK_EVERY_MS = 1_000;

/** A connected data channel as the node's worker sees it, with the leader's handle on its end. */
export interface LinkStreams {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
  /** Ends the link from the leader's side: the node's session sees its streams close. Idempotent. */
  close(reason: string): void;
}

/** What simple-peer keeps privately and Souk watches itself: the channel and the connection. */
interface PeerInternals {
  _channel?: RTCDataChannel | null;
  _pc?: RTCPeerConnection | null;
}

/**
 * A connected simple-peer as a pair of byte streams, ready to transfer to the node's worker.
 * Writes go straight to the data channel and wait while its buffer is over SEND_HIGH_WATER (backpressure).
 *
 * The link ends, once, with `onEnd(reason)` and both streams closed, as soon as any of these is
 * seen: the data channel closes or errors (simple-peer then tears itself down WITHOUT emitting
 * 'close', so its events alone are not enough), the RTCPeerConnection is 'failed' or 'closed' or
 * stays 'disconnected' for DISCONNECTED_GRACE_MS, simple-peer reports close or error, or the
 * node's side cancels the readable or aborts the writable (its session closed: a goodbye, the
 * heartbeat, a refusal). The caller frees the peer's slot in `onEnd`.
 */
export function dataChannelStreams(peer: SimplePeer, onEnd: (reason: string) => void): LinkStreams {
  const { _channel: channel, _pc: pc } = peer as unknown as PeerInternals;
  let ended: string | undefined;
  let readController: ReadableStreamDefaultController<Uint8Array> | undefined;
  let writeController: WritableStreamDefaultController | undefined;
  let disconnectedSince: number | undefined;
  let wakeWriter: (() => void) | undefined;
  let checker: ReturnType<typeof setInterval> | undefined;

  const finish = (reason: string): boolean => {
    if (ended !== undefined) return false;
    ended = reason;
    clearInterval(checker);
    channel?.removeEventListener('close', onChannelClose);
    channel?.removeEventListener('error', onChannelError);
    pc?.removeEventListener('connectionstatechange', check);
    try {
      readController?.close();
    } catch {
      // Already closed or cancelled by the node.
    }
    writeController?.error(new Error(reason));
    wakeWriter?.();
    closePeer(peer);
    return true;
  };
  const end = (reason: string) => {
    if (finish(reason)) onEnd(reason);
  };

  function check(): void {
    if (ended !== undefined) return;
    if (channel && channel.readyState !== 'open') return end(`the data channel is ${channel.readyState}`);
    const state = pc?.connectionState;
    if (state === 'failed' || state === 'closed') return end(`the connection ${state}`);
    if (state === 'disconnected') {
      disconnectedSince ??= Date.now();
      if (Date.now() - disconnectedSince >= DISCONNECTED_GRACE_MS) end(`the connection was disconnected for ${DISCONNECTED_GRACE_MS / 1000} s`);
    } else {
      disconnectedSince = undefined;
    }
  }
  const onChannelClose = () => end('the peer closed the data channel');
  const onChannelError = () => end('the data channel failed');
  channel?.addEventListener('close', onChannelClose);
  channel?.addEventListener('error', onChannelError);
  pc?.addEventListener('connectionstatechange', check);
  checker = setInterval(check, CHECK_EVERY_MS);
  peer.on('close', () => end('the peer connection closed'));
  peer.on('error', (error) => end(`the peer connection failed: ${error.message}`));
  peer.on('data', (data) => {
    if (ended === undefined) readController?.enqueue(new Uint8Array(data));
  });

  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      readController = controller;
    },
    cancel(reason) {
      end(`the node closed the link: ${describe(reason)}`);
    },
  });
  const writable = new WritableStream<Uint8Array>(
    {
      start(controller) {
        writeController = controller;
      },
      async write(chunk) {
        for (let offset = 0; offset < chunk.length; offset += DATA_CHANNEL_CHUNK) {
          if (ended !== undefined) throw new Error(ended);
          const piece = chunk.subarray(offset, offset + DATA_CHANNEL_CHUNK);
          if (!channel) throw new Error('the link has no data channel');
          while (channel.bufferedAmount > SEND_HIGH_WATER && ended === undefined) await lowWater(channel);
          if (ended !== undefined) throw new Error(ended);
          channel.send(piece as Uint8Array<ArrayBuffer>);
        }
      },
      close() {
        end('the node closed the link');
      },
      abort(reason) {
        end(`the node closed the link: ${describe(reason)}`);
      },
    },
    { highWaterMark: 8 },
  );

  function lowWater(on: RTCDataChannel): Promise<void> {
    on.bufferedAmountLowThreshold = SEND_LOW_WATER;
    return new Promise((resolve) => {
      const done = () => {
        on.removeEventListener('bufferedamountlow', done);
        wakeWriter = undefined;
        resolve();
      };
      wakeWriter = done;
      on.addEventListener('bufferedamountlow', done);
    });
  }

  queueMicrotask(check);
  return { readable, writable, close: (reason) => void finish(reason) };
}

/**
 * Tears a peer down for certain. simple-peer's own teardown after a channel close or a failed
 * connection leaves its stream half destroyed, so a later `destroy()` may do nothing: the
 * channel and the connection are closed here directly as well.
 */
export function closePeer(peer: SimplePeer): void {
  const { _channel: channel, _pc: pc } = peer as unknown as PeerInternals;
  try {
    peer.destroy();
  } catch {
    // Already torn down.
  }
  try {
    channel?.close();
  } catch {
    // Already closed.
  }
  try {
    pc?.close();
  } catch {
    // Already closed.
  }
}

function describe(reason: unknown): string {
  return reason instanceof Error ? reason.message : String(reason ?? 'closed');
}
