import type { Socket } from 'node:net';

/** Bytes a client may send before its tunnel exists (a TLS ClientHello, a request); beyond, TCP backpressure. */
const EARLY_LIMIT_BYTES = 64 * 1024;

export interface EarlyCapture {
  /**
   * Stop capturing: the socket is paused and what arrived is handed over, with whether the client
   * already sent FIN. `keepFlowing`: not paused, for a caller that adds its own 'data' listener in
   * the same turn (nothing can be emitted before it): pausing then resuming cost the socket a
   * scheduled resume per tunnel.
   */
  release(keepFlowing?: boolean): { readonly chunks: readonly Buffer[]; readonly ended: boolean };
}

/**
 * While a tunnel is being decided and dialled, keep reading the client: a client that resets is
 * noticed at once (its socket closes, so the dial is abandoned and no SYN goes out for nobody),
 * and bytes it sends early are kept, bounded, to be forwarded first.
 */
export function captureEarlyBytes(client: Socket): EarlyCapture {
  return new EarlyBytes(client);
}

/** Listeners are methods bound to the capture, not closures per tunnel (see connect-tunnel.ts). */
class EarlyBytes implements EarlyCapture {
  readonly #client: Socket;
  readonly #chunks: Buffer[] = [];
  #size = 0;
  #ended = false;
  readonly #onData: (chunk: Buffer) => void = this.#data.bind(this);
  readonly #onEnd: () => void = this.#end.bind(this);

  constructor(client: Socket) {
    this.#client = client;
    client.on('data', this.#onData);
    client.on('end', this.#onEnd);
  }

  release(keepFlowing = false): { readonly chunks: readonly Buffer[]; readonly ended: boolean } {
    const client = this.#client;
    client.off('data', this.#onData);
    client.off('end', this.#onEnd);
    if (!keepFlowing) client.pause();
    return { chunks: this.#chunks, ended: this.#ended };
  }

  #end(): void {
    this.#ended = true;
  }

  #data(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    if (this.#size >= EARLY_LIMIT_BYTES) this.#client.pause();
  }
}
