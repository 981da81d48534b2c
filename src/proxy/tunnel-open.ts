import type { Socket } from 'node:net';
import type { Action } from '../contract/action.js';
import type { Target } from '../contract/target.js';
import type { ConnectionContext } from './connection-registry.js';
import { decideEagerly } from './decide-action.js';
import type { EarlyCapture } from './early-bytes.js';
import { refuseOnSocket } from './deny-response.js';
import { reportClosed } from './exchange-events.js';
import type { ExchangeTally } from './exchange-log.js';
import type { ProxyContext } from './proxy-context.js';
import { decisionRefusal, errorRefusal, type Refusal } from './refusal.js';

/**
 * The shared front half of a tunnel (CONNECT or Upgrade): decide, and only on allow dial exactly
 * the resolved addresses. The decision is reported as it is made, before any SYN (its line is
 * only made when its batch is written, so this costs the dial next to nothing; reporting after the
 * 200, or from a deadline once the handshake took 20 ms, cost more: bench/paired.mjs, 0.956x CPU per
 * new tunnel at 50 concurrent on Node 24, 0.90x sequentially on Node 20). Every refusal
 * and failure is answered on the client socket and logged here; the caller gets a connected
 * destination socket, or null when it has nothing left to do.
 */
export async function openTunnelUpstream(
  proxy: ProxyContext,
  conn: ConnectionContext,
  client: Socket,
  target: Target,
  action: Action,
  tally: ExchangeTally,
  early: EarlyCapture,
  /** The destination socket will be spliced raw (not wrapped in TLS here): see relay-reads.ts. */
  relayable: boolean,
): Promise<Socket | null> {
  const eager = decideEagerly(proxy, conn, action, target);
  const { decision, ...known } = eager instanceof Promise ? await eager : eager;
  if (decision.enforce === 'refuse') {
    refuseTunnel(proxy, conn, client, tally, decisionRefusal(decision, { agent: proxy.agent, target: action.target }), early);
    return null;
  }
  const resolved = known.resolved ?? (await known.resolution);
  if (gone(client)) return abandoned(proxy, conn, tally);
  if (!resolved.ok) {
    refuseTunnel(proxy, conn, client, tally, errorRefusal(resolved.code, { target: target.authority }), early);
    return null;
  }

  const dialed = await proxy.connector.open(target, resolved.addresses, { connectTimeoutMs: proxy.connectTimeoutMs, owner: client, relayable });
  if (gone(client)) {
    if (dialed.ok) dialed.socket.destroy();
    return abandoned(proxy, conn, tally);
  }
  if (!dialed.ok) {
    refuseTunnel(proxy, conn, client, tally, errorRefusal(dialed.code, { target: target.authority }), early);
    return null;
  }
  return dialed.socket;
}

/** Answer a tunnel request on the raw socket and report the exchange as closed. */
export function refuseTunnel(
  proxy: ProxyContext,
  conn: ConnectionContext,
  client: Socket,
  tally: ExchangeTally,
  refusal: Refusal,
  early?: EarlyCapture,
): void {
  early?.release();
  tally.code = refusal.code;
  tally.status = refusal.status;
  refuseOnSocket(client, refusal);
  reportClosed(proxy, conn, tally);
}

/** Bytes the client sent while the tunnel was being set up go first, and its FIN if it sent one. */
export function forwardEarlyBytes(early: EarlyCapture, upstream: Socket): void {
  const { chunks, ended } = early.release();
  for (const chunk of chunks) upstream.write(chunk);
  if (ended) upstream.end();
}

/** Re-read after each await (a plain property check would be narrowed away by the compiler). */
function gone(client: Socket): boolean {
  return client.destroyed;
}

/** The client went away before the tunnel existed: nothing answered, status 0. */
function abandoned(proxy: ProxyContext, conn: ConnectionContext, tally: ExchangeTally): null {
  tally.status = 0;
  reportClosed(proxy, conn, tally);
  return null;
}
