import type { Socket } from 'node:net';
import type { ConnectionContext } from './connection-registry.js';
import type { Lifecycle } from './lifecycle.js';

/**
 * The fast lane hands node:http a connection while it waits for a head (lane-connection.ts): the
 * head is in flight for a drain (Lifecycle.headBegun) until node:http has made it a request, an
 * upgrade or a CONNECT (headArrived), answered it with an error, or the connection is gone. Once
 * per connection: a connection is handed over for good.
 */
export function handHeadOver(conn: ConnectionContext, socket: Socket, lifecycle: Lifecycle): void {
  if (conn.headHandedOver) return;
  conn.headHandedOver = true;
  lifecycle.headBegun();
  socket.once('close', () => {
    headArrived(conn, lifecycle);
  });
}

/** node:http has the head handed over (or gave up on it): a drain no longer waits for it as a head. */
export function headArrived(conn: ConnectionContext, lifecycle: Lifecycle): void {
  if (!conn.headHandedOver) return;
  conn.headHandedOver = false;
  lifecycle.headEnded();
}
