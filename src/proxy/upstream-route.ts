import type { RequestOptions } from 'node:http';
import type { Target } from '../contract/target.js';
import { proxyAuthorization, type UpstreamProxy } from '../net/upstream-proxy.js';
import { MAX_RESPONSE_HEAD_BYTES } from './origin-pool.js';
import type { ViaAgents } from './pinned-upstream.js';
import type { SplitTarget } from './request-target.js';

type Split = Extract<SplitTarget, { ok: true }>;

/** Where one allowed request goes, as request options for node:http or node:https. */
export interface RequestRoute {
  readonly options: RequestOptions & { readonly servername?: string };
  /** node:https (TLS to the destination, directly or inside a CONNECT through the upstream). */
  readonly secure: boolean;
  /**
   * The upstream proxy a plain http:// request is sent to in absolute-form, or null. (Through a
   * tunnel, https:// failures at the proxy already carry KZP_ERR_UPSTREAM_PROXY.)
   */
  readonly forwardProxy: UpstreamProxy | null;
}

export interface RouteRequest {
  readonly method: string;
  /** Flat header list, Host first (hop-by-hop already removed). */
  readonly headers: readonly string[];
  /** The Host header value of the checked target. */
  readonly host: string;
}

/**
 * Through the upstream proxy (connector.upstreamFor said which): http:// goes absolute-form to the
 * proxy with Proxy-Authorization, on sockets pooled to the proxy; https:// goes through the CONNECT
 * agent. (Requests straight to a destination take our own client: upstream-dispatch.ts.) Either
 * takes a response head as large as our own client does (node:http stops at 16 KiB, short of a
 * real site's Content-Security-Policy). The options are written out whole: on Node 20 a spread
 * followed by more properties makes a new hidden class on every call
 * (src/runtime/socket-options-clone.ts).
 */
/** `agents`: the shared pool's, or the client connection's own (agentsThrough in pinned-upstream.ts). */
export function routeRequest(agents: ViaAgents, target: Target, split: Split, upstream: UpstreamProxy, request: RouteRequest): RequestRoute {
  const secure = split.scheme === 'https';
  const servername = target.hostType === 'dns' ? target.host : '';
  if (secure) {
    return {
      options: { method: request.method, setHost: false, agent: agents.https, host: target.host, port: target.port, path: split.path, headers: [...request.headers], servername, maxHeaderSize: MAX_RESPONSE_HEAD_BYTES },
      secure,
      forwardProxy: null,
    };
  }
  const auth = proxyAuthorization(upstream);
  return {
    options: {
      method: request.method,
      setHost: false,
      agent: agents.http,
      maxHeaderSize: MAX_RESPONSE_HEAD_BYTES,
      host: upstream.host,
      port: upstream.port,
      path: `http://${request.host}${split.path}`,
      headers: auth === null ? [...request.headers] : [...request.headers, 'Proxy-Authorization', auth],
    },
    secure,
    forwardProxy: upstream,
  };
}
