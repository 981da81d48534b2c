import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createClientErrorHandler } from './client-error.js';
import { ClosingAwareResponse } from './closing-response.js';
import { installConnectionGate, type ConnectionLimits } from './connection-limits.js';
import { refuseOnResponse, refuseOnSocket } from './deny-response.js';
import { DRAIN_TIMEOUT_MS } from './drain-then-destroy.js';
import { refuseByFirstByte } from './first-byte-refusal.js';
import type { ProxyContext } from './proxy-context.js';
import { reportRefused } from './exchange-events.js';
import { errorRefusal, type Refusal } from './refusal.js';
import { awaitHead, headArrived } from './handed-head.js';
import { headerCheckInterval } from './header-check-interval.js';
import { toAbsoluteForm } from './redirected-target.js';
import { refuseRedirect } from './transparent-refusal.js';
import { sniffFirstFlight, type SniffLimits } from './transparent-sniff.js';
import { tunnelRedirectedTls } from './transparent-tls.js';
import { inheritNoDelay } from '../net/listener-nodelay.js';
import type { LimitRefusalLog } from './limit-refusal-log.js';
import { handBack, parserHandOff, type ParserHandOff } from './parser-hand-off.js';
import { timeSniffedHead } from './sniffed-head-deadline.js';

type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;
type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export interface TransparentOptions {
  readonly connectionLimits: ConnectionLimits;
  /** The proxy port's refused lines of the limits, so one client's refusals share one allowance. */
  readonly refusalLog: LimitRefusalLog;
  readonly maxHeaderBytes: number;
  readonly headerTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** The proxy's own plain-HTTP and upgrade handlers: a redirected request takes the same path. */
  readonly onRequest: RequestHandler;
  /** The upgrade handler, given this listener's own parser to hand a non-WebSocket upgrade back to. */
  readonly upgradeHandler: (toParser: ParserHandOff) => UpgradeHandler;
}

const NO_DESTINATION = errorRefusal('KZP_ERR_TRANSPARENT_DESTINATION', { message: 'a redirected HTTP request without a Host header of host[:port]' });
const CONNECT_REFUSED = errorRefusal('KZP_ERR_BAD_REQUEST', { message: 'CONNECT is not accepted on the transparent port' });
const HEADER_TIMEOUT = errorRefusal('KZP_ERR_HEADER_TIMEOUT');

/**
 * The listener for connections redirected by iptables. Each connection's first flight is sniffed:
 * a TLS ClientHello becomes a tunnel to its SNI (src/proxy/transparent-tls.ts); an HTTP request is
 * handed back to this http.Server, whose requests are turned into absolute form from their Host
 * header and forwarded like any proxied request (decided per request, DNS by the proxy). Anything
 * else is refused and logged with the reason. Same limits and registry as the proxy port.
 */
export function createTransparentServer(proxy: ProxyContext, options: TransparentOptions): Server {
  const server = createServer({
    maxHeaderSize: options.maxHeaderBytes,
    headersTimeout: options.headerTimeoutMs,
    requestTimeout: 0,
    keepAliveTimeout: options.idleTimeoutMs,
    // As on the proxy port: Node's default checks header deadlines only every 30 s.
    connectionsCheckingInterval: headerCheckInterval(options.headerTimeoutMs),
    requireHostHeader: false,
    noDelay: true,
    // Tells the connection when an answer closes it, so nothing pipelined behind is relayed.
    ServerResponse: ClosingAwareResponse,
  });
  // Every header line, as on the proxy port (proxy-server.ts): max_header_bytes bounds a head.
  server.maxHeadersCount = 0;
  // Redirected connections take TCP_NODELAY from the listening socket too (listener-nodelay.ts).
  inheritNoDelay(server);
  const onUpgrade = options.upgradeHandler(parserHandOff(server));
  server.timeout = options.idleTimeoutMs;
  const onRequest: RequestHandler = (req, res) => {
    // The head awaited since the sniff (installSniffer) is in, refused or not.
    headArrived(proxy.registry.get(req.socket), proxy.lifecycle);
    const failure = toAbsoluteForm(req);
    if (failure !== null) {
      proxy.registry.get(req.socket).log.warn({ code: NO_DESTINATION.code, reason: failure }, 'refused');
      reportRefused(proxy.observer, NO_DESTINATION.code, failure);
      refuseOnResponse(req, res, NO_DESTINATION, true, proxy.lingerMs);
      return;
    }
    options.onRequest(req, res);
  };
  server.on('request', onRequest);
  server.on('checkContinue', onRequest);
  server.on('checkExpectation', onRequest);
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const failure = toAbsoluteForm(req);
    if (failure === null) onUpgrade(req, socket, head);
    else refuseHead(proxy, socket, NO_DESTINATION, failure);
  });
  // CONNECT is a request to a proxy; nothing redirected here ever needs it.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    refuseHead(proxy, socket, CONNECT_REFUSED, 'connect');
  });
  const clientError = createClientErrorHandler(proxy.registry, proxy.observer);
  server.on('clientError', clientError);
  installSniffer(server, proxy, { timeoutMs: options.headerTimeoutMs, maxHeaderBytes: options.maxHeaderBytes }, clientError);
  // Redirected clients are the pod's own processes, from its own address: read and logged, as before.
  // A refused TLS client reads a TLS alert, not an HTTP answer it would take for a protocol failure.
  installConnectionGate(server, proxy.registry, options.connectionLimits, proxy.logger, {
    observer: proxy.observer,
    readClient: true,
    refusalLog: options.refusalLog,
    // A connection over the limit is held no longer than any other refusal's drain: a TLS client
    // sends its ClientHello at once, and a flood of silent sockets must not pile up for header_timeout.
    refuse: refuseByFirstByte(Math.min(options.headerTimeoutMs, DRAIN_TIMEOUT_MS)),
  });
  return server;
}

/** A request head refused on its socket (an upgrade or a CONNECT): logged and counted like a refused request, no longer in flight. */
function refuseHead(proxy: ProxyContext, socket: Duplex, refusal: Refusal, reason: string): void {
  if (!(socket instanceof Socket)) {
    socket.destroy();
    return;
  }
  const conn = proxy.registry.get(socket);
  // Answered: the head awaited since the sniff is in, not in flight while the refusal's close lingers.
  headArrived(conn, proxy.lifecycle);
  conn.log.warn({ code: refusal.code, reason }, 'refused');
  reportRefused(proxy.observer, refusal.code, reason);
  refuseOnSocket(socket, refusal);
}

type ConnectionListener = (this: Server, socket: Socket) => void;

/**
 * Puts the first-flight sniff in front of the http.Server's own connection listener. A connection
 * whose first flight is awaited is in flight for a drain (Lifecycle.headBegun, silent until its
 * first bytes), as a new connection on the proxy port is: its request or ClientHello may be on its
 * way. Its sniff ends the wait (the header timeout bounds it), an HTTP head going on as one
 * node:http awaits (handed-head.ts).
 */
function installSniffer(server: Server, proxy: ProxyContext, limits: SniffLimits, clientError: (error: Error, socket: Socket) => void): void {
  const http = server.listeners('connection') as ConnectionListener[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    const conn = proxy.registry.get(socket);
    const acceptedAt = performance.now();
    // Silent (wrap mode's stop does not wait for it) until its first bytes are read.
    let silent = true;
    proxy.lifecycle.headBegun(true);
    const firstBytes = (): void => {
      silent = false;
      proxy.lifecycle.firstBytes();
    };
    void sniffFirstFlight(socket, limits, firstBytes).then((sniffed) => {
      if (sniffed.kind === 'http') awaitHead(conn, socket, proxy.lifecycle);
      // Checked for a drain's end after this run: a tunnel's begin() below comes first.
      proxy.lifecycle.headEnded(silent);
      switch (sniffed.kind) {
        case 'http':
          handBack(socket, sniffed.bytes, (handed) => {
            for (const listener of http) listener.call(server, handed);
          });
          // One header_timeout for the whole head, the sniff's time included (node:http's starts now).
          timeSniffedHead(conn, socket, proxy.lifecycle, { bytes: sniffed.bytes, acceptedAt, timeoutMs: limits.timeoutMs }, clientError);
          return;
        case 'http_timeout':
          // What node:http's own header timeout answers (client-error.ts), had it had the bytes.
          conn.log.info({ status: HEADER_TIMEOUT.status, code: HEADER_TIMEOUT.code }, 'refused');
          refuseOnSocket(socket, HEADER_TIMEOUT);
          reportRefused(proxy.observer, HEADER_TIMEOUT.code);
          return;
        case 'tls':
          proxy.lifecycle.begin();
          tunnelRedirectedTls(proxy, conn, socket, sniffed.bytes, sniffed.sni).then(
            () => {
              proxy.lifecycle.end();
            },
            (error: unknown) => {
              conn.log.error({ err: error instanceof Error ? error.name : 'unknown' }, 'redirected tunnel failed');
              socket.destroy();
              proxy.lifecycle.end();
            },
          );
          return;
        case 'unknown':
          refuseRedirect(proxy, conn, socket, sniffed.reason, sniffed.detail);
      }
    });
  });
}
