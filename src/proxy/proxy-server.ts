import { createServer, type Server } from 'node:http';
import type { Decider, ImmediateDecider, NameRefusingDecider, Resolution } from '../contract/decision.js';
import type { Authenticate } from '../contract/client-identity.js';
import type { ProxyObserver } from '../contract/observer.js';
import type { Target } from '../contract/target.js';
import type { Interceptor } from '../contract/interceptor.js';
import type { OriginPoolStats } from '../contract/origin-pool-stats.js';
import type { DnsCacheStats } from '../contract/dns-cache-stats.js';
import { NO_LABELS, type ActionLabels } from '../action/action-labels.js';
import { directConnector, type Connector } from '../net/connector.js';
import { createDnsCache } from '../net/dns-cache.js';
import { IdleSweep } from '../net/idle-sweep.js';
import type { Logger } from '../observe/logger.js';
import { createClientErrorHandler } from './client-error.js';
import { ClosingAwareResponse } from './closing-response.js';
import { agentClient, ClientRate } from './client-rate.js';
import { installConnectionGate } from './connection-limits.js';
import { ConnectionRegistry } from './connection-registry.js';
import { createLimitRefusalLog } from './limit-refusal-log.js';
import { createConnectHandler, createVersionCheckedConnect } from './connect-tunnel.js';
import { closeGracefully, type CloseOptions } from './graceful-close.js';
import { createRequestHandler } from './http-forward.js';
import { FastLane } from './fast-lane.js';
import { headerCheckInterval } from './header-check-interval.js';
import { listenOn } from '../net/listen-on.js';
import { inheritNoDelay } from '../net/listener-nodelay.js';
import { isLoopbackHost } from '../net/loopback-host.js';
import { Lifecycle } from './lifecycle.js';
import type { ProxyContext } from './proxy-context.js';
import { createTransparentServer } from './transparent-server.js';
import { createUpgradeHandler } from './upgrade-tunnel.js';
import { createInterception } from './interception.js';
import { parserHandOff } from './parser-hand-off.js';
import { createUpstreamPool } from './upstream-pool.js';
import { LINGER_MAX_MS } from './drain-then-destroy.js';

export interface ProxyServerOptions {
  readonly decider: Decider & Partial<ImmediateDecider> & Partial<NameRefusingDecider>;
  readonly logger: Logger;
  readonly agent: string;
  readonly limits: {
    readonly maxConnections: number;
    /** limits.max_connections_per_client (0: none); absent: none. */
    readonly maxConnectionsPerClient?: number;
    /** limits.client_rate and client_burst (0: none); absent: none. */
    readonly clientRatePerSecond?: number;
    readonly clientBurst?: number;
    readonly maxHeaderBytes: number;
    readonly headerTimeoutMs: number;
    readonly drainTimeoutMs: number;
    /** How long a refused request's body is read on (lingering close); LINGER_MAX_MS when absent. Not a config key: tests shorten it. */
    readonly lingerMs?: number;
  };
  readonly network: {
    readonly connectTimeoutMs: number;
    readonly idleTimeoutMs: number;
    /** The name-lookup cache in front of the system resolver (src/net/dns-cache.ts); not used with `resolve`. */
    readonly dnsTtlMs: number;
    readonly dnsNegativeTtlMs: number;
    /** Absent: no deadline for a lookup. */
    readonly dnsTimeoutMs?: number;
    /** Absent: a failed lookup never serves a stale answer. */
    readonly dnsStaleIfErrorMs?: number;
  };
  /** Replaces the cached system resolver (src/net/resolve.ts): a test's own name table. */
  readonly resolve?: (target: Target) => Promise<Resolution>;
  /** PEM CAs trusted besides Node's default store (bundled roots, NODE_EXTRA_CA_CERTS) when the proxy itself originates TLS (https:// and wss:// absolute-form). */
  readonly upstreamCa?: readonly string[];
  /** Told of every decision, finished exchange and early refusal (metrics, wrap summary, records). */
  readonly observer?: ProxyObserver;
  /** Opens the paths to destinations: directConnector unless an upstream proxy is configured. */
  readonly connector?: Connector;
  /** Gateway mode: every request must name its agent in Proxy-Authorization (407 otherwise). */
  readonly authenticate?: Authenticate;
  /** Tool routes and publishers for actions; none by default. */
  readonly labels?: ActionLabels;
  /** TLS interception (intercept.hosts); every CONNECT stays an opaque tunnel without it. */
  readonly interceptor?: Interceptor;
}

export interface ProxyServer {
  listen(host: string, port: number): Promise<{ address: string; port: number }>;
  /**
   * Graceful: stop accepting (every listener, before this returns), let requests in flight and open
   * tunnels finish up to drainTimeoutMs, then destroy what is left (graceful-close.ts). Later calls
   * return the first call's promise.
   */
  close(options?: CloseOptions): Promise<void>;
  /**
   * Also accept connections redirected by iptables on host:port (transparent mode): same decider,
   * limits, registry and graceful close. May be called several times (e.g. 127.0.0.1 and ::1).
   */
  listenTransparent(host: string, port: number): Promise<{ address: string; port: number }>;
  readonly activeConnections: number;
  /** Tunnels open now (CONNECT after its 200, spliced upgrades, redirected TLS). */
  readonly activeTunnels: number;
  /**
   * Exchanges in flight now: requests not yet answered in full, tunnels and upgrades being set up,
   * and requests whose head is awaited (a fast-lane connection's, one a drain waits for: lifecycle.ts).
   */
  readonly inFlight: number;
  /** The plain-HTTP destination pools now (read at /metrics scrapes). */
  readonly originPool: OriginPoolStats;
  /** The name-lookup cache now (read at /metrics scrapes). */
  readonly dnsCache: DnsCacheStats;
  /** Client connections the fast lane holds between requests (idle, or waiting for a head). */
  readonly laneConnections: number;
  /** A gateway identity removed or admitted anew: what the transport holds for it (its client_rate bucket) starts over. */
  forgetAgent(agent: string): void;
}

/** Names whose lookups are kept (a sidecar's agent talks to tens of hosts; a shared proxy to thousands). */
const DNS_CACHE_ENTRIES = 10_000;
/** Clients whose rate buckets are kept (limits.client_rate); a forgotten one starts with a full bucket. */
const RATE_CLIENTS = 10_000;

export function createProxyServer(options: ProxyServerOptions): ProxyServer {
  const { limits, network } = options;
  const registry = new ConnectionRegistry(options.logger);
  const dns = createDnsCache({
    ttlMs: network.dnsTtlMs,
    negativeTtlMs: network.dnsNegativeTtlMs,
    staleIfErrorMs: network.dnsStaleIfErrorMs ?? 0,
    timeoutMs: network.dnsTimeoutMs ?? 0,
    maxEntries: DNS_CACHE_ENTRIES,
  });
  const connector = options.connector ?? directConnector;
  // One allowance of refused lines for every listener: a client refused on both is one client.
  const refusalLog = createLimitRefusalLog(options.logger, { observer: options.observer ?? null });
  const proxy: ProxyContext = {
    decider: options.decider,
    agent: options.agent,
    identity: null,
    logger: options.logger,
    resolve: options.resolve === undefined ? (target) => dns.resolve(target) : neverRejecting(options.resolve),
    // A resolver of the caller's own (tests) always answers through its promise.
    resolveNow: options.resolve === undefined ? (target) => dns.resolveNow(target) : () => undefined,
    connectTimeoutMs: network.connectTimeoutMs,
    idleTimeoutMs: network.idleTimeoutMs,
    lingerMs: limits.lingerMs ?? LINGER_MAX_MS,
    idleSweep: new IdleSweep(network.idleTimeoutMs),
    registry,
    pool: createUpstreamPool({ idleTimeoutMs: network.idleTimeoutMs, extraCa: options.upstreamCa ?? [], connectTimeoutMs: network.connectTimeoutMs, connector, logger: options.logger, refusalLog }),
    lifecycle: new Lifecycle(),
    observer: options.observer ?? null,
    connector,
    authenticate: options.authenticate ?? null,
    labels: options.labels ?? NO_LABELS,
    refusalLog,
    clientRate: (limits.clientRatePerSecond ?? 0) > 0 ? new ClientRate({ perSecond: limits.clientRatePerSecond ?? 0, burst: limits.clientBurst ?? 0, maxClients: RATE_CLIENTS }) : null,
    // Decrypted sockets join the server like new connections (gate, parser, timeouts, registry).
    interception:
      options.interceptor === undefined
        ? null
        : createInterception(options.interceptor, limits.headerTimeoutMs, (socket) => {
            registry.markDecrypted(socket);
            server.emit('connection', socket);
          }),
  };

  const server: Server = createServer({
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headerTimeoutMs,
    // Whole-request deadlines would cut long uploads; a stalled body is caught by the idle timeout.
    requestTimeout: 0,
    keepAliveTimeout: network.idleTimeoutMs,
    connectionsCheckingInterval: headerCheckInterval(limits.headerTimeoutMs),
    // Absolute-form requests carry their authority; a missing Host is not our 400 to give.
    requireHostHeader: false,
    noDelay: true,
    // Tells the connection when an answer closes it, so nothing pipelined behind is relayed.
    ServerResponse: ClosingAwareResponse,
  });
  // Every header line reaches the handlers (node:http keeps 1,000 unless told): one past them, a
  // Transfer-Encoding say, was parsed but never seen, so the body went unframed. Intercepted
  // sessions join this server; max_header_bytes bounds a head.
  server.maxHeadersCount = 0;
  // Accepted sockets take TCP_NODELAY from the listening socket, not by a call each (listener-nodelay.ts).
  inheritNoDelay(server);
  // Before the gate moves node:http's listener: a non-WebSocket upgrade goes back to its parser.
  const toParser = parserHandOff(server);
  server.timeout = network.idleTimeoutMs;
  const onRequest = createRequestHandler(proxy);
  server.on('request', onRequest);
  // Answered like any request, but the 100 Continue comes from the destination, relayed.
  server.on('checkContinue', onRequest);
  // Any other Expect: answered 417 by the handler with a closed line, not by node:http unseen.
  server.on('checkExpectation', onRequest);
  const onConnect = createConnectHandler(proxy);
  // The fast lane (below) calls onConnect itself: it takes only HTTP/1.1 and 1.0 CONNECTs.
  server.on('connect', createVersionCheckedConnect(proxy, onConnect));
  const onUpgrade = createUpgradeHandler(proxy, toParser);
  server.on('upgrade', onUpgrade);
  const clientError = createClientErrorHandler(registry, proxy.observer, proxy.interception);
  server.on('clientError', clientError);
  const connectionLimits = { maxConnections: limits.maxConnections, maxConnectionsPerClient: limits.maxConnectionsPerClient ?? 0 };
  const lane = new FastLane(proxy, {
    maxHeaderBytes: limits.maxHeaderBytes,
    headerTimeoutMs: limits.headerTimeoutMs,
    checkingIntervalMs: headerCheckInterval(limits.headerTimeoutMs),
    idleTimeoutMs: network.idleTimeoutMs,
    clientError,
    connect: onConnect,
  });
  installConnectionGate(server, registry, connectionLimits, options.logger, {
    observer: proxy.observer,
    refusalLog,
    front: (socket, toNode) => {
      lane.accept(socket, toNode);
    },
  });
  // Client addresses are read where they tell clients apart or a limit counts by them (see
  // ConnectionRegistry.readClientAddresses); listen() turns them on for a listener beyond loopback.
  registry.readClientAddresses = connectionLimits.maxConnectionsPerClient > 0 || (limits.clientRatePerSecond ?? 0) > 0;

  const redirected: Server[] = [];

  let closing: Promise<void> | null = null;
  return {
    listen(host, port) {
      if (!isLoopbackHost(host)) registry.readClientAddresses = true;
      return listenOn(server, host, port);
    },
    listenTransparent(host, port) {
      // Redirected connections carry no credentials: they are the configured agent's.
      const redirectedProxy: ProxyContext = { ...proxy, authenticate: null };
      const listener = createTransparentServer(redirectedProxy, {
        connectionLimits,
        refusalLog,
        maxHeaderBytes: limits.maxHeaderBytes,
        headerTimeoutMs: limits.headerTimeoutMs,
        idleTimeoutMs: network.idleTimeoutMs,
        onRequest: createRequestHandler(redirectedProxy),
        upgradeHandler: (toRedirectedParser) => createUpgradeHandler(redirectedProxy, toRedirectedParser),
      });
      redirected.push(listener);
      return listenOn(listener, host, port);
    },
    close(closeOptions = {}) {
      closing ??= closeGracefully({ server, lane, redirected }, proxy, limits, closeOptions);
      return closing;
    },
    get activeConnections() {
      return registry.size;
    },
    get activeTunnels() {
      return proxy.lifecycle.openTunnels;
    },
    get inFlight() {
      return proxy.lifecycle.inflight;
    },
    get originPool() {
      return proxy.pool.origins.stats();
    },
    get dnsCache() {
      return { entries: dns.size, ...dns.counts };
    },
    get laneConnections() {
      return lane.held;
    },
    forgetAgent(agent) {
      proxy.clientRate?.forget(agentClient(agent));
    },
  };
}

function neverRejecting(resolve: (target: Target) => Promise<Resolution>): (target: Target) => Promise<Resolution> {
  return (target) => {
    try {
      return resolve(target).catch(() => DNS_FAILED);
    } catch {
      return Promise.resolve(DNS_FAILED);
    }
  };
}

const DNS_FAILED: Resolution = { ok: false, code: 'KZP_ERR_DNS', message: 'resolver failed' };
