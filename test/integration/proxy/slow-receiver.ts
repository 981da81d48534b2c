import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

export interface Received {
  readonly bytes: number;
  readonly sha: string;
}

/**
 * Reads `stream` slowly (paused for a turn after every chunk, so a relay in front of it meets
 * backpressure) and hashes what it got; resolves at its end.
 */
export function readSlowly(stream: Readable): Promise<Received> {
  return new Promise((resolve) => {
    const hash = createHash('sha256');
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
      stream.pause();
      setImmediate(() => stream.resume());
    });
    stream.once('end', () => {
      resolve({ bytes, sha: hash.digest('hex') });
    });
  });
}

/** readSlowly for a socket that ends its own side once the peer's FIN is in. */
export async function receiveSlowly(socket: Socket): Promise<Received> {
  const received = await readSlowly(socket);
  socket.end();
  return received;
}
