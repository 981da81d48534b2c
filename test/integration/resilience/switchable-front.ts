import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP front on a fixed loopback port that forwards to `targetPort`, and can go down (the port
 * refuses connections, open ones are reset) and come back up on the same port: a control plane
 * that is down, then answers again, at one URL.
 */
export interface SwitchableFront {
  readonly port: number;
  readonly url: string;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startSwitchableFront(targetPort: number): Promise<SwitchableFront> {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;

  async function up(): Promise<void> {
    if (server !== null) return;
    const next = createServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        // A reset on one side is passed on as a reset (not a clean close) to the other: the proxy
        // must see the control plane's RST as the RST it is.
        socket.on('error', () => {
          for (const side of [client, upstream]) if (!side.destroyed) side.resetAndDestroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => {
        next.off('error', reject);
        resolve();
      });
    });
    const address = next.address();
    if (address === null || typeof address === 'string') throw new Error('no address');
    port = address.port;
    server = next;
  }

  async function down(): Promise<void> {
    const current = server;
    if (current === null) return;
    server = null;
    for (const socket of sockets) socket.resetAndDestroy();
    await new Promise<void>((resolve) => current.close(() => {
      resolve();
    }));
  }

  await up();
  return {
    get port() {
      return port;
    },
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    up,
    down,
    close: down,
  };
}
