import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';
import { directConnector, type Connector } from '../net/connector.js';
import { defaultCaStore } from '../net/default-ca-store.js';
import type { Logger } from '../observe/logger.js';
import type { LimitRefusalLog } from './limit-refusal-log.js';
import type { UpstreamProxy } from '../net/upstream-proxy.js';
import { createOriginPools, type OriginPools } from './origin-pools.js';
import { TunnellingHttpsAgent } from './tunnelling-agent.js';

/**
 * The proxy's pooled connections for plain HTTP: straight to destinations on our own client
 * (`origins`, which dials only the addresses checked before the verdict and never asks DNS again),
 * and node:http keep-alive agents through an upstream proxy (`viaProxy`).
 */
export interface UpstreamPool {
  /**
   * Node's default store (bundled roots, NODE_EXTRA_CA_CERTS) plus the configured extra CAs, when
   * there are any (also used for wss:// upgrades); undefined leaves Node's default store alone.
   */
  readonly secureContext: SecureContext | undefined;
  /**
   * Keep-alive agents through an upstream proxy (made on first use, one pair per proxy and
   * credentials): `http` pools sockets to the proxy itself (absolute-form requests), `https`
   * tunnels with CONNECT.
   */
  viaProxy(proxy: UpstreamProxy): { readonly http: HttpAgent; readonly https: HttpsAgent };
  /**
   * A new pair of agents through `proxy`, one keep-alive socket each, for one client connection
   * alone (pinned-upstream.ts): the caller destroys them.
   */
  pinnedViaProxy(proxy: UpstreamProxy): { readonly http: HttpAgent; readonly https: HttpsAgent };
  /** Our HTTP/1.1 client's pools for every request sent straight to its destination (see upstream-dispatch.ts). */
  readonly origins: OriginPools;
  destroy(): void;
}

export interface UpstreamPoolOptions {
  readonly idleTimeoutMs: number;
  /** PEM certificates trusted in addition to Node's default store when the proxy originates TLS. */
  readonly extraCa?: readonly string[];
  /** Told when NODE_EXTRA_CA_CERTS cannot be read while extraCa is built on top of it. */
  readonly logger: Logger;
  /** Deadline for a CONNECT through an upstream proxy (connection and answer). */
  readonly connectTimeoutMs?: number;
  /** Opens the CONNECTs of https:// requests and reports their failures (one log line each). */
  readonly connector?: Connector;
  /** Where the origin pools report a dial that found no descriptor (the proxy's `refused` lines). */
  readonly refusalLog?: LimitRefusalLog;
}

/** One upstream's agents, with the credentials they were made for (never logged). */
interface ProxyAgents {
  readonly username: string | null;
  readonly password: string | null;
  readonly http: HttpAgent;
  readonly https: HttpsAgent;
}

/**
 * A `ca` option replaces Node's default store: it starts from that store (NODE_EXTRA_CA_CERTS
 * included), so upstream_ca adds to what the process trusts instead of taking it away.
 */
function withExtraCa(extraCa: readonly string[], logger: Logger): SecureContext {
  const store = defaultCaStore();
  if (store.ignored !== null) {
    logger.warn({ file: store.ignored.file, reason: store.ignored.reason }, 'NODE_EXTRA_CA_CERTS ignored, as Node ignores it: the file cannot be read or holds no certificate');
  }
  return createSecureContext({ ca: [...store.pems, ...extraCa] });
}

/** Per destination (host:port); bounded so one slow destination cannot take every socket. */
const MAX_SOCKETS_PER_DESTINATION = 256;
const MAX_TOTAL_SOCKETS = 4096;
const MAX_FREE_SOCKETS_PER_DESTINATION = 256;
/** Idle pooled sockets close before typical origin keep-alive timeouts (5 s) race a reuse. */
const FREE_SOCKET_TIMEOUT_MS = 4_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export function createUpstreamPool(options: UpstreamPoolOptions): UpstreamPool {
  const common = {
    keepAlive: true,
    maxSockets: MAX_SOCKETS_PER_DESTINATION,
    maxTotalSockets: MAX_TOTAL_SOCKETS,
    maxFreeSockets: MAX_FREE_SOCKETS_PER_DESTINATION,
    timeout: Math.min(FREE_SOCKET_TIMEOUT_MS, options.idleTimeoutMs),
    scheduling: 'lifo' as const,
  };
  const extraCa = options.extraCa ?? [];
  const connector = options.connector ?? directConnector;
  // A shared SecureContext (not a `ca` option) keeps the pool key short and the roots parsed once.
  const secureContext = extraCa.length === 0 ? undefined : withExtraCa(extraCa, options.logger);
  // By url, then credentials: HTTPS_PROXY and HTTP_PROXY may name one host:port as different
  // users, and a CONNECT agent made for one must never carry the other's Proxy-Authorization.
  const proxied = new Map<string, ProxyAgents[]>();
  const tunnelOptions = secureContext === undefined ? common : { ...common, secureContext };
  const origins = createOriginPools({ connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, idleTimeoutMs: options.idleTimeoutMs, secureContext, ...(options.refusalLog === undefined ? {} : { refusalLog: options.refusalLog }) });
  return {
    secureContext,
    origins,
    viaProxy(proxy) {
      let same = proxied.get(proxy.url);
      if (same === undefined) {
        same = [];
        proxied.set(proxy.url, same);
      }
      // A loop, not find(): no closure per request; there are one or two entries.
      for (const agents of same) {
        if (agents.username === proxy.username && agents.password === proxy.password) return agents;
      }
      const agents: ProxyAgents = {
        username: proxy.username,
        password: proxy.password,
        http: new HttpAgent(common),
        https: new TunnellingHttpsAgent(connector, proxy, options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, tunnelOptions),
      };
      same.push(agents);
      return agents;
    },
    pinnedViaProxy(proxy) {
      const one = { ...common, maxSockets: 1, maxFreeSockets: 1 };
      return {
        http: new HttpAgent(one),
        https: new TunnellingHttpsAgent(connector, proxy, options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, secureContext === undefined ? one : { ...one, secureContext }),
      };
    },
    destroy(): void {
      origins.destroy();
      for (const same of proxied.values()) {
        for (const agents of same) {
          agents.http.destroy();
          agents.https.destroy();
        }
      }
    },
  };
}
