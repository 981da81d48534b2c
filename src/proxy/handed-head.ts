import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionContext, ConnectionRegistry } from './connection-registry.js';
import type { Lifecycle } from './lifecycle.js';
import type { ParsedHeadDeadlines } from './parsed-head-deadline.js';

/**
 * A head node:http is to parse is awaited: one the fast lane hands over while it waits for it
 * (lane-connection.ts), or one arriving on a connection node:http holds when a drain starts
 * (awaitParsedHeads). It is in flight for a drain (Lifecycle.headBegun) until node:http has made
 * it a request, an upgrade or a CONNECT (headArrived), or the connection is gone (an error
 * answered, a timeout, a cut).
 */
export function awaitHead(conn: ConnectionContext, socket: Socket, lifecycle: Lifecycle, silent = false): void {
  if (conn.headHandedOver) return;
  conn.headHandedOver = true;
  conn.headSilent = silent;
  lifecycle.headBegun(silent);
  socket.once('close', () => {
    headArrived(conn, lifecycle);
  });
}

/** node:http has the head handed over (or gave up on it): a drain no longer waits for it as a head. */
export function headArrived(conn: ConnectionContext, lifecycle: Lifecycle): void {
  if (!conn.headHandedOver) return;
  conn.headHandedOver = false;
  conn.headsArrived++;
  lifecycle.headEnded(conn.headSilent);
  conn.headSilent = false;
}

/**
 * A drain's start, once node:http has closed its idle connections (server.closeIdleConnections):
 * a connection it still parses (after a request with a body, an intercepted session's, a
 * transparent listener's) with no exchange in flight is one whose next head has begun, or a new
 * one whose first has not come yet; node:http's own check for idle ones passed it over. Each is in
 * flight for the drain, as the fast lane's are, until node:http has its request or it is gone.
 * node:http stops timing heads once closed: `deadlines` times these as it would (header_timeout).
 * One that has not read a byte yet (an intercepted session before its first request: node:http
 * does not call it idle) is awaited as silent (Lifecycle.headBegun(true)), which no drain waits
 * for until its first bytes come (hearFirstBytes).
 * One whose request was answered before its body was all in (the rest discarded) is not idle for
 * node:http until that body ends: `bodyEnded` then asks node:http again, which closes it unless a
 * next head has begun behind the body.
 */
export function awaitParsedHeads(registry: ConnectionRegistry, lifecycle: Lifecycle, bodyEnded: () => void, deadlines: ParsedHeadDeadlines): void {
  registry.forEachOpen((socket, conn) => {
    const parser = (socket as Socket & { parser?: { incoming?: IncomingMessage | null } | null }).parser;
    // No parser: the fast lane's connection (it counts its own), or a tunnel's (counted as one).
    if (parser === null || parser === undefined || conn.busy > 0 || socket.destroyed) return;
    // Already awaited: a head the fast lane handed over, which the lane times.
    if (!conn.headHandedOver) {
      const silent = socket.bytesRead === 0;
      awaitHead(conn, socket, lifecycle, silent);
      if (silent) hearFirstBytes(conn, socket, lifecycle);
      deadlines.time(socket, conn);
    }
    const body = parser.incoming;
    if (body !== null && body !== undefined && !body.complete) body.once('end', bodyEnded);
  });
}

/**
 * A silent connection node:http holds (an intercepted session before its first request) that
 * sends its first bytes during the drain has a head begun from then (Lifecycle.firstBytes), which
 * any drain waits for: served, or answered 408 at header_timeout, rather than cut mid-head when
 * the drain ends on other work. Heard before node:http parses them (a listener put first), so a
 * head complete in those bytes is a head begun before it arrives. A 'data' listener makes node:http
 * read this connection in JavaScript from now on rather than in its native parser: only during a drain.
 */
function hearFirstBytes(conn: ConnectionContext, socket: Socket, lifecycle: Lifecycle): void {
  socket.prependOnceListener('data', () => {
    if (!conn.headHandedOver || !conn.headSilent) return;
    conn.headSilent = false;
    lifecycle.firstBytes();
  });
}
