import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';

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
 * connection is not reused after one.
 */
export async function headOrigin(onHead: (socket: Socket, head: string) => void): Promise<HeadOrigin> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
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
  });
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
