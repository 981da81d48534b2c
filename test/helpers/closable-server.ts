import type { AddressInfo, Server, Socket } from 'node:net';

/** A test server listening on loopback, whose close also destroys the connections it still holds. */
export interface ClosableServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Listens `server` (node:net or node:http) on 127.0.0.1 at a free port; `url` is http://127.0.0.1:PORT. */
export async function listenClosable(server: Server): Promise<ClosableServer> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
