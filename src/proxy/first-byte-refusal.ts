import type { Socket } from 'node:net';
import { looksLikeTls } from '../net/client-hello.js';
import { refuseOnSocket } from './deny-response.js';
import type { Refusal } from './refusal.js';
import { sendTlsAlert, TLS_ALERT } from './tls-alert.js';

/** Answers a connection refused before any of its bytes were read. */
export type EarlyRefuse = (socket: Socket, refusal: Refusal) => void;

/**
 * For a listener whose clients may speak TLS first (the transparent one): the refusal waits for
 * the client's first byte, up to `waitMs` (limits.header_timeout, at most the 2 s any refusal drains for), and a TLS client (a handshake
 * record) reads a fatal `internal_error` alert, as for the other transparent refusals of TLS,
 * instead of an HTTP answer its TLS stack reports as "wrong version number". Anything else, and a
 * client that sends nothing in time, reads the HTTP refusal. One byte is read; the rest is
 * drained and dropped by the answer, as ever. A client that leaves first is destroyed.
 */
export function refuseByFirstByte(waitMs: number): EarlyRefuse {
  return (socket, refusal) => {
    const settle = (): void => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onGone);
      socket.off('close', onGone);
    };
    const onReadable = (): void => {
      const first = socket.read(1) as Buffer | null;
      if (first === null) return;
      settle();
      if (looksLikeTls(first[0] ?? 0)) sendTlsAlert(socket, TLS_ALERT.internalError);
      else refuseOnSocket(socket, refusal);
    };
    const onGone = (): void => {
      settle();
      socket.destroy();
    };
    const timer = setTimeout(() => {
      settle();
      refuseOnSocket(socket, refusal);
    }, waitMs);
    socket.on('readable', onReadable);
    socket.once('end', onGone);
    socket.once('close', onGone);
  };
}
