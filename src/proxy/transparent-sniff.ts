import type { Socket } from 'node:net';
import { looksLikeTls, parseClientHello } from '../net/client-hello.js';

/** What the first bytes of a redirected connection say it is. */
export type Sniffed =
  | { readonly kind: 'tls'; readonly bytes: Buffer; readonly sni: string | undefined }
  | { readonly kind: 'http'; readonly bytes: Buffer }
  | { readonly kind: 'unknown'; readonly reason: SniffFailure; readonly detail: string };

/** Constant reasons (a metrics label and a log field). */
export type SniffFailure = 'malformed_tls' | 'unknown_protocol' | 'silent' | 'closed';

/** An HTTP/1 request starts with a method token: upper-case letters. */
function isHttpStart(first: number): boolean {
  return first >= 0x41 && first <= 0x5a;
}

/**
 * Reads a redirected connection's first flight without consuming it for good: a complete TLS
 * ClientHello (for its SNI), or the first bytes of an HTTP request. The stream stays paused in
 * non-flowing mode; the caller unshifts or forwards `bytes`. Never rejects.
 */
export function sniffFirstFlight(socket: Socket, timeoutMs: number): Promise<Sniffed> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: Sniffed): void => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onClosed);
      socket.off('close', onClosed);
      resolve(result);
    };
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        chunks.push(chunk);
        size += chunk.length;
      }
      const first = chunks[0]?.[0];
      if (first === undefined) return;
      const bytes = Buffer.concat(chunks, size);
      if (looksLikeTls(first)) {
        const hello = parseClientHello(bytes);
        if (!hello.complete) return;
        finish(hello.ok ? { kind: 'tls', bytes, sni: hello.sni } : { kind: 'unknown', reason: 'malformed_tls', detail: hello.reason });
      } else if (isHttpStart(first)) {
        finish({ kind: 'http', bytes });
      } else {
        finish({ kind: 'unknown', reason: 'unknown_protocol', detail: 'neither a TLS ClientHello nor an HTTP request' });
      }
    };
    const onClosed = (): void => {
      finish({ kind: 'unknown', reason: 'closed', detail: 'the client closed before sending a request' });
    };
    const timer = setTimeout(() => {
      finish({ kind: 'unknown', reason: 'silent', detail: `no ClientHello or request within ${timeoutMs}ms (a server-speaks-first protocol?)` });
    }, timeoutMs);
    socket.on('readable', onReadable);
    socket.once('end', onClosed);
    socket.once('close', onClosed);
  });
}
