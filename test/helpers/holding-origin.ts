import { createServer as createHttpServer, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TestCa } from './test-ca.js';

/** An origin whose answers the test finishes: for responses in flight at a given moment (a drain). */
export interface HoldingOrigin {
  readonly port: number;
  /** Resolves with the response to the request for `url` (path and query), once it has arrived. */
  held(url: string): Promise<ServerResponse>;
  close(): Promise<void>;
}

/**
 * On 127.0.0.1:0 (HTTPS with `tls`). A URL starting with `/held` gets nothing until the test ends
 * its response; one starting with `/streaming` gets a 200 head and `first chunk;` at once (chunked,
 * keep-alive), then the rest the same way; any other is answered `ok` at once.
 */
export async function startHoldingOrigin(options: { readonly tls?: TestCa } = {}): Promise<HoldingOrigin> {
  const waiting = new Map<string, (res: ServerResponse) => void>();
  const arrived = new Map<string, Promise<ServerResponse>>();
  const slot = (url: string): Promise<ServerResponse> => {
    let promise = arrived.get(url);
    if (promise === undefined) {
      promise = new Promise<ServerResponse>((resolve) => waiting.set(url, resolve));
      arrived.set(url, promise);
    }
    return promise;
  };
  const sockets = new Set<Socket>();
  const handler = (req: { url?: string | undefined; resume(): unknown }, res: ServerResponse): void => {
    req.resume();
    const url = req.url ?? '';
    if (url.startsWith('/streaming')) {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('first chunk;');
    } else if (!url.startsWith('/held')) {
      res.end('ok');
      return;
    }
    void slot(url);
    waiting.get(url)?.(res);
  };
  const tls = options.tls;
  const server: Server = tls === undefined ? createHttpServer(handler) : createHttpsServer({ cert: tls.certPem, key: tls.keyPem }, handler);
  server.on(tls === undefined ? 'connection' : 'secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    held: slot,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
