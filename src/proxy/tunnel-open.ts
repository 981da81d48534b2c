import type { Socket } from 'node:net';
import { startDeadline } from '../net/deadline-sweep.js';
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

/** A dial still unanswered after this long has its decision reported while it goes on (see below). */
const REPORT_WITHIN_MS = 20;

/** A connected destination, and the decision's report, which the caller makes once it has answered the client. */
export interface OpenedTunnel {
  readonly socket: Socket;
  /** The decision line and the observer: call once, after writing the client's answer. */
  readonly report: () => void;
}

/**
 * The shared front half of a tunnel (CONNECT or Upgrade): decide, and only on allow dial exactly
 * the resolved addresses. Every refusal and failure is answered on the client socket and logged
 * here (its decision reported first); the caller gets a connected destination socket with the
 * decision still to report, or null when it has nothing left to do.
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
): Promise<OpenedTunnel | null> {
  const eager = decideEagerly(proxy, conn, action, target);
  const { decision, report, ...known } = eager instanceof Promise ? await eager : eager;
  if (decision.enforce === 'refuse') {
    report();
    refuseTunnel(proxy, conn, client, tally, decisionRefusal(decision, { agent: proxy.agent, target: action.target }), early);
    return null;
  }
  const resolved = known.resolved ?? (await known.resolution);
  if (gone(client)) {
    report();
    return abandoned(proxy, conn, tally);
  }
  if (!resolved.ok) {
    report();
    refuseTunnel(proxy, conn, client, tally, errorRefusal(resolved.code, { target: target.authority }), early);
    return null;
  }

  // The decision is reported once the client has its answer (the caller's report), or once the
  // handshake has taken REPORT_WITHIN_MS, whichever comes first: to a near destination the
  // handshake is over before a report could overlap it, and reporting first delayed the 200
  // (paired, new tunnel + 1-byte echo p50: 0.98x reported after the 200); a slow one is still
  // logged while it is being dialled.
  let reported = false;
  const reportOnce = (): void => {
    if (reported) return;
    reported = true;
    overdue.cancel();
    report();
  };
  const overdue = startDeadline(REPORT_WITHIN_MS, reportOnce);
  const dialed = await proxy.connector.open(target, resolved.addresses, { connectTimeoutMs: proxy.connectTimeoutMs, owner: client, relayable });
  if (gone(client)) {
    reportOnce();
    if (dialed.ok) dialed.socket.destroy();
    return abandoned(proxy, conn, tally);
  }
  if (!dialed.ok) {
    reportOnce();
    refuseTunnel(proxy, conn, client, tally, errorRefusal(dialed.code, { target: target.authority }), early);
    return null;
  }
  return { socket: dialed.socket, report: reportOnce };
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
