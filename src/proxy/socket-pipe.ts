import type { Socket } from 'node:net';
import { batchedPipe } from '../net/batched-pipe.js';
import type { IdleWatch } from '../net/idle-sweep.js';
import { adoptReads, relayReads } from '../net/relay-reads.js';

/**
 * Join two connected sockets into a tunnel: bytes both ways with backpressure, each direction
 * relayed from a read buffer by relay-reads.ts where it can be (else batched-pipe.ts up, a stream
 * pipe down),
 * half-close carried across (a FIN on one side ends the other's writing, the opposite direction
 * keeps flowing), the idle timeout (`idle`, watching both sockets: see idle-sweep.ts) and any error
 * or abrupt close destroying both. `onClosed` runs once, after both sockets have closed.
 */
export function spliceSockets(client: Socket, upstream: Socket, idle: IdleWatch, onClosed: () => void): void {
  let open = 2;
  const closedOne = (): void => {
    if (--open > 0) return;
    idle.stop();
    onClosed();
  };
  const destroyBoth = (): void => {
    client.destroy();
    upstream.destroy();
  };
  idle.onIdle = destroyBoth;
  wireSide(client, upstream, closedOne, destroyBoth);
  wireSide(upstream, client, closedOne, destroyBoth);
  // The upload direction, relayed from a read buffer of ours where the runtime allows (the client
  // socket is node:http's), else bulk reads batched into fewer writes.
  if (!(adoptReads(client) && relayReads(client, upstream))) batchedPipe(client, upstream);
  // The download direction, straight from the read buffer when the upstream was dialled relayable.
  if (!relayReads(upstream, client)) upstream.pipe(client);
}

function wireSide(self: Socket, other: Socket, closedOne: () => void, destroyBoth: () => void): void {
  self.on('error', destroyBoth);
  if (self.closed) {
    // Gone between dial and splice: no 'close' will come, settle it now.
    other.destroy();
    closedOne();
    return;
  }
  self.on('close', (hadError: boolean) => {
    // A side that went away without ending its stream (reset, destroy, timeout) takes the other
    // with it; a side that closed after a clean FIN exchange leaves the other to finish.
    if (hadError || !other.writableEnded) other.destroy();
    closedOne();
  });
}
