import type { Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import { stopAccepting } from '../net/listen-on.js';
import type { FastLane } from './fast-lane.js';
import { awaitParsedHeads } from './handed-head.js';
import { ParsedHeadDeadlines } from './parsed-head-deadline.js';
import type { ProxyContext } from './proxy-context.js';

export interface CloseOptions {
  /**
   * Let open tunnels (CONNECT, upgrades, intercepted sessions, redirected TLS) run until they end
   * or the deadline passes: the default. False (wrap mode, once its command has exited: nobody is
   * left at the other end) waits only for requests in flight (heads begun included) and for uploads
   * still on their way to a tunnel's destination (upload-flush.ts), and cuts every other tunnel.
   * Neither waits for a connection that has sent nothing yet (Lifecycle.headBegun(true)).
   */
  readonly waitForTunnels?: boolean;
  /** Aborted during the drain: it ends at once and what is still open is cut (a second SIGTERM or SIGINT). */
  readonly signal?: AbortSignal;
}

/** What accepts clients: the proxy port's server (intercepted sessions are its connections too), its fast lane, transparent listeners. */
export interface ClientListeners {
  readonly server: Server;
  readonly lane: FastLane | null;
  readonly redirected: readonly Server[];
}

/** The limits a graceful close keeps: one deadline for the whole drain, and header_timeout for the heads it awaits. */
export interface DrainLimits {
  readonly drainTimeoutMs: number;
  readonly headerTimeoutMs: number;
}

/**
 * How long a close waits, after destroying what was left, for those connections to report
 * themselves closed: destroyed sockets close a few ticks later; this only bounds a leak.
 */
const CLOSE_REPORTS_MS = 2_000;

/**
 * Graceful close: stop accepting, close idle keep-alive connections, let requests in flight and
 * open tunnels finish within `limits.drainTimeoutMs` (one deadline for everything, from this call), then
 * destroy whatever is left and the upstream pool (a spliced tunnel with a reset both ways). A
 * tunnel is left to its client and destination, as Squid's shutdown_lifetime and Envoy's drain
 * leave them. A connection does not start another request: responses say `Connection: close`
 * once the drain has begun (node:http, the fast lane), and one whose response said keep-alive
 * before it is closed once that response is done (an intercepted session with a stream in flight
 * would otherwise hold the drain to its deadline).
 * Resolves once every connection has closed and every exchange and tunnel has been reported
 * closed (its `closed` line and observers: the wrap summary counts their bytes from them).
 */
export async function closeGracefully(listeners: ClientListeners, proxy: ProxyContext, limits: DrainLimits, options: CloseOptions = {}): Promise<void> {
  const servers = [listeners.server, ...listeners.redirected];
  // Each stops accepting and closes its idle connections now, before the first await (ProxyServer.close
  // promises it to readiness); resolves once every connection of theirs is gone.
  const closed = Promise.all(servers.map(stopAccepting));
  listeners.lane?.closeIdle();
  // node:http knows which connections are idle (a pipelined request keeps one busy): asked once
  // per turn of the event loop in which exchanges (or answered requests' bodies) ended, not once each.
  let asked = false;
  const closeIdle = (): void => {
    asked = false;
    for (const server of servers) server.closeIdleConnections();
  };
  const askIdle = (): void => {
    if (asked) return;
    asked = true;
    setImmediate(closeIdle);
  };
  // What node:http kept open holds a head arriving (or one still to come on a new connection): in
  // flight, timed by header_timeout as node:http timed it until its server closed.
  const deadlines = new ParsedHeadDeadlines(limits.headerTimeoutMs, proxy.lifecycle);
  awaitParsedHeads(proxy.registry, proxy.lifecycle, askIdle, deadlines);
  const startedAt = performance.now();
  const lifecycle = proxy.lifecycle;
  const ended = await lifecycle.drain({
    timeoutMs: limits.drainTimeoutMs,
    waitForTunnels: options.waitForTunnels ?? true,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    exchangeEnded: askIdle,
  });
  const tunnels = lifecycle.openTunnels + lifecycle.quietCuts;
  // What the drain waited for and left (not the connections that had sent nothing).
  const inflight = lifecycle.inflightWaited;
  // Spliced tunnels first, reset both ways: destroyAll would end their client sockets with a FIN,
  // as if their streams were complete. Those whose client has closed first and whose destination
  // has not answered yet are among them.
  // From here on an exchange that fails or closes unfinished was cut by us (KZP_ERR_SHUTDOWN), not
  // by its destination: destroying its destination connection makes it fail as if it had.
  deadlines.stop();
  lifecycle.cutting();
  // Spliced tunnels that ended by themselves just before (their 'close' still to come) were not cut.
  const endedByThemselves = lifecycle.cutSpliced();
  const connections = proxy.registry.destroyAll();
  proxy.pool.destroy();
  proxy.logger.info(
    { ended, drain_ms: Math.round(performance.now() - startedAt), tunnels_cut: tunnels - endedByThemselves, in_flight_cut: inflight, connections_cut: connections },
    'drain ended',
  );
  await closed;
  if (!(await lifecycle.settled(CLOSE_REPORTS_MS))) {
    proxy.logger.warn({ open_tunnels: lifecycle.openTunnels, in_flight: lifecycle.inflight }, 'closed without every exchange reported closed');
  }
}
