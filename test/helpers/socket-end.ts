import type { Socket } from 'node:net';

/**
 * How the connection under `socket` ends for its reader: 'end' for the peer's FIN (a clean end of
 * stream), else the error's code ('ECONNRESET' for a reset), 'close' when it closed without
 * either. Call it before the end can come; the first of them counts.
 */
export function howItEnds(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    socket.once('end', () => {
      resolve('end');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      resolve(error.code ?? error.message);
    });
    socket.once('close', () => {
      resolve('close');
    });
  });
}

/** Everything `socket` receives until it closes (flowing from now). */
export function receivedUntilClose(socket: Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('close', () => {
      resolve(Buffer.concat(chunks));
    });
    socket.resume();
  });
}
