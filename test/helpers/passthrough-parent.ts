import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface PassthroughParent {
  readonly port: number;
  /** `http://user:password@127.0.0.1:PORT`, for upstream_proxy. */
  readonly url: string;
  /** Every request head the parent accepted (its Proxy-Authorization removed), in order. */
  readonly heads: string[];
  /** Client connections the parent accepted (the proxy's pooled connections to it). */
  readonly connections: () => number;
  close(): Promise<void>;
}

/**
 * A parent (upstream) proxy for plain http:// requests without bodies that hands the origin's
 * bytes back untouched, as Squid does not (it reframes answers): each absolute-form request head
 * must carry `Proxy-Authorization: Basic` for `user:password` (else 407, and the connection
 * closes), loses that field, and goes as it is (absolute-form, which an origin must accept, RFC
 * 9112 §3.2.2) to the origin the first head named, on one origin connection per client
 * connection; every byte the origin sends comes back as it came, and its close closes the client's.
 */
export async function startPassthroughParent(user: string, password: string): Promise<PassthroughParent> {
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const heads: string[] = [];
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((client) => {
    accepted++;
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => undefined);
    let origin: Socket | null = null;
    let buffered = '';
    client.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end);
        buffered = buffered.slice(end + 4);
        const lines = head.split('\r\n');
        const auth = lines.find((line) => /^proxy-authorization:/i.test(line))?.replace(/^[^:]*: */, '');
        if (auth !== expected) {
          client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="parent"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
          return;
        }
        const forwarded = `${lines.filter((line) => !/^proxy-authorization:/i.test(line)).join('\r\n')}\r\n\r\n`;
        heads.push(forwarded);
        if (origin === null) {
          const target = new URL(lines[0]?.split(' ')[1] ?? '');
          const opened = connect({ host: target.hostname, port: Number(target.port || 80) });
          sockets.add(opened);
          opened.on('close', () => {
            sockets.delete(opened);
            client.end();
          });
          opened.on('error', () => undefined);
          opened.on('data', (bytes: Buffer) => client.write(bytes));
          client.on('close', () => opened.destroy());
          origin = opened;
        }
        origin.write(forwarded, 'latin1');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://${user}:${password}@127.0.0.1:${port}`,
    heads,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
