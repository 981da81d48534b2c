import type { Socket } from 'node:net';
import { dial, type DialOptions } from './dial.js';
import { proxyAuthorization, type UpstreamProxy } from './upstream-proxy.js';

/** The largest CONNECT answer head we read from an upstream proxy. */
const MAX_ANSWER_HEAD = 16 * 1024;

export type UpstreamConnectResult =
  | { readonly ok: true; readonly socket: Socket }
  | {
      readonly ok: false;
      /** The client went away while we waited. */
      readonly aborted: boolean;
      /** For the log, never for the client: an errno, `timeout`, `malformed`, or `status 407`. */
      readonly detail: string;
      /** The upstream's answer status, when there was one. */
      readonly status: number | null;
    };

/**
 * A byte stream to `authority` ("host:port", IPv6 bracketed) through an upstream proxy:
 * TCP to the proxy, `CONNECT authority` with Basic credentials, a 2xx answer read in full; any
 * bytes that came after the answer's head are handed back to the socket. One deadline covers the
 * connection and the answer. The proxy's own name is resolved here (it is configured, not a
 * destination): the destination's name goes to the proxy, which resolves it itself.
 */
export async function connectThroughProxy(proxy: UpstreamProxy, authority: string, options: DialOptions): Promise<UpstreamConnectResult> {
  const started = Date.now();
  const dialed = await dial([proxy.host], proxy.port, options);
  if (!dialed.ok) {
    return { ok: false, aborted: dialed.aborted, detail: dialed.code === 'KZP_ERR_UPSTREAM_TIMEOUT' ? 'timeout' : 'unreachable', status: null };
  }
  const socket = dialed.socket;
  if (options.owner?.destroyed === true) {
    socket.destroy();
    return { ok: false, aborted: true, detail: 'aborted', status: null };
  }
  const auth = proxyAuthorization(proxy);
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth === null ? '' : `Proxy-Authorization: ${auth}\r\n`}\r\n`);
  const remaining = Math.max(1, options.connectTimeoutMs - (Date.now() - started));
  const answer = await readAnswer(socket, remaining, options);
  if (!answer.ok) {
    socket.destroy();
    return answer;
  }
  if (answer.rest.length > 0) socket.unshift(answer.rest);
  return { ok: true, socket };
}

type Answer = { readonly ok: true; readonly rest: Buffer } | Extract<UpstreamConnectResult, { ok: false }>;

function readAnswer(socket: Socket, timeoutMs: number, options: DialOptions): Promise<Answer> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    const owner = options.owner;
    const finish = (answer: Answer): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onClose);
      socket.off('close', onClose);
      owner?.off('close', onAbort);
      if (answer.ok) socket.pause();
      resolve(answer);
    };
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buffered.length > MAX_ANSWER_HEAD) finish({ ok: false, aborted: false, detail: 'malformed', status: null });
        return;
      }
      const status = statusOf(buffered.subarray(0, end).toString('latin1'));
      if (status === null) {
        finish({ ok: false, aborted: false, detail: 'malformed', status: null });
      } else if (status >= 200 && status < 300) {
        finish({ ok: true, rest: buffered.subarray(end + 4) });
      } else {
        finish({ ok: false, aborted: false, detail: `status ${status}`, status });
      }
    };
    // The socket is half-open (dial.ts): an upstream that closes its side without answering
    // raises 'end' alone, and 'close' would wait for our side, until the deadline.
    const onClose = (): void => {
      finish({ ok: false, aborted: false, detail: 'closed', status: null });
    };
    const onAbort = (): void => {
      finish({ ok: false, aborted: true, detail: 'aborted', status: null });
    };
    const timer = setTimeout(() => {
      finish({ ok: false, aborted: false, detail: 'timeout', status: null });
    }, timeoutMs);
    socket.on('data', onData);
    socket.once('end', onClose);
    socket.once('close', onClose);
    owner?.on('close', onAbort);
  });
}

/** "HTTP/1.1 200 Connection established" → 200; null when it is not an HTTP status line. */
function statusOf(head: string): number | null {
  const match = /^HTTP\/1\.[01] (\d{3})(?: |\r|$)/.exec(head);
  return match?.[1] === undefined ? null : Number(match[1]);
}
