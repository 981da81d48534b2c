import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { TestCa } from './test-ca.js';

export interface HeadOrigin {
  readonly port: number;
  readonly server: Server;
  /** Connections open now. */
  readonly sockets: Set<Socket>;
  /** Destroys every connection, then closes the listener. */
  close(): Promise<void>;
}

/**
 * A raw origin calling `onHead` with each request head (without its empty line) as soon as it is
 * in, several per read when pipelined. Bytes after a head that are not a head (a body) stay
 * buffered in front of the next one: for origins whose requests carry no body, or whose
 * connection is not reused after one. `tls`: the same over TLS, with the CA's leaf (localhost,
 * 127.0.0.1), for answers that must reach the proxy byte for byte through a CONNECT.
 */
export async function headOrigin(onHead: (socket: Socket, head: string) => void, options: { readonly tls?: TestCa } = {}): Promise<HeadOrigin> {
  const sockets = new Set<Socket>();
  const onConnection = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        onHead(socket, head);
      }
    });
  };
  const tls = options.tls;
  const server: Server = tls === undefined ? createServer(onConnection) : createTlsServer({ key: tls.keyPem, cert: tls.certPem }, onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    server,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** A 103 Early Hints head with an 8 KB Link field: under the head limit alone, not as a stream. */
export const EARLY_HINT = `HTTP/1.1 103 Early Hints\r\nLink: <https://cdn.example/${'a'.repeat(8_000)}>; rel=preload\r\n\r\n`;

/** Writes EARLY_HINT heads on `socket` until it closes, as fast as it drains: a final answer never comes. */
export function floodInterim(socket: Socket): void {
  const pump = (): void => {
    while (!socket.destroyed && socket.write(EARLY_HINT));
    if (!socket.destroyed) socket.once('drain', pump);
  };
  pump();
}
