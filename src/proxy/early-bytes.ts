import type { Socket } from 'node:net';

/** Bytes a client may send before its tunnel exists (a TLS ClientHello, a request); beyond, TCP backpressure. */
const EARLY_LIMIT_BYTES = 64 * 1024;

export interface EarlyCapture {
  /** Stop capturing: the socket is paused and what arrived is handed over, with whether the client already sent FIN. */
  release(): { readonly chunks: readonly Buffer[]; readonly ended: boolean };
}

/**
 * While a tunnel is being decided and dialled, keep reading the client: a client that resets is
 * noticed at once (its socket closes, so the dial is abandoned and no SYN goes out for nobody),
 * and bytes it sends early are kept, bounded, to be forwarded first.
 */
export function captureEarlyBytes(client: Socket): EarlyCapture {
  const chunks: Buffer[] = [];
  let size = 0;
  let ended = false;
  const onData = (chunk: Buffer): void => {
    chunks.push(chunk);
    size += chunk.length;
    if (size >= EARLY_LIMIT_BYTES) client.pause();
  };
  const onEnd = (): void => {
    ended = true;
  };
  client.on('data', onData);
  client.on('end', onEnd);
  return {
    release() {
      client.off('data', onData);
      client.off('end', onEnd);
      client.pause();
      return { chunks, ended };
    },
  };
}
