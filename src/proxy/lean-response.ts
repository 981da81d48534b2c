import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { isToken } from '../net/http1-head.js';
import type { ResponseView } from './exchange-views.js';

/** Field values without CTLs other than HTAB; names are tokens (isToken): node:http's own checks. */
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

let dateSecond = -1;
let dateText = '';
/** The Date header's value, made once a second. */
function utcDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

export interface LeanResponseOptions {
  /** The request's method: a HEAD response has no body. */
  readonly method: string;
  /** The connection ends after this response (the client said close, or the proxy is closing). */
  readonly closeAfter: boolean;
  /** Announced in `Keep-Alive: timeout=N` (seconds), as node:http does. */
  readonly keepAliveTimeoutMs: number;
  /** The response is written out (reusable: the connection may carry another request). */
  readonly finished: (reusable: boolean) => void;
}

/** A body chunk up to this size goes out in one buffer with its head or chunk framing. */
const MERGE_MAX_BYTES = 16 * 1024;

/**
 * A response written straight to a fast-lane client's socket (fast-lane.ts), with node:http's
 * ServerResponse rules for an HTTP/1.1 request, so a client cannot tell the two paths apart: the
 * head goes out with the first body bytes (one buffer up to MERGE_MAX_BYTES, a writev above), header
 * names and values are checked (a bad one throws), `Date` unless `sendDate` is off,
 * `Connection: keep-alive` with `Keep-Alive: timeout=N` or `Connection: close`, chunked framing
 * when there is a body and no Content-Length, none for HEAD, 204, 304 and 1xx, trailers after the
 * last chunk. 'close' follows the last byte's hand-over to the kernel, or the socket's end.
 */
export class LeanResponse implements ResponseView {
  headersSent = false;
  destroyed = false;
  writableFinished = false;
  statusCode = 200;
  sendDate = true;
  readonly #socket: Socket;
  readonly #options: LeanResponseOptions;
  /** The head, until the first bytes go out with it. */
  #head: string | null = null;
  #hasBody = true;
  #chunked = false;
  #closeAfter: boolean;
  #ended = false;
  #closed = false;
  #trailers: [string, string][] = [];
  #onClose: (() => void)[] = [];
  #onDrain: (() => void)[] = [];

  constructor(socket: Socket, options: LeanResponseOptions) {
    this.#socket = socket;
    this.#options = options;
    this.#closeAfter = options.closeAfter;
  }

  writeHead(statusCode: number, messageOrHeaders: string | string[], maybeHeaders?: string[]): this {
    if (this.headersSent) throw new Error('headers already sent');
    const message = typeof messageOrHeaders === 'string' ? messageOrHeaders : (STATUS_CODES[statusCode] ?? 'unknown');
    const headers = typeof messageOrHeaders === 'string' ? (maybeHeaders ?? []) : messageOrHeaders;
    if (INVALID_VALUE.test(message)) throw new Error('invalid character in status message');
    let head = `HTTP/1.1 ${statusCode} ${message}\r\n`;
    let length = false;
    let encoded = false;
    let connection = false;
    let date = false;
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const name = headers[i] ?? '';
      const value = headers[i + 1] ?? '';
      if (!isToken(name, 0, name.length) || INVALID_VALUE.test(value)) throw new Error(`invalid header ${name}`);
      const lower = name.toLowerCase();
      if (lower === 'content-length') length = true;
      else if (lower === 'transfer-encoding') {
        encoded = true;
        if (/chunked/i.test(value)) this.#chunked = true;
      } else if (lower === 'connection') {
        connection = true;
        if (/close/i.test(value)) this.#closeAfter = true;
      } else if (lower === 'date') date = true;
      head += `${name}: ${value}\r\n`;
    }
    this.#hasBody = this.#options.method !== 'HEAD' && statusCode !== 204 && statusCode !== 304 && (statusCode < 100 || statusCode >= 200);
    if (this.sendDate && !date) head += `Date: ${utcDate()}\r\n`;
    if (!connection) {
      const seconds = Math.floor(this.#options.keepAliveTimeoutMs / 1000);
      // node:http announces no timeout when it keeps connections without one (idle_timeout 0s).
      if (this.#closeAfter) head += 'Connection: close\r\n';
      else head += this.#options.keepAliveTimeoutMs > 0 ? `Connection: keep-alive\r\nKeep-Alive: timeout=${seconds}\r\n` : 'Connection: keep-alive\r\n';
    }
    if (!this.#hasBody) this.#chunked = false;
    else if (!length && !encoded) {
      head += 'Transfer-Encoding: chunked\r\n';
      this.#chunked = true;
    }
    this.#head = `${head}\r\n`;
    this.headersSent = true;
    this.statusCode = statusCode;
    return this;
  }

  /** Always the client's: the fast lane serves one request at a time. */
  get socket(): Socket {
    return this.#socket;
  }

  writeContinue(): void {
    if (!this.headersSent && !this.destroyed) this.#socket.write('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
  }

  /** Writes a head held for the first body bytes now (node:http's flushHeaders). */
  flushHeaders(): void {
    const head = this.#head;
    if (head === null || this.#ended || this.destroyed) return;
    this.#head = null;
    this.#socket.write(head, 'latin1');
  }

  write(chunk: Buffer): boolean {
    if (this.#ended || this.destroyed) return false;
    if (!this.headersSent) this.writeHead(this.statusCode, []);
    // node:http drops body bytes of a response that has none (HEAD, 204, 304).
    if (!this.#hasBody || chunk.length === 0) return true;
    const socket = this.#socket;
    let prefix = this.#head ?? '';
    this.#head = null;
    if (this.#chunked) prefix += `${chunk.length.toString(16)}\r\n`;
    if (prefix === '') return socket.write(chunk);
    const suffix = this.#chunked ? 2 : 0;
    if (chunk.length <= MERGE_MAX_BYTES) {
      // One buffer and one write: Node's path for a corked pair (writev) costs more than the copy.
      const merged = Buffer.allocUnsafe(prefix.length + chunk.length + suffix);
      merged.write(prefix, 0, 'latin1');
      chunk.copy(merged, prefix.length);
      if (suffix > 0) merged.write('\r\n', prefix.length + chunk.length, 'latin1');
      return socket.write(merged);
    }
    socket.cork();
    socket.write(prefix, 'latin1');
    let flowing = socket.write(chunk);
    if (suffix > 0) flowing = socket.write('\r\n', 'latin1');
    socket.uncork();
    return flowing;
  }

  addTrailers(trailers: [string, string][]): void {
    for (const [name, value] of trailers) {
      if (!isToken(name, 0, name.length) || INVALID_VALUE.test(value)) throw new Error(`invalid trailer ${name}`);
    }
    this.#trailers = trailers;
  }

  end(body?: string): this {
    if (this.#ended || this.destroyed) return this;
    if (!this.headersSent) this.writeHead(this.statusCode, []);
    this.#ended = true;
    // The head (and trailers) are latin1 text, a body given here is UTF-8: one buffer, one write.
    let tail = this.#head ?? '';
    this.#head = null;
    if (body !== undefined && body !== '' && this.#hasBody) {
      const bytes = Buffer.from(body, 'utf8');
      if (this.#chunked) tail += `${bytes.length.toString(16)}\r\n${bytes.toString('latin1')}\r\n`;
      else tail += bytes.toString('latin1');
    }
    if (this.#chunked) {
      tail += '0\r\n';
      for (const [name, value] of this.#trailers) tail += `${name}: ${value}\r\n`;
      tail += '\r\n';
    }
    const done = (error?: Error | null): void => {
      if (error === undefined || error === null) this.#finish();
      else this.socketClosed();
    };
    if (tail !== '') this.#socket.write(tail, 'latin1', done);
    else if (this.#socket.writableLength > 0) this.#socket.write('', 'latin1', done);
    else process.nextTick(done);
    return this;
  }

  destroy(): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.#socket.destroy();
    return this;
  }

  once(_event: 'close', listener: () => void): this {
    if (this.#closed) process.nextTick(listener);
    else this.#onClose.push(listener);
    return this;
  }

  on(_event: 'drain', listener: () => void): this {
    this.#onDrain.push(listener);
    return this;
  }

  /** The socket drained (fast-lane.ts forwards it while this response is current). */
  drained(): void {
    for (const listener of this.#onDrain) listener();
  }

  /** The socket closed: a response not yet written out ends here. */
  socketClosed(): void {
    this.destroyed = true;
    this.#emitClose();
  }

  #finish(): void {
    if (this.#closed) return;
    this.writableFinished = true;
    this.#emitClose();
    this.#options.finished(!this.#closeAfter && !this.destroyed);
  }

  #emitClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const listener of this.#onClose) listener();
    this.#onClose = [];
    this.#onDrain = [];
  }
}
