import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { ErrorCode } from '../errors/codes.js';
import { ResponseParser, type ResponseEvents, type ResponseHead } from '../net/http1-response-parser.js';
import { resetSocket } from '../net/reset-socket.js';
import type { ConnectionContext } from './connection-registry.js';
import { endAndDrain } from './drain-then-destroy.js';
import { reportClosed } from './exchange-events.js';
import type { ExchangeTally } from './exchange-log.js';
import { forwardResponseHeaders, responseTrailerPairs } from './hop-by-hop.js';
import type { ProxyContext } from './proxy-context.js';
import { errorRefusal } from './refusal.js';
import { MAX_UPGRADE_HEAD_BYTES } from './response-head.js';
import { framedByTransferEncoding, keepsChunkedFraming, losesTransferCoding } from './response-framing.js';
import { refuseTunnel } from './tunnel-open.js';
import { failureCode } from './shutdown-cut.js';

/** What relayDeclinedUpgrade works on: the upgrade's client and destination sockets, both still open. */
export interface DeclinedUpgrade {
  readonly proxy: ProxyContext;
  readonly conn: ConnectionContext;
  /** The client's request: its method decides a body-less HEAD, its version chunked framing. */
  readonly req: Pick<IncomingMessage, 'method' | 'httpVersionMajor' | 'httpVersionMinor'>;
  readonly client: Socket;
  readonly upstream: Socket;
  readonly tally: ExchangeTally;
  /** The checked destination ("host:port"), for a 502's body. */
  readonly target: string;
}

/**
 * The destination answered an Upgrade with a final status other than 101 (a 200, 401, 404, 426):
 * the connection was not switched, so it must not become a tunnel. The answer is relayed as an
 * ordinary response, cleaned like any relayed one (hop-by-hop and `X-Kaizen-*` headers and
 * trailers removed; Content-Length, chunked or close-delimited framing; no body for HEAD, 204 and
 * 304), with `Connection: close`; then the client connection is closed and the destination's with
 * it. Whatever the client sent after its upgrade request (a next request, for another host and with
 * `Proxy-Authorization`) is never forwarded: it was held while the answer was awaited and is
 * dropped here, and what still comes is drained and discarded (drain-then-destroy.ts).
 *
 * Resolves once the exchange is over (relayed and reported, or failed).
 */
export function relayDeclinedUpgrade(setup: DeclinedUpgrade, head: string, rest: Buffer): Promise<void> {
  return new Promise((resolve) => {
    new DeclinedRelay(setup, resolve).start(Buffer.from(head, 'latin1'), rest);
  });
}

/** One declined upgrade's relay; listeners are methods bound to it (see connect-tunnel.ts). */
class DeclinedRelay implements ResponseEvents {
  readonly #setup: DeclinedUpgrade;
  readonly #resolve: () => void;
  readonly #parser: ResponseParser;
  /** The body is relayed chunked (the destination's chunks, decoded, written as chunks again). */
  #chunked = false;
  /** The answer's head: its Connection tokens name fields its trailers lose too. */
  #answerHeaders: readonly string[] = [];
  #headSent = false;
  #done = false;
  #waitingForDrain = false;
  #bodyBytes = 0;
  readonly #onData: (chunk: Buffer) => void = this.#data.bind(this);
  readonly #onEnd: () => void = this.#end.bind(this);
  readonly #onClose: () => void = this.#upstreamClosed.bind(this);
  readonly #onTimeout: () => void = this.#timedOut.bind(this);
  readonly #onClientClose: () => void = this.#clientClosed.bind(this);
  readonly #onDrain: () => void = this.#drained.bind(this);

  constructor(setup: DeclinedUpgrade, resolve: () => void) {
    this.#setup = setup;
    this.#resolve = resolve;
    this.#parser = new ResponseParser(this, { maxHeadBytes: MAX_UPGRADE_HEAD_BYTES });
  }

  start(head: Buffer, rest: Buffer): void {
    const { client, upstream, proxy, conn } = this.#setup;
    // An answer being relayed: a drain's cut resets the connection (ConnectionRegistry.destroyAll),
    // since a FIN would end a close-delimited body as if it were complete.
    conn.busy++;
    client.once('close', this.#onClientClose);
    this.#parser.expect(this.#setup.req.method ?? 'GET');
    this.#feed(head);
    this.#feed(rest);
    if (this.#done) return;
    upstream.on('data', this.#onData);
    upstream.on('end', this.#onEnd);
    upstream.once('close', this.#onClose);
    upstream.on('timeout', this.#onTimeout);
    upstream.setTimeout(proxy.idleTimeoutMs);
    upstream.resume();
  }

  onHead(head: ResponseHead): void {
    const { req, client, tally } = this.#setup;
    // As upstream-dispatch.ts relays any answer: Transfer-Encoding frames the body (and drops the
    // destination's Content-Length); a coding other than chunked is named, or, for a client that
    // takes no Transfer-Encoding, the answer is refused rather than relayed still coded.
    this.#answerHeaders = head.rawHeaders;
    const transferEncoded = framedByTransferEncoding(head);
    this.#chunked = keepsChunkedFraming(req, head.status, transferEncoded);
    if (transferEncoded && !this.#chunked && losesTransferCoding(req, head.status, head.rawHeaders)) {
      this.#finish('KZP_ERR_UPSTREAM_PROTOCOL');
      return;
    }
    const headers = forwardResponseHeaders(head.rawHeaders, this.#chunked, transferEncoded);
    let text = `HTTP/1.1 ${head.status} ${head.statusMessage}\r\n`;
    for (let i = 0; i + 1 < headers.length; i += 2) text += `${headers[i] ?? ''}: ${headers[i + 1] ?? ''}\r\n`;
    tally.status = head.status;
    this.#headSent = true;
    client.write(`${text}Connection: close\r\n\r\n`, 'latin1');
  }

  onBody(chunk: Buffer): void {
    if (this.#done) return; // refused at its head
    const client = this.#setup.client;
    this.#bodyBytes += chunk.length;
    if (this.#chunked) client.write(`${chunk.length.toString(16)}\r\n`, 'latin1');
    let flowing = client.write(chunk);
    if (this.#chunked) flowing = client.write('\r\n', 'latin1');
    if (flowing || this.#waitingForDrain) return;
    this.#waitingForDrain = true;
    this.#setup.upstream.pause();
    client.once('drain', this.#onDrain);
  }

  onComplete(trailers: readonly string[]): void {
    if (this.#done) return;
    let last = '';
    if (this.#chunked) {
      last = '0\r\n';
      for (const [name, value] of responseTrailerPairs(trailers, this.#answerHeaders)) last += `${name}: ${value}\r\n`;
      last += '\r\n';
    }
    if (last !== '') this.#setup.client.write(last, 'latin1');
    this.#finish(null);
  }

  #feed(bytes: Buffer): void {
    if (this.#done || bytes.length === 0) return;
    const error = this.#parser.execute(bytes);
    // Bytes after a complete answer are the parser's error, and nobody's concern: it is over.
    if (error !== null && !this.#over()) this.#finish('KZP_ERR_UPSTREAM_PROTOCOL');
  }

  #data(chunk: Buffer): void {
    this.#feed(chunk);
  }

  /** The destination's FIN: the end of a close-delimited body, or an answer cut short. */
  #end(): void {
    if (this.#done) return;
    if (this.#parser.finish() !== null && !this.#over()) this.#finish('KZP_ERR_UPSTREAM_PROTOCOL');
  }

  /** Re-read after a parser call, which may have finished the exchange (a plain check would be narrowed away). */
  #over(): boolean {
    return this.#done;
  }

  /** Closed without a clean end first (reset): the answer, whatever its framing, is incomplete. */
  #upstreamClosed(): void {
    if (!this.#done) this.#finish('KZP_ERR_UPSTREAM_CONNECT');
  }

  #timedOut(): void {
    if (!this.#done) this.#finish('KZP_ERR_UPSTREAM_TIMEOUT');
  }

  #clientClosed(): void {
    if (!this.#done) this.#finish(null);
  }

  #drained(): void {
    this.#waitingForDrain = false;
    if (!this.#done) this.#setup.upstream.resume();
  }

  /**
   * The exchange is over: complete (`code` null, the client still open), the client gone (null,
   * closed), or failed. A failure before the head was relayed is answered with our own 502/504; after
   * it, the client connection is cut, so the truncation shows.
   */
  #finish(code: ErrorCode | null): void {
    this.#done = true;
    const { proxy, conn, client, upstream, tally } = this.#setup;
    conn.busy--;
    upstream.off('data', this.#onData);
    upstream.off('end', this.#onEnd);
    upstream.off('close', this.#onClose);
    upstream.off('timeout', this.#onTimeout);
    upstream.setTimeout(0);
    upstream.destroy();
    client.off('close', this.#onClientClose);
    client.off('drain', this.#onDrain);
    tally.bytesDown = this.#bodyBytes;
    if (code !== null && !this.#headSent && !client.destroyed) {
      refuseTunnel(proxy, conn, client, tally, errorRefusal(code, { target: this.#setup.target }));
    } else {
      if (code !== null) {
        // The destination's failure, unless the drain's cut caused it (KZP_ERR_SHUTDOWN).
        tally.code = failureCode(proxy.lifecycle, code);
        // A reset, not a FIN: an answer without a length would read as complete.
        resetSocket(client);
      } else if (!client.destroyed) endAndDrain(client, '');
      // Whole when the client is still there for its end (else it left, or the drain cut it).
      reportClosed(proxy, conn, tally, code === null && !client.destroyed);
    }
    this.#resolve();
  }
}
