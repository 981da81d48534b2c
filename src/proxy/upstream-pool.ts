import { createSecureContext, type SecureContext } from 'node:tls';
import { directConnector, type Connector } from '../net/connector.js';
import { defaultCaStore } from '../net/default-ca-store.js';
import type { Logger } from '../observe/logger.js';
import type { LimitRefusalLog } from './limit-refusal-log.js';
import { createOriginPools, type OriginPools } from './origin-pools.js';

/**
 * The proxy's pooled connections for HTTP it forwards or originates: on our own client (`origins`,
 * origin-connection.ts), straight to destinations (dialling only the addresses checked before the
 * verdict, never asking DNS again) or through an upstream proxy (origin-route.ts).
 */
export interface UpstreamPool {
  /**
   * Node's default store (bundled roots, NODE_EXTRA_CA_CERTS) plus the configured extra CAs, when
   * there are any (also used for wss:// upgrades); undefined leaves Node's default store alone.
   */
  readonly secureContext: SecureContext | undefined;
  /** Our HTTP/1.1 client's pools for every request the proxy sends (see upstream-dispatch.ts). */
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
  /** Opens the CONNECTs of https:// requests through an upstream proxy and reports their failures (one log line each). */
  readonly connector?: Connector;
  /** Where the origin pools report a dial that found no descriptor (the proxy's `refused` lines). */
  readonly refusalLog?: LimitRefusalLog;
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

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export function createUpstreamPool(options: UpstreamPoolOptions): UpstreamPool {
  const extraCa = options.extraCa ?? [];
  // A shared SecureContext (not a `ca` option) keeps the roots parsed once.
  const secureContext = extraCa.length === 0 ? undefined : withExtraCa(extraCa, options.logger);
  const origins = createOriginPools({
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    idleTimeoutMs: options.idleTimeoutMs,
    secureContext,
    connector: options.connector ?? directConnector,
    ...(options.refusalLog === undefined ? {} : { refusalLog: options.refusalLog }),
  });
  return {
    secureContext,
    origins,
    destroy(): void {
      origins.destroy();
    },
  };
}
