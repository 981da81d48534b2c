import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach } from 'vitest';

/**
 * Half-open-capable loopback servers for relay tests, closed after each test. Sockets pushed to
 * `opened` are destroyed before the servers close, so a failed assertion cannot leave a server
 * waiting on them.
 */
export function loopbackServers(): { readonly listen: (onSocket: (socket: Socket) => void) => Promise<number>; readonly opened: Socket[] } {
  const servers: Server[] = [];
  const opened: Socket[] = [];
  afterEach(async () => {
    for (const socket of opened.splice(0)) socket.destroy();
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });
  return {
    opened,
    listen: async (onSocket) => {
      const server = createServer({ allowHalfOpen: true }, onSocket);
      servers.push(server);
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      return (server.address() as AddressInfo).port;
    },
  };
}
