import type { Socket } from 'node:net';

/**
 * A fatal TLS alert record, the only refusal a TLS client understands before a handshake: the
 * client reports it ("tlsv1 alert access denied") instead of a bare reset. Written in the record
 * version clients accept before negotiation (TLS 1.0), then the connection is closed.
 */
export const TLS_ALERT = {
  /** A verdict or guard refused the destination. */
  accessDenied: 49,
  /** No SNI, or one that is not a host name: the destination cannot be recovered. */
  unrecognizedName: 112,
  /** The destination could not be resolved or reached. */
  internalError: 80,
} as const;

export type TlsAlert = (typeof TLS_ALERT)[keyof typeof TLS_ALERT];

export function sendTlsAlert(socket: Socket, alert: TlsAlert): void {
  if (socket.destroyed) return;
  socket.end(Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, alert]));
  // Whatever the client still sends is read and dropped; a client that never closes is cut.
  socket.resume();
  socket.setTimeout(5_000, () => socket.destroy());
}
