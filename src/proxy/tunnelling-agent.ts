import { Agent as HttpsAgent, type AgentOptions, type RequestOptions } from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { KaizenProxyError } from '../errors/kaizen-error.js';
import type { Connector } from '../net/connector.js';
import { secureUpstream } from '../net/secure-upstream.js';
import type { UpstreamProxy } from '../net/upstream-proxy.js';

type OnCreate = (error: Error | null, stream?: Duplex) => void;

/**
 * Keep-alive HTTPS to destinations through an upstream proxy: each new socket is a CONNECT to the
 * destination through the proxy, then verified TLS to the destination over it (SNI for names).
 * Used when the proxy itself originates TLS (https:// absolute-form, intercepted hosts). A failure
 * at the proxy is KZP_ERR_UPSTREAM_PROXY; a TLS failure stays the destination's, and is told as on
 * a direct connection (secure-upstream.ts): the request gets its socket once the handshake is done.
 */
export class TunnellingHttpsAgent extends HttpsAgent {
  readonly #connector: Connector;
  readonly #proxy: UpstreamProxy;
  readonly #connectTimeoutMs: number;

  /** `connector` opens each CONNECT, so a failure at the proxy gets the log line a tunnel's does. */
  constructor(connector: Connector, proxy: UpstreamProxy, connectTimeoutMs: number, options: AgentOptions) {
    super(options);
    this.#connector = connector;
    this.#proxy = proxy;
    this.#connectTimeoutMs = connectTimeoutMs;
  }

  override createConnection(options: RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    // Node's oncreate takes (error) alone on failure; the declared type insists on a stream.
    const done = callback as OnCreate | undefined;
    const host = options.host ?? 'localhost';
    const port = Number(options.port ?? 443);
    const authority = isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
    const servername = options.servername ?? (isIP(host) === 0 ? host : undefined);
    this.#connector.through(this.#proxy, authority, { connectTimeoutMs: this.#connectTimeoutMs }).then(
      (result) => {
        if (!result.ok) {
          done?.(new KaizenProxyError('KZP_ERR_UPSTREAM_PROXY', `upstream proxy ${this.#proxy.url}: ${result.detail}`));
          return;
        }
        // Resolves the TLS socket or the failure (never rejects).
        void secureUpstream(result.socket, {
          host,
          hostIsName: servername !== undefined && servername !== '',
          secureContext: this.options.secureContext,
          timeoutMs: this.#connectTimeoutMs,
        }).then((tls) => {
          if (tls instanceof Error) {
            done?.(tls);
            return;
          }
          // The dialled socket is half-open (dial.ts) and the TLS socket takes that from it, but
          // node:http pools a socket as long as it is writable: one whose peer ended (Squid closes
          // a tunnel on the destination's FIN) would take the next request and never answer it.
          // Ended with its peer, as node:http's own sockets are, it leaves the pool instead.
          tls.allowHalfOpen = false;
          done?.(null, tls);
        });
      },
      (error: unknown) => {
        done?.(error instanceof Error ? error : new KaizenProxyError('KZP_ERR_UPSTREAM_PROXY', 'upstream proxy failed'));
      },
    );
    return undefined;
  }
}
