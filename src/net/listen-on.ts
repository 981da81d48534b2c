import type { Server } from 'node:http';
import type { Server as NetServer } from 'node:net';

/** Bind a server (node:http's or node:net's); resolves with the bound address (the real port when 0 was asked for). */
export function listenOn(server: NetServer, host: string, port: number): Promise<{ address: string; port: number }> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('listener has no TCP address'));
        return;
      }
      resolve({ address: address.address, port: address.port });
    });
  });
}

/** Stop accepting and close idle keep-alive connections; resolves once every connection is gone. */
export function stopAccepting(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => {
      resolve();
    });
    server.closeIdleConnections();
  });
}
