import type { Socket } from 'node:net';
import { looksLikeTls, parseClientHello } from '../net/client-hello.js';
import { requestLineStart } from '../net/request-line-start.js';

/** What the first bytes of a redirected connection say it is. */
export type Sniffed =
  | { readonly kind: 'tls'; readonly bytes: Buffer; readonly sni: string | undefined }
  | { readonly kind: 'http'; readonly bytes: Buffer }
  /** The start of a request line, not complete within the header timeout (a slow or stalled HTTP client). */
  | { readonly kind: 'http_timeout' }
  | { readonly kind: 'unknown'; readonly reason: SniffFailure; readonly detail: string };

/** Constant reasons (a metrics label and a log field). */
export type SniffFailure = 'malformed_tls' | 'unknown_protocol' | 'silent' | 'closed';

export interface SniffLimits {
  /** How long the first flight may take (limits.header_timeout). */
  readonly timeoutMs: number;
  /**
   * limits.max_header_bytes: a request line still undecided at this size goes to node:http,
   * whose parser answers it (431), so no more than this is ever held for HTTP.
   */
  readonly maxHeaderBytes: number;
}

/**
 * Reads a redirected connection's first flight without consuming it for good: a complete TLS
 * ClientHello (for its SNI), or the start of an HTTP request line up to its `HTTP/`
 * (src/net/request-line-start.ts), so that a text protocol whose first byte looks like a method's
 * (SSH, inline Redis) is told apart as soon as its bytes cannot be a request line. The stream stays
 * paused in non-flowing mode; the caller unshifts or forwards `bytes`. Never rejects.
 * `firstBytes` is called once the first bytes are read, whatever they turn out to be.
 */
export function sniffFirstFlight(socket: Socket, limits: SniffLimits, firstBytes: () => void = () => undefined): Promise<Sniffed> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let told = false;
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
      if (chunks.length > 1) chunks.splice(0, chunks.length, Buffer.concat(chunks, size));
      const bytes = chunks[0];
      const first = bytes?.[0];
      if (bytes === undefined || first === undefined) return;
      if (!told) {
        told = true;
        firstBytes();
      }
      if (looksLikeTls(first)) {
        const hello = parseClientHello(bytes);
        if (!hello.complete) return;
        finish(hello.ok ? { kind: 'tls', bytes, sni: hello.sni } : { kind: 'unknown', reason: 'malformed_tls', detail: hello.reason });
        return;
      }
      switch (requestLineStart(bytes)) {
        case 'http':
          finish({ kind: 'http', bytes });
          return;
        case 'need_more':
          if (size >= limits.maxHeaderBytes) finish({ kind: 'http', bytes });
          return;
        case 'not_http':
          finish({ kind: 'unknown', reason: 'unknown_protocol', detail: 'neither a TLS ClientHello nor an HTTP request line' });
      }
    };
    const onClosed = (): void => {
      finish({ kind: 'unknown', reason: 'closed', detail: 'the client closed before sending a request' });
    };
    const timer = setTimeout(() => {
      if (size > 0 && !looksLikeTls(chunks[0]?.[0] ?? 0)) {
        finish({ kind: 'http_timeout' });
        return;
      }
      finish({ kind: 'unknown', reason: 'silent', detail: `no ClientHello or request within ${limits.timeoutMs}ms (a server-speaks-first protocol?)` });
    }, limits.timeoutMs);
    socket.on('readable', onReadable);
    socket.once('end', onClosed);
    socket.once('close', onClosed);
  });
}
