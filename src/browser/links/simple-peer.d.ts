// @thaunknown/simple-peer ships no types; this is the part Souk uses.
declare module '@thaunknown/simple-peer/lite.js' {
  export interface SimplePeerOptions {
    initiator?: boolean;
    trickle?: boolean;
    config?: RTCConfiguration;
    channelConfig?: RTCDataChannelInit;
  }
  export default class SimplePeer {
    constructor(options?: SimplePeerOptions);
    signal(data: unknown): void;
    write(chunk: Uint8Array): boolean;
    destroy(error?: Error): void;
    readonly destroyed: boolean;
    readonly connected: boolean;
    on(event: 'signal', listener: (data: unknown) => void): this;
    on(event: 'connect' | 'close' | 'drain', listener: () => void): this;
    on(event: 'data', listener: (data: Uint8Array) => void): this;
    on(event: 'error', listener: (error: Error) => void): this;
    once(event: 'drain' | 'close', listener: () => void): this;
    off(event: string, listener: (...args: never[]) => void): this;
  }
}
