import { connect, type Socket } from 'node:net';
import { relayableReads } from './relay-reads.js';

/** Whatever the dial is for (the client socket): when it closes, the dial is abandoned. */
export interface DialOwner {
  readonly destroyed: boolean;
  once(event: 'close', listener: () => void): unknown;
  off(event: 'close', listener: () => void): unknown;
}

export interface DialOptions {
  /** Per address: a SYN that is not answered within this time moves on to the next address. */
  readonly connectTimeoutMs: number;
  /**
   * When the owner closes (the client went away), the attempt in progress is destroyed and no
   * further address is tried. (A plain close listener: an AbortController per tunnel costs more.)
   */
  readonly owner?: DialOwner;
  /**
   * The socket will be spliced raw to a client (not wrapped in TLS): dial it with relayable
   * reads (relay-reads.ts), so the splice can relay its reads without a copy per read.
   */
  readonly relayable?: boolean;
}

/** KZP_ERR_UPSTREAM_PROXY only from src/net/connector.ts, when the path went through an upstream proxy. */
export type DialCode = 'KZP_ERR_UPSTREAM_CONNECT' | 'KZP_ERR_UPSTREAM_TIMEOUT' | 'KZP_ERR_UPSTREAM_PROXY';

export type DialResult =
  | { readonly ok: true; readonly socket: Socket; readonly address: string }
  | { readonly ok: false; readonly code: DialCode; readonly aborted: boolean };

/**
 * Open a TCP connection to exactly the given (already checked) addresses, in order, never
 * resolving anything: each address is an IP literal, so `net.connect` does no lookup.
 * The socket is returned connected, half-open allowed, Nagle off.
 */
export async function dial(addresses: readonly string[], port: number, options: DialOptions): Promise<DialResult> {
  let code: DialCode = 'KZP_ERR_UPSTREAM_CONNECT';
  for (const address of addresses) {
    if (options.owner?.destroyed === true) return { ok: false, code, aborted: true };
    const attempt = await dialOne(address, port, options);
    if (attempt.ok) return attempt;
    code = attempt.code;
    if (attempt.aborted) return attempt;
  }
  return { ok: false, code, aborted: false };
}

function dialOne(address: string, port: number, options: DialOptions): Promise<DialResult> {
  return new Promise((resolve) => {
    const reads = options.relayable === true ? relayableReads() : null;
    const socket = connect({ host: address, port, allowHalfOpen: true, noDelay: true, ...(reads === null ? {} : { onread: reads.onread }) });
    reads?.bind(socket);
    const owner = options.owner;
    const finish = (result: DialResult): void => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('error', onError);
      owner?.off('close', onAbort);
      if (!result.ok) socket.destroy();
      resolve(result);
    };
    const onConnect = (): void => {
      finish({ ok: true, socket, address });
    };
    const onError = (): void => {
      finish({ ok: false, code: 'KZP_ERR_UPSTREAM_CONNECT', aborted: false });
    };
    const onAbort = (): void => {
      finish({ ok: false, code: 'KZP_ERR_UPSTREAM_CONNECT', aborted: true });
    };
    const timer = setTimeout(() => {
      finish({ ok: false, code: 'KZP_ERR_UPSTREAM_TIMEOUT', aborted: false });
    }, options.connectTimeoutMs);
    // A late error from a socket we gave up on (or one the caller has not yet wired) must not crash.
    socket.on('error', ignoreError);
    socket.once('connect', onConnect);
    socket.once('error', onError);
    owner?.once('close', onAbort);
  });
}

function ignoreError(): void {
  // The owner attaches its own handler; this one only keeps an unowned error from being thrown.
}
