import type { Socket } from 'node:net';
import type { IdleWatch } from '../net/idle-sweep.js';
import type { Target } from '../contract/target.js';
import { readFirstFlight, type FirstFlight } from './client-hello-gate.js';
import type { ConnectionContext } from './connection-registry.js';
import { reportClosed } from './exchange-events.js';
import type { ExchangeTally } from './exchange-log.js';
import type { ProxyContext } from './proxy-context.js';
import { admitFirstFlight, passesAtOnce, type Admitted } from './sni-check.js';
import { markTunnelCut } from './shutdown-cut.js';
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
  const tunnel = new EstablishedTunnel(proxy, conn, sockets, target, tally);
  try {
    readFirstFlight(sockets.client, sockets.upstream, initial, tunnel.idle, tunnel.onFlight);
  } catch (error) {
    tunnel.failed(error);
  }
}

/** Methods, bound where a function is passed (see connect-tunnel.ts). */
class EstablishedTunnel {
  readonly #proxy: ProxyContext;
  readonly #conn: ConnectionContext;
  readonly #sockets: { readonly client: Socket; readonly upstream: Socket };
  readonly #target: Target;
  readonly #tally: ExchangeTally;
  /** One idle watch for the tunnel's life: the wait for the first flight, then the splice. */
  readonly idle: IdleWatch;
  readonly onFlight: (flight: FirstFlight) => void = this.#flight.bind(this);
  /** Set once the sockets are spliced: from then on the splice reports the close. */
  #spliced = false;

  constructor(proxy: ProxyContext, conn: ConnectionContext, sockets: { readonly client: Socket; readonly upstream: Socket }, target: Target, tally: ExchangeTally) {
    this.#proxy = proxy;
    this.#conn = conn;
    this.#sockets = sockets;
    this.#target = target;
    this.#tally = tally;
    this.idle = proxy.idleSweep.watch(sockets.client, sockets.upstream);
  }

  /**
   * A fault of ours (a bug) before or while splicing: both sockets go. Before the splice nothing
   * else reports this tunnel's close, so it is reported here: otherwise the open-tunnel count
   * (kaizen_proxy_active_tunnels) stays up and a drain waits its deadline for a tunnel long gone.
   */
  failed(error: unknown): void {
    this.idle.stop();
    this.#conn.log.error({ err: error instanceof Error ? error.name : 'unknown', target: this.#target.authority }, 'tunnel failed');
    this.#sockets.client.destroy();
    this.#sockets.upstream.destroy();
    if (!this.#spliced) {
      this.#spliced = true;
      this.#closed(false, false);
    }
  }

  #flight(flight: FirstFlight): void {
    // Runs inside a socket's event: a fault of ours costs this tunnel, never the process.
    try {
      const passing = passesAtOnce(this.#target, flight);
      if (passing !== undefined) {
        this.#splice(passing);
        return;
      }
      // A decision to wait for (another server named), or a tunnel to close: nothing moves meanwhile.
      const { client, upstream } = this.#sockets;
      client.pause();
      upstream.pause();
      admitFirstFlight(this.#proxy, this.#conn, this.#sockets, this.#target, flight, this.#tally)
        .then((admitted) => {
          if (admitted === null) this.idle.stop();
          else this.#splice(admitted);
        })
        .catch((error: unknown) => {
          this.failed(error);
        });
    } catch (error) {
      this.failed(error);
    }
  }

  #splice(admitted: Admitted): void {
    const { client, upstream } = this.#sockets;
    for (const chunk of admitted.chunks) upstream.write(chunk);
    if (admitted.ended) upstream.end();
    this.idle.restart();
    this.#spliced = true;
    spliceSockets(client, upstream, this.idle, this.#proxy.lifecycle, this.#closed.bind(this));
  }

  /**
   * `cut`: a graceful close cut the spliced tunnel (socket-pipe.ts). `finished` (see reportClosed):
   * a spliced tunnel not cut ended by itself; one that failed before its splice did not.
   */
  #closed(cut: boolean, finished = !cut): void {
    const tally = this.#tally;
    markTunnelCut(tally, cut);
    const upstream = this.#sockets.upstream;
    tally.bytesUp = upstream.bytesWritten;
    tally.bytesDown = upstream.bytesRead;
    reportClosed(this.#proxy, this.#conn, tally, finished);
  }
}
