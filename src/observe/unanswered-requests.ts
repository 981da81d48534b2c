import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * A bound on the requests one connection may have unanswered at once (pipelined ahead of their
 * answers). node:http starts every request a read brings as soon as it is parsed, and stops
 * reading only when the answers queued behind the current one hold more than a high-water mark,
 * which is after the whole read: one 64 KiB read of pipelined `GET /metrics` started about 1,700
 * collections at once, each queuing its answer for a client that may read none of them. An answer
 * counts until its 'close' (written out, or its connection gone).
 *
 * `admit` is called from node:http's 'request': true counts the request, false means the
 * connection already has `limit` unanswered and has been closed (the request is not to be served).
 */
export function boundUnanswered(limit: number): (req: IncomingMessage, res: ServerResponse) => boolean {
  const unanswered = new WeakMap<Socket, number>();
  return (req, res) => {
    const socket = req.socket;
    const count = unanswered.get(socket) ?? 0;
    if (count >= limit || socket.destroyed) {
      socket.destroy();
      return false;
    }
    unanswered.set(socket, count + 1);
    res.once('close', () => {
      unanswered.set(socket, (unanswered.get(socket) ?? 1) - 1);
    });
    return true;
  };
}
