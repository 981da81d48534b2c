import { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { connectAction } from '../action/build-action.js';
import { parseAuthority } from '../action/target-parse.js';
import { newTally } from './exchange-log.js';
import { tunnelOpened } from './exchange-events.js';
import { authenticateClient } from './client-auth.js';
import type { ProxyContext } from './proxy-context.js';
import { errorRefusal } from './refusal.js';
import { captureEarlyBytes } from './early-bytes.js';
import { runEstablishedTunnel } from './established-tunnel.js';
import { openTunnelUpstream, refuseTunnel } from './tunnel-open.js';
import { interceptTunnel } from './intercept-tunnel.js';
import type { ConnectView } from './fast-lane.js';

const ESTABLISHED = 'HTTP/1.1 200 Connection established\r\n\r\n';

/**
 * CONNECT host:port. The authority is parsed by src/action (400 when malformed), the tunnel is
 * decided, and only on allow is the destination dialled; then `200 Connection established`, the
 * bytes that came with the CONNECT, and a two-way splice. Port 80 is a tunnel like any other.
 */
export function createConnectHandler(proxy: ProxyContext): (req: ConnectView, socket: Duplex, head: Buffer) => void {
  return (req, socket, head) => {
    if (!(socket instanceof Socket)) {
      socket.destroy();
      return;
    }
    proxy.lifecycle.begin();
    handleConnect(proxy, req, socket, head).then(
      () => {
        proxy.lifecycle.end();
      },
      (error: unknown) => {
        proxy.logger.error({ err: error instanceof Error ? error.name : 'unknown' }, 'tunnel failed');
        socket.destroy();
        proxy.lifecycle.end();
      },
    );
  };
}

async function handleConnect(base: ProxyContext, req: ConnectView, client: Socket, head: Buffer): Promise<void> {
  const auth = authenticateClient(base, req.headers['proxy-authorization']);
  const proxy = auth.proxy;
  const conn = proxy.registry.get(client);
  const tally = newTally('connect', performance.now());
  if (!auth.ok) {
    refuseTunnel(proxy, conn, client, tally, auth.refusal);
    return;
  }
  const parsed = parseAuthority(req.url ?? '');
  if (!parsed.ok) {
    refuseTunnel(proxy, conn, client, tally, errorRefusal(parsed.code, { message: parsed.message }));
    return;
  }
  const target = parsed.value;
  tally.target = target.authority;
  const action = connectAction(target, proxy.labels.tunnel(target));
  tally.action = action;
  // Intercepted hosts are terminated here, not tunnelled: their requests are decided one by one.
  if (proxy.interception?.interceptor.intercepts(target) === true) {
    await interceptTunnel(proxy, proxy.interception, conn, client, head, target, action, tally);
    return;
  }
  const early = captureEarlyBytes(client);
  const upstream = await openTunnelUpstream(proxy, conn, client, target, action, tally, early, true);
  if (upstream === null) return;

  tally.status = 200;
  client.write(ESTABLISHED);
  // The open-tunnel count follows the answer, off the client's wait for it.
  tunnelOpened(proxy, tally);
  const released = early.release();
  // Nothing from the client crosses until its first bytes are judged: a ClientHello's SNI must name the CONNECT host.
  runEstablishedTunnel(proxy, conn, { client, upstream }, target, { chunks: [head, ...released.chunks], ended: released.ended }, tally);
}
