import type { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type SecureContext } from 'node:tls';
import { httpAction } from '../action/build-action.js';
import { parseAuthority } from '../action/target-parse.js';
import type { Target } from '../contract/target.js';
import { logClosed, newTally } from './exchange-log.js';
import { upgradeRequestHead } from './hop-by-hop.js';
import type { ProxyContext } from './proxy-context.js';
import { errorRefusal } from './refusal.js';
import { hostHeader, splitRequestTarget } from './request-target.js';
import { spliceSockets } from './socket-pipe.js';
import { openTunnelUpstream, refuseTunnel } from './tunnel-open.js';

/**
 * An absolute-form request with `Upgrade` (WebSocket): decided like any request (scheme ws/wss),
 * then the destination is dialled, the request head is written to it (hop-by-hop cleaned, Host of
 * the checked target) and bytes are tunnelled both ways; the destination's 101 reaches the client
 * as it is. `https://` upgrades get verified TLS to the destination.
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

async function handleUpgrade(proxy: ProxyContext, req: IncomingMessage, client: Socket, head: Buffer): Promise<void> {
  const conn = proxy.registry.get(client);
  const tally = newTally('upgrade', performance.now());
  const split = splitRequestTarget(req.url ?? '');
  if (!split.ok) {
    refuseTunnel(conn, client, tally, errorRefusal(split.code));
    return;
  }
  const parsed = parseAuthority(split.authority);
  if (!parsed.ok) {
    refuseTunnel(conn, client, tally, errorRefusal(parsed.code, { message: parsed.message }));
    return;
  }
  const target = parsed.value;
  tally.target = target.authority;
  const secure = split.scheme === 'https';
  const method = req.method ?? 'GET';
  const action = httpAction(target, { method, path: split.pathOnly, scheme: secure ? 'wss' : 'ws' });
  const dialed = await openTunnelUpstream(proxy, conn, client, target, action, tally);
  if (dialed === null) return;

  let upstream: Socket = dialed;
  if (secure) {
    const tls = await secureUpstream(dialed, target, proxy.pool.secureContext, proxy.connectTimeoutMs);
    if (tls === null || client.destroyed) {
      tls?.destroy();
      if (!client.destroyed) refuseTunnel(conn, client, tally, errorRefusal('KZP_ERR_UPSTREAM_TLS', { target: target.authority }));
      return;
    }
    upstream = tls;
  }

  const requestHead = upgradeRequestHead(method, split.path, req.rawHeaders, hostHeader(target.host, target.port, target.hostType === 'ipv6', split.scheme));
  const headBytes = Buffer.byteLength(requestHead);
  upstream.write(requestHead);
  if (head.length > 0) upstream.write(head);
  tally.status = 101;
  spliceSockets(client, upstream, proxy.idleTimeoutMs, () => {
    tally.bytesUp = Math.max(0, upstream.bytesWritten - headBytes);
    tally.bytesDown = upstream.bytesRead;
    logClosed(conn.log, tally, performance.now());
  });
}

/** Verified TLS over the dialled socket (SNI for names, identity checked); null when it fails. */
function secureUpstream(socket: Socket, target: Target, secureContext: SecureContext | undefined, timeoutMs: number): Promise<Socket | null> {
  return new Promise((resolve) => {
    const tls = tlsConnect({
      socket,
      host: target.host,
      ...(target.hostType === 'dns' ? { servername: target.host } : {}),
      ...(secureContext === undefined ? {} : { secureContext }),
      ALPNProtocols: ['http/1.1'],
    });
    const timer = setTimeout(() => {
      tls.destroy();
    }, timeoutMs);
    const settle = (result: Socket | null): void => {
      clearTimeout(timer);
      tls.off('secureConnect', onSecure);
      tls.off('close', onClose);
      if (result === null) tls.destroy();
      resolve(result);
    };
    const onSecure = (): void => {
      settle(tls);
    };
    const onClose = (): void => {
      settle(null);
    };
    tls.on('error', ignore);
    tls.once('secureConnect', onSecure);
    tls.once('close', onClose);
  });
}

function ignore(): void {
  // TLS failures surface as a close before secureConnect, answered as KZP_ERR_UPSTREAM_TLS.
}
