import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { Target } from '../contract/target.js';
import type { UpstreamProxy } from '../net/upstream-proxy.js';
import type { RequestView } from './exchange-views.js';
import { bindsConnection } from './pinned-origin.js';
import type { ProxyContext } from './proxy-context.js';

/** The keep-alive agents one request through an upstream proxy goes out on. */
export interface ViaAgents {
  readonly http: HttpAgent;
  readonly https: HttpsAgent;
}

/**
 * Agents of one client connection's own, for one upstream proxy, destination and gateway agent
 * (ConnectionContext.pinnedVia): the connections they hold carried that client's NTLM or
 * Negotiate handshake, and the upstream proxy pins its own connection to the destination to them.
 */
export interface PinnedVia {
  readonly key: string;
  readonly agents: ViaAgents;
}

/**
 * The agents for a request through `upstream`: the shared pool's, unless the request carries
 * connection-bound credentials (`Authorization: NTLM`, `Negotiate`) or its client connection already
 * sent some to this destination. Then they are agents of that client connection alone, one socket
 * each, closed with it: an upstream proxy that pins (Squid's connection-auth) serves every later
 * request on an authenticated connection as the user who authenticated it, so a socket to it
 * shared with other clients or agents would hand them that identity.
 */
export function agentsThrough(proxy: ProxyContext, req: RequestView, upstream: UpstreamProxy, target: Target, scheme: string): ViaAgents {
  const conn = proxy.registry.get(req.socket);
  const key = `${upstream.url} ${upstream.username ?? ''} ${scheme} ${target.authority}\n${proxy.agent}`;
  const pinned = conn.pinnedVia;
  if (pinned !== null && pinned.key === key) return pinned.agents;
  if (!bindsConnection(req.rawHeaders, 'authorization')) return proxy.pool.viaProxy(upstream);
  const agents = proxy.pool.pinnedViaProxy(upstream);
  if (pinned === null) {
    // The first on this client connection: its close closes whichever agents are pinned then.
    req.socket.once('close', () => {
      destroyAgents(conn.pinnedVia?.agents);
      conn.pinnedVia = null;
    });
  } else destroyAgents(pinned.agents);
  conn.pinnedVia = { key, agents };
  return agents;
}

function destroyAgents(agents: ViaAgents | undefined): void {
  agents?.http.destroy();
  agents?.https.destroy();
}
