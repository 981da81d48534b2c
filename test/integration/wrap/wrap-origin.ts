import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join, normalize } from 'node:path';

/**
 * Children get NO_PROXY=localhost,127.0.0.1,::1,[::1], so an origin on 127.0.0.1 would be reached
 * directly. Linux routes all of 127/8 to the loopback interface: origins listen on 127.0.0.2,
 * which children send through the proxy (opened with --allow-private 127.0.0.0/8).
 */
export const ORIGIN_HOST = '127.0.0.2';

export interface WrapOrigin {
  readonly port: number;
  /** "http://127.0.0.2:PORT" */
  readonly url: string;
  /** "127.0.0.2:PORT": the destination as the proxy's summary names it. */
  readonly target: string;
  /** Request lines seen ("GET /hello"), in order. */
  readonly requests: readonly string[];
  readonly connections: number;
  close(): Promise<void>;
}

export interface WrapOriginOptions {
  /** Serve files under this directory (a dumb-HTTP git repository, for example). */
  readonly root?: string;
  /** Serve HTTPS with this certificate and key instead of HTTP. */
  readonly tls?: { readonly cert: string; readonly key: string };
}

/**
 * `/hello` answers "hello from origin"; `/x-name` the bytes of the X-Name header it got, in hex
 * (Node reads header bytes as latin1, one character per byte); other paths are files under
 * `root`, else 404.
 */
export async function startWrapOrigin(options: WrapOriginOptions = {}): Promise<WrapOrigin> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    requests.push(`${req.method ?? ''} ${req.url ?? ''}`);
    req.resume();
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (path === '/hello') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('hello from origin\n');
      return;
    }
    if (path === '/x-name') {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end(`${Buffer.from(req.headers['x-name']?.toString() ?? '', 'latin1').toString('hex')}\n`);
      return;
    }
    void serveFile(options.root, path, res);
  };
  const server = options.tls === undefined ? createServer(handler) : createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler);
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, ORIGIN_HOST, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `${options.tls === undefined ? 'http' : 'https'}://${ORIGIN_HOST}:${port}`,
    target: `${ORIGIN_HOST}:${port}`,
    requests,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}

async function serveFile(root: string | undefined, path: string, res: ServerResponse): Promise<void> {
  const relative = normalize(decodeURIComponent(path)).replace(/^(\.\.[/\\])+/, '');
  const file = root === undefined ? undefined : join(root, relative);
  const info = file === undefined ? undefined : await stat(file).catch(() => undefined);
  if (file === undefined || info === undefined || !info.isFile()) {
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not found\n');
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': info.size });
  createReadStream(file).pipe(res);
}
