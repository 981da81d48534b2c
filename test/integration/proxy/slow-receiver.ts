import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';

export interface Received {
  readonly bytes: number;
  readonly sha: string;
}

/**
 * Reads `socket` slowly (paused for a turn after every chunk, so a relay in front of it meets
 * backpressure) and hashes what it got; resolves at the FIN, after ending its own side.
 */
export function receiveSlowly(socket: Socket): Promise<Received> {
  return new Promise((resolve) => {
    const hash = createHash('sha256');
    let bytes = 0;
    socket.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
      socket.pause();
      setImmediate(() => socket.resume());
    });
    socket.on('end', () => {
      resolve({ bytes, sha: hash.digest('hex') });
      socket.end();
    });
  });
}
