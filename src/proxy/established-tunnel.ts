import type { Socket } from 'node:net';
import type { Target } from '../contract/target.js';
import { readFirstFlight, type FirstFlight } from './client-hello-gate.js';
import type { ConnectionContext } from './connection-registry.js';
import { reportClosed } from './exchange-events.js';
import type { ExchangeTally } from './exchange-log.js';
import type { ProxyContext } from './proxy-context.js';
import { admitFirstFlight, passesAtOnce, type Admitted } from './sni-check.js';
import { spliceSockets } from './socket-pipe.js';

/**
 * A CONNECT tunnel after its 200: the client's first bytes are held until judged (a ClientHello's
 * SNI must name the CONNECT host, see sni-check.ts), then they go first and the sockets are
 * spliced. This is the tunnel's life, not its setup: it runs detached, so a graceful close does not
 * wait on a client that has not spoken yet (its sockets are destroyed with the other tunnels).
 * `initial` holds the bytes that came with and after the CONNECT. Never throws.
 */
export function runEstablishedTunnel(
  proxy: ProxyContext,
  conn: ConnectionContext,
  sockets: { readonly client: Socket; readonly upstream: Socket },
  target: Target,
  initial: { readonly chunks: readonly Buffer[]; readonly ended: boolean },
  tally: ExchangeTally,
): void {
  const { client, upstream } = sockets;
  // One idle watch for the tunnel's life: the wait for the first flight, then the splice.
  const idle = proxy.idleSweep.watch(client, upstream);
  const failed = (error: unknown): void => {
    idle.stop();
    conn.log.error({ err: error instanceof Error ? error.name : 'unknown', target: target.authority }, 'tunnel failed');
    client.destroy();
    upstream.destroy();
  };
  const splice = (admitted: Admitted): void => {
    for (const chunk of admitted.chunks) upstream.write(chunk);
    if (admitted.ended) upstream.end();
    idle.restart();
    spliceSockets(client, upstream, idle, () => {
      tally.bytesUp = upstream.bytesWritten;
      tally.bytesDown = upstream.bytesRead;
      reportClosed(proxy, conn, tally);
    });
  };
  const onFlight = (flight: FirstFlight): void => {
    // Runs inside a socket's event: a fault of ours costs this tunnel, never the process.
    try {
      const passing = passesAtOnce(target, flight);
      if (passing !== undefined) {
        splice(passing);
        return;
      }
      // A decision to wait for (another server named), or a tunnel to close: nothing moves meanwhile.
      client.pause();
      upstream.pause();
      admitFirstFlight(proxy, conn, sockets, target, flight, tally)
        .then((admitted) => {
          if (admitted === null) idle.stop();
          else splice(admitted);
        })
        .catch(failed);
    } catch (error) {
      failed(error);
    }
  };
  try {
    readFirstFlight(client, upstream, initial, idle, onFlight);
  } catch (error) {
    failed(error);
  }
}
