import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { httpAction } from '../action/build-action.js';
import { parseAuthority } from '../action/target-parse.js';
import { secureUpstream } from '../net/secure-upstream.js';
import { reportClosed, tunnelOpened } from './exchange-events.js';
import { newTally } from './exchange-log.js';
import { upgradeRequestHead } from './hop-by-hop.js';
import { authenticateRequest, requestSplit } from './pinned-target.js';
import type { ProxyContext } from './proxy-context.js';
import { errorRefusal } from './refusal.js';
import { readResponseHead, withoutKaizenHeaders } from './response-head.js';
import { hostHeader } from './request-target.js';
import { spliceSockets } from './socket-pipe.js';
import { captureEarlyBytes } from './early-bytes.js';
import { forwardEarlyBytes, openTunnelUpstream, refuseTunnel } from './tunnel-open.js';

/**
 * An absolute-form request with `Upgrade` (WebSocket): decided like any request (scheme ws/wss),
 * then the destination is dialled, the request head is written to it (hop-by-hop cleaned, Host of
 * the checked target), the destination's answer (a 101, or a refusal) is relayed without any
 * `X-Kaizen-*` header of its own, and bytes are tunnelled both ways. `https://` upgrades get
 * verified TLS to the destination.
 */
export function createUpgradeHandler(proxy: ProxyContext): (req: IncomingMessage, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    if (!(socket instanceof Socket)) {
      socket.destroy();
      return;
    }
    proxy.lifecycle.begin();
    handleUpgrade(proxy, req, socket, head).then(
      () => {
        proxy.lifecycle.end();
      },
      (error: unknown) => {
        proxy.logger.error({ err: error instanceof Error ? error.name : 'unknown' }, 'upgrade failed');
        socket.destroy();
        proxy.lifecycle.end();
      },
    );
  };
}

async function handleUpgrade(base: ProxyContext, req: IncomingMessage, client: Socket, head: Buffer): Promise<void> {
  const auth = authenticateRequest(base, req);
  const proxy = auth.proxy;
  const conn = proxy.registry.get(client);
  const tally = newTally('upgrade', performance.now());
  if (!auth.ok) {
    refuseTunnel(proxy, conn, client, tally, auth.refusal);
    return;
  }
  const split = requestSplit(proxy, req, conn);
  if (!split.ok) {
    refuseTunnel(proxy, conn, client, tally, errorRefusal(split.code));
    return;
  }
  const parsed = parseAuthority(split.authority);
  if (!parsed.ok) {
    refuseTunnel(proxy, conn, client, tally, errorRefusal(parsed.code, { message: parsed.message }));
    return;
  }
  const target = parsed.value;
  tally.target = target.authority;
  const secure = split.scheme === 'https';
  const method = req.method ?? 'GET';
  const action = httpAction(target, { method, path: split.pathOnly, scheme: upgradeScheme(req, secure) }, proxy.labels.request(target, method, split.pathOnly));
  tally.action = action;
  const early = captureEarlyBytes(client);
  const dialed = await openTunnelUpstream({ proxy, conn, client, target, action, tally, early, relayable: !secure });
  if (dialed === null) return;

  let upstream: Socket = dialed;
  if (secure) {
    const tls = await secureUpstream(dialed, { host: target.host, hostIsName: target.hostType === 'dns', secureContext: proxy.pool.secureContext, timeoutMs: proxy.connectTimeoutMs });
    if (tls instanceof Error || client.destroyed) {
      if (!(tls instanceof Error)) tls.destroy();
      if (!client.destroyed) refuseTunnel(proxy, conn, client, tally, errorRefusal('KZP_ERR_UPSTREAM_TLS', { target: target.authority }), early);
      return;
    }
    upstream = tls;
  }

  const requestHead = upgradeRequestHead(method, split.path, req.rawHeaders, hostHeader(target.host, target.port, target.hostType === 'ipv6', split.scheme));
  const headBytes = Buffer.byteLength(requestHead);
  upstream.write(requestHead);
  if (head.length > 0) upstream.write(head);
  forwardEarlyBytes(early, upstream);
  const answer = await readResponseHead(upstream, proxy.idleTimeoutMs);
  if (!answer.ok || client.destroyed) {
    upstream.destroy();
    if (!answer.ok && !client.destroyed) refuseTunnel(proxy, conn, client, tally, errorRefusal(answer.code, { target: target.authority }), early);
    return;
  }
  tally.status = statusOf(answer.head);
  tunnelOpened(proxy, tally);
  client.write(withoutKaizenHeaders(answer.head));
  if (answer.rest.length > 0) client.write(answer.rest);
  spliceSockets(client, upstream, proxy.idleSweep.watch(client, upstream), () => {
    tally.bytesUp = Math.max(0, upstream.bytesWritten - headBytes);
    tally.bytesDown = upstream.bytesRead;
    reportClosed(proxy, conn, tally);
  });
}

function upgradeScheme(req: IncomingMessage, secure: boolean): 'http' | 'https' | 'ws' | 'wss' {
  const websocket = (req.headers.upgrade ?? '').toLowerCase() === 'websocket';
  if (websocket) return secure ? 'wss' : 'ws';
  return secure ? 'https' : 'http';
}

/** The status code of a response head ("HTTP/1.1 101 ..."), 0 when unreadable. */
function statusOf(head: string): number {
  const status = Number(head.slice(9, 12));
  return Number.isInteger(status) ? status : 0;
}
