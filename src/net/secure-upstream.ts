import type { Socket } from 'node:net';
import { connect as tlsConnect, type SecureContext, type TLSSocket } from 'node:tls';
import { KaizenProxyError } from '../errors/kaizen-error.js';
import type { DialOwner } from './dial.js';
import { tlsOver } from './reset-socket.js';
import { tlsFailure } from './tls-failure.js';

export interface SecureUpstreamOptions {
  /** The checked target's host: the SNI when it is a name, and the identity the certificate must carry. */
  readonly host: string;
  readonly hostIsName: boolean;
  /** Node's default store plus configured extra CAs; the default store alone when undefined. */
  readonly secureContext: SecureContext | undefined;
  readonly timeoutMs: number;
  /** When the owner closes (the client went away), the handshake is abandoned at once. */
  readonly owner?: DialOwner;
}

/**
 * Verified TLS (HTTP/1.1 by ALPN) over a socket already dialled to a checked address. Resolves the
 * TLS socket, or the error that ended the handshake: a timeout is KZP_ERR_UPSTREAM_TIMEOUT, an
 * owner's close KZP_ERR_UPSTREAM_CONNECT, and anything else (any verification failure, whatever
 * Node names it, an alert, a reset, a close without a reason) KZP_ERR_UPSTREAM_TLS with Node's
 * reason as its cause (tls-failure.ts). The dialled socket is destroyed on failure.
 */
export function secureUpstream(socket: Socket, options: SecureUpstreamOptions): Promise<TLSSocket | Error> {
  return new Promise((resolve) => {
    const tls = tlsConnect({
      socket,
      host: options.host,
      ...(options.hostIsName ? { servername: options.host } : {}),
      ...(options.secureContext === undefined ? {} : { secureContext: options.secureContext }),
      ALPNProtocols: ['http/1.1'],
    });
    // A reset meant for the destination goes to the TCP socket under this one (reset-socket.ts).
    tlsOver(tls, socket);
    let failure: Error | null = null;
    const timer = setTimeout(() => {
      failure = new KaizenProxyError('KZP_ERR_UPSTREAM_TIMEOUT', 'TLS handshake with the destination timed out');
      tls.destroy();
    }, options.timeoutMs);
    const settle = (result: TLSSocket | Error): void => {
      clearTimeout(timer);
      options.owner?.off('close', onAbandoned);
      tls.off('secureConnect', onSecure);
      tls.off('close', onClose);
      tls.off('error', onError);
      // A late error from a socket we are done with must not be thrown.
      tls.on('error', ignore);
      if (result instanceof Error) {
        tls.destroy();
        socket.destroy();
      }
      resolve(result);
    };
    const onSecure = (): void => {
      settle(tls);
    };
    const onError = (error: Error): void => {
      failure ??= tlsFailure(error);
    };
    const onClose = (): void => {
      settle(failure ?? tlsFailure(null));
    };
    const onAbandoned = (): void => {
      failure ??= new KaizenProxyError('KZP_ERR_UPSTREAM_CONNECT', 'abandoned by its owner during the TLS handshake');
      tls.destroy();
    };
    tls.on('error', onError);
    tls.once('secureConnect', onSecure);
    tls.once('close', onClose);
    if (options.owner?.destroyed === true) onAbandoned();
    else options.owner?.on('close', onAbandoned);
  });
}

function ignore(): void {
  // See settle: the owner of the TLS socket handles its errors from here on.
}
