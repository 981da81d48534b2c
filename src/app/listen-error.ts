import { formatHostPort, type HostPort } from '../config/host-port.js';

/** The listeners createProxy binds, in the order it binds them. */
export type ListenerName = 'proxy' | 'transparent' | 'admin';

/**
 * A listener that could not bind, with which one and where: the proxy, transparent and admin
 * listeners bind one after the other, and an operator told "cannot listen on" the proxy's address
 * when the admin port was the one taken looks for the wrong process. `code` is the errno code
 * (EADDRINUSE, EACCES...), as on the error it wraps.
 */
export class ListenError extends Error {
  readonly code: string;

  constructor(
    readonly listener: ListenerName,
    readonly address: HostPort,
    cause: unknown,
  ) {
    const code = cause instanceof Error && 'code' in cause ? String(cause.code) : 'unknown';
    super(`cannot listen on ${formatHostPort(address)}, the ${listener} address (${code})`, { cause });
    this.name = 'ListenError';
    this.code = code;
  }
}

/** Runs one bind, turning its failure into a ListenError that names the listener. */
export async function bindListener<T>(listener: ListenerName, address: HostPort, bind: () => Promise<T>): Promise<T> {
  try {
    return await bind();
  } catch (error) {
    throw new ListenError(listener, address, error);
  }
}
