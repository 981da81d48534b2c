import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** The proxy a tool's own configuration names instead of kaizen-proxy: it records and refuses. */
export interface DecoyProxy {
  /** "http://127.0.0.3:PORT" */
  readonly url: string;
  /** Request lines it got ("GET http://...", "CONNECT host:port"), in order. */
  readonly requests: readonly string[];
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.3 (not in the children's NO_PROXY) and answers every request and CONNECT
 * with 502, so a client that used it fails and the test sees the request line here.
 */
export async function startDecoyProxy(): Promise<DecoyProxy> {
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const record = (req: IncomingMessage): void => {
    requests.push(`${req.method ?? ''} ${req.url ?? ''}`);
  };
  const server = createServer((req, res) => {
    record(req);
    req.resume();
    res.writeHead(502, { 'Content-Type': 'text/plain', Connection: 'close' });
    res.end('decoy proxy\n');
  });
  server.on('connect', (req: IncomingMessage, socket: Socket) => {
    record(req);
    socket.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.3', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.3:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
