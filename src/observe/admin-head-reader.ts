/**
 * Finds the request heads in the bytes an admin connection receives, one read at a time, holding
 * at most one incomplete head (copied, at most ADMIN_MAX_HEAD_BYTES) between reads. node:http's
 * parser made a request and a response object for every head one read held (about 1,700 per
 * 64 KiB of pipelined `GET /metrics`) before anything could bound them; here each complete head is
 * handed over as it is found, and the caller may stop the reading at any head.
 */
import { hasBareLf } from '../net/http1-request-head.js';
import { requestLineStart } from '../net/request-line-start.js';
import { parseAdminRequestHead, type AdminRequest, type HeadRefusal } from './admin-request-head.js';

/**
 * The largest head the admin port takes (request line, field lines, empty line, and any empty
 * lines before them): probes and scrapers send a few hundred bytes. A larger one is answered 431.
 */
export const ADMIN_MAX_HEAD_BYTES = 8 * 1024;

const CR = 0x0d;
const LF = 0x0a;
const END_OF_HEAD = Buffer.from('\r\n\r\n', 'latin1');

export class AdminHeadReader {
  /** The bytes of the incomplete head, from its request line's first byte; null between heads. */
  #pending: Buffer | null = null;
  /** Empty lines (CRLF) skipped before the current head's request line: they count against its bound. */
  #skipped = 0;

  /** Whether bytes of a head have come and its end has not: the head's deadline runs. */
  get inHead(): boolean {
    return this.#pending !== null || this.#skipped > 0;
  }

  /**
   * Reads `chunk`: hands each complete head to `onHead` in order (which returns false to stop the
   * reading there: the rest is not looked at, and the reader is not to be used again), and keeps an
   * incomplete one for the next read. Returns why a head is refused (after the complete heads
   * before it were handed over), or null.
   */
  read(chunk: Buffer, onHead: (request: AdminRequest) => boolean): HeadRefusal | null {
    const pending = this.#pending;
    const bytes = pending === null ? chunk : Buffer.concat([pending, chunk]);
    // Where CRLF CRLF can first end in the new bytes: the pending ones were searched already.
    let searchFrom = pending === null ? 0 : Math.max(0, pending.length - 3);
    this.#pending = null;
    let at = 0;
    for (;;) {
      // RFC 9112 §2.2: empty lines before a request line are skipped (as llhttp skips them).
      while (at + 1 < bytes.length && bytes[at] === CR && bytes[at + 1] === LF) {
        at += 2;
        this.#skipped += 2;
      }
      if (this.#skipped > ADMIN_MAX_HEAD_BYTES) return 431;
      if (at === bytes.length) return null;
      const end = bytes.indexOf(END_OF_HEAD, Math.max(at, searchFrom));
      if (end < 0) return this.#keep(bytes.subarray(at));
      const headEnd = end + END_OF_HEAD.length;
      if (this.#skipped + headEnd - at > ADMIN_MAX_HEAD_BYTES) return 431;
      const request = parseAdminRequestHead(bytes.toString('latin1', at, headEnd));
      if (typeof request === 'number') return request;
      this.#skipped = 0;
      at = headEnd;
      searchFrom = at;
      if (!onHead(request)) return null;
    }
  }

  /**
   * Keeps the start of a head whose end has not come, or refuses it at once when it is already too
   * large or cannot become a request: TLS, SSH, an HTTP/2 connection's binary frames, a bare LF
   * (which llhttp refuses at once) are answered now, not at the head's deadline.
   */
  #keep(partial: Buffer): HeadRefusal | null {
    if (this.#skipped + partial.length > ADMIN_MAX_HEAD_BYTES) return 431;
    // A lone CR may be the first half of an empty line still to be skipped.
    const loneCr = partial.length === 1 && partial[0] === CR;
    if (!loneCr && (requestLineStart(partial) === 'not_http' || hasBareLf(partial))) return 400;
    // A copy: a view would keep the whole read's buffer (up to 64 KiB) for these few bytes.
    this.#pending = Buffer.from(partial);
    return null;
  }
}
