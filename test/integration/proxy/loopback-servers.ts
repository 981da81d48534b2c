import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach } from 'vitest';

export interface LoopbackServers {
  readonly listen: (onSocket: (socket: Socket) => void) => Promise<number>;
  /** A server handing its first accepted socket to the test (the socket is in `opened`). */
  readonly acceptOne: () => Promise<{ readonly port: number; readonly accepted: Promise<Socket> }>;
  readonly opened: Socket[];
}

/**
 * Half-open-capable loopback servers for relay tests, closed after each test. Sockets pushed to
 * `opened` are destroyed before the servers close, so a failed assertion cannot leave a server
 * waiting on them.
 */
export function loopbackServers(): LoopbackServers {
  const servers: Server[] = [];
  const opened: Socket[] = [];
  afterEach(async () => {
    for (const socket of opened.splice(0)) socket.destroy();
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });
  const listen = async (onSocket: (socket: Socket) => void): Promise<number> => {
    const server = createServer({ allowHalfOpen: true }, onSocket);
    servers.push(server);
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return (server.address() as AddressInfo).port;
  };
  const acceptOne = async (): Promise<{ readonly port: number; readonly accepted: Promise<Socket> }> => {
    let accept: (socket: Socket) => void = () => undefined;
    const accepted = new Promise<Socket>((resolve) => {
      accept = resolve;
    });
    const port = await listen((socket) => {
      opened.push(socket);
      accept(socket);
    });
    return { port, accepted };
  };
  return { opened, listen, acceptOne };
}
