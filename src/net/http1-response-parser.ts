import { bodyFraming, parseChunkSize, parseHead, parseTrailers, type ParsedHead } from './http1-head.js';

/**
 * An incremental, strict HTTP/1.1 response parser for the proxy's own upstream client (one
 * keep-alive connection, one request at a time). It replaces undici on the hot path, so it does
 * little per byte: a head's end is found with Buffer.indexOf (checking each LF follows a CR), the
 * head is decoded as latin1 once and validated as a string (http1-head.ts), body bytes are handed
 * out as subarrays of the input, and only an incomplete head or line is copied and kept.
 */

export interface ResponseHead {
  readonly status: number;
  /** Reason phrase, may be ''. */
  readonly statusMessage: string;
  /** As on the wire, in order: [name, value, name, value, ...] (names as sent, values trimmed of OWS). */
  readonly rawHeaders: readonly string[];
  /** The body is chunked (decoded here; onBody gets payload bytes only). */
  readonly chunked: boolean;
  /** Content-Length when the body is framed by it (after validation), else null. */
  readonly contentLength: number | null;
}

export interface ResponseEvents {
  /** A final (status >= 200) head. Interim 1xx heads go to onInterim; 101 is an error (the proxy never asks for an upgrade on this path). */
  onHead(head: ResponseHead): void;
  /** An interim head (100 Continue, 102, 103...), parsed as strictly as a final one: the final head follows. Optional. */
  onInterim?(head: ParsedHead): void;
  /** Decoded body bytes, never empty; may be a subarray of the chunk given to execute(). */
  onBody(chunk: Buffer): void;
  /** The response is complete. `trailers` raw like rawHeaders ([] without). `reusable`: the connection may carry another request. */
  onComplete(trailers: readonly string[], reusable: boolean): void;
}

export type ResponseParseError = { readonly code: 'KZP_ERR_UPSTREAM_PROTOCOL'; readonly reason: string };

/** Where the parser is in the current response; 'idle' between responses (and once failed). */
type Phase = 'idle' | 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'close';

const CR = 0x0d;
const LF = 0x0a;
/** A chunk-size line carries at most 16 hex digits; extensions past this are not worth reading. */
const MAX_CHUNK_SIZE_LINE = 4096;
/** #sectionEnd(): incomplete (the bytes are kept), over the size limit, or a bare LF. */
const NEED_MORE = -1;
const TOO_LONG = -2;
const BARE_LF = -3;

export class ResponseParser {
  readonly #events: ResponseEvents;
  readonly #maxHeadBytes: number;
  #phase: Phase = 'idle';
  #failure: ResponseParseError | null = null;
  #started = false;
  /** Counts #complete() calls, so execute() can tell bytes after a response from the next one. */
  #completions = 0;
  #noBody = false;
  #reusable = false;
  /** Body bytes left in the Content-Length body or the current chunk. */
  #remaining = 0;
  /** 'chunk-end': how many bytes of the CRLF after chunk data were seen. */
  #crlfSeen = 0;
  /**
   * An incomplete head, trailer section or chunk-size line, copied into one buffer that doubles as
   * it grows (a copy per read held 3.6 MB for a 60 KB head dripped a byte a segment), and its length.
   */
  #held: Buffer | null = null;
  #heldBytes = 0;
  /** For a held section: the bytes of its last, incomplete line, and its last byte (-1 when none). */
  #heldLine = 0;
  #heldLast = -1;
  /**
   * Bytes of the interim (1xx) heads of the current response so far. They count against the head
   * limit with the final head, as Go's client counts them: an origin sending 1xx heads without end
   * (103 Early Hints with huge Link fields, 100 Continue in a loop) never produces an answer, and
   * without a bound the connection was read and parsed at full speed for as long as the client
   * waited, one core per such request, while the client got nothing.
   */
  #interimBytes = 0;

  constructor(events: ResponseEvents, options: { readonly maxHeadBytes: number }) {
    this.#events = events;
    this.#maxHeadBytes = options.maxHeadBytes;
  }

  /** True between expect() and onComplete (a response is awaited or being read). */
  get busy(): boolean {
    return this.#phase !== 'idle';
  }

  /** True once any byte of the current response was received: a reused connection that fails before this may be retried. */
  get started(): boolean {
    return this.#started;
  }

  /** Arm for the response to one request; `method` decides body-less HEAD. Throws if a response is in progress or the parser failed. */
  expect(method: string): void {
    if (this.#failure !== null) throw new Error(`response parser failed (${this.#failure.reason}); the connection must be closed`);
    if (this.#phase !== 'idle') throw new Error('a response is already in progress');
    this.#noBody = method === 'HEAD';
    this.#started = false;
    this.#interimBytes = 0;
    this.#phase = 'head';
  }

  /** Feed bytes. Returns null, or an error after which the parser is dead and the connection must be closed. */
  execute(chunk: Buffer): ResponseParseError | null {
    if (this.#failure !== null || chunk.length === 0) return this.#failure;
    if (this.#phase === 'idle') return this.#fail('data after the response');
    this.#started = true;
    const completions = this.#completions;
    // A failing step returns an offset past the chunk, which ends the loop.
    for (let at = 0; at < chunk.length; at = this.#step(chunk, at)) {
      if (this.#completions !== completions) return this.#fail('data after the response');
    }
    return this.#failure;
  }

  /** The origin closed its side (EOF): completes a close-delimited body; anything else in progress was cut short. */
  finish(): ResponseParseError | null {
    if (this.#failure !== null || this.#phase === 'idle') return this.#failure;
    if (this.#phase !== 'close') return this.#fail('response cut short');
    this.#complete([], false);
    return null;
  }

  /** Consumes from chunk[at] on in the current phase; returns where the next step starts. */
  #step(chunk: Buffer, at: number): number {
    switch (this.#phase) {
      case 'head':
      case 'trailers':
        return this.#section(chunk, at);
      case 'length':
      case 'chunk-data':
        return this.#body(chunk, at);
      case 'chunk-size':
        return this.#chunkSizeLine(chunk, at);
      case 'chunk-end':
        return this.#chunkEnd(chunk, at);
      case 'close':
        this.#events.onBody(at === 0 ? chunk : chunk.subarray(at));
        return chunk.length;
      case 'idle':
        return this.#stop('data after the response');
    }
  }

  /** A head or trailer section, taken whole once its empty line is in: it is decoded and checked at once. */
  #section(chunk: Buffer, at: number): number {
    const end = this.#sectionEnd(chunk, at);
    if (end === NEED_MORE) return chunk.length;
    if (end < 0) return this.#stop(end !== TOO_LONG ? 'bare LF in response head' : this.#interimBytes > 0 ? 'interim responses past the head limit' : 'response head too large');
    const size = this.#heldBytes + end - at;
    const text = this.#heldBytes === 0 ? chunk.toString('latin1', at, end) : this.#takeHeld(chunk, at, end).toString('latin1');
    if (this.#phase === 'trailers') {
      const trailers = parseTrailers(text);
      if (typeof trailers === 'string') return this.#stop(trailers);
      this.#complete(trailers, end < chunk.length);
      return end;
    }
    const head = parseHead(text);
    if (typeof head === 'string') return this.#stop(head);
    if (head.status >= 200) return this.#finalHead(head, chunk, end);
    // Interim (100, 102, 103, ...): the final head follows. 101 would switch protocols, never asked for here.
    if (head.status === 101) return this.#stop('unexpected 101 Switching Protocols');
    this.#interimBytes += size;
    this.#events.onInterim?.(head);
    return end;
  }

  /**
   * Where the section begun in held bytes or at chunk[at] ends (after its empty line); else
   * NEED_MORE (the bytes are held), TOO_LONG (past maxHeadBytes without its end) or BARE_LF.
   */
  #sectionEnd(chunk: Buffer, at: number): number {
    // The section's last LF must come before this; a head shares the limit with the interim heads before it.
    const limit = at + this.#maxHeadBytes - this.#heldBytes - (this.#phase === 'head' ? this.#interimBytes : 0);
    let from = at;
    let line = this.#heldLine; // bytes of the current line before `from`
    for (let lf = chunk.indexOf(LF, from); lf >= 0 && lf < limit; lf = chunk.indexOf(LF, from)) {
      if ((lf > at ? chunk[lf - 1] : this.#heldLast) !== CR) return BARE_LF;
      if (line + lf - from === 1) return lf + 1;
      from = lf + 1;
      line = 0;
    }
    if (chunk.length >= limit) return TOO_LONG;
    this.#heldLine = line + chunk.length - from;
    this.#heldLast = chunk[chunk.length - 1] ?? -1;
    this.#hold(chunk.subarray(at));
    return NEED_MORE;
  }

  #finalHead(head: ParsedHead, chunk: Buffer, next: number): number {
    const noBody = this.#noBody || head.status === 204 || head.status === 304;
    const framing = bodyFraming(head.fields, head.http10, noBody);
    if (typeof framing === 'string') return this.#stop(framing);
    this.#reusable = framing.reusable;
    this.#events.onHead({
      status: head.status,
      statusMessage: head.statusMessage,
      rawHeaders: head.fields,
      chunked: framing.kind === 'chunked',
      contentLength: framing.kind === 'length' ? framing.length : null,
    });
    if (framing.kind === 'none' || (framing.kind === 'length' && framing.length === 0)) this.#complete([], next < chunk.length);
    else if (framing.kind === 'length') {
      this.#phase = 'length';
      this.#remaining = framing.length;
    } else this.#phase = framing.kind === 'chunked' ? 'chunk-size' : 'close';
    return next;
  }

  /** Hands out up to #remaining bytes from chunk[at] (at least one), then ends the body or the chunk's data. */
  #body(chunk: Buffer, at: number): number {
    const end = Math.min(chunk.length, at + this.#remaining);
    this.#remaining -= end - at;
    this.#events.onBody(at === 0 && end === chunk.length ? chunk : chunk.subarray(at, end));
    if (this.#remaining > 0) return end;
    if (this.#phase === 'length') this.#complete([], end < chunk.length);
    else {
      this.#phase = 'chunk-end';
      this.#crlfSeen = 0;
    }
    return end;
  }

  /** The CRLF after chunk data, possibly split between chunks. */
  #chunkEnd(chunk: Buffer, at: number): number {
    if (chunk[at] !== (this.#crlfSeen === 0 ? CR : LF)) return this.#stop('missing CRLF after chunk data');
    if (++this.#crlfSeen === 2) this.#phase = 'chunk-size';
    return at + 1;
  }

  #chunkSizeLine(chunk: Buffer, at: number): number {
    const limit = at + MAX_CHUNK_SIZE_LINE - this.#heldBytes; // the line's LF must come before this
    const lf = chunk.indexOf(LF, at);
    if (lf < 0 || lf >= limit) {
      if (chunk.length >= limit) return this.#stop('chunk size line too long');
      this.#hold(chunk.subarray(at));
      return chunk.length;
    }
    const line = this.#takeHeld(chunk, at, lf + 1);
    const cr = line.length - 2;
    const size = cr >= 0 && line[cr] === CR ? parseChunkSize(line, 0, cr) : -1;
    if (size < 0) return this.#stop('invalid chunk size line');
    if (size === 0) this.#phase = 'trailers';
    else {
      this.#phase = 'chunk-data';
      this.#remaining = size;
    }
    return lf + 1;
  }

  /** Keeps a copy of bytes of an incomplete section or line (a copy, so the caller's chunk is not retained). */
  #hold(bytes: Buffer): void {
    const need = this.#heldBytes + bytes.length;
    if (this.#held === null || need > this.#held.length) {
      // Held bytes stay under the head limit (#sectionEnd refuses more), so the buffer does too, near enough.
      const grown = Buffer.allocUnsafeSlow(Math.max(need, this.#held === null ? 1024 : Math.min(this.#held.length * 2, this.#maxHeadBytes)));
      this.#held?.copy(grown, 0, 0, this.#heldBytes);
      this.#held = grown;
    }
    bytes.copy(this.#held, this.#heldBytes);
    this.#heldBytes = need;
  }

  /** The held bytes followed by chunk[at, end): a view of the chunk when nothing was held. Clears what was held. */
  #takeHeld(chunk: Buffer, at: number, end: number): Buffer {
    if (this.#held === null || this.#heldBytes === 0) return chunk.subarray(at, end);
    const joined = Buffer.allocUnsafe(this.#heldBytes + end - at);
    this.#held.copy(joined, 0, 0, this.#heldBytes);
    chunk.copy(joined, this.#heldBytes, at, end);
    this.#dropHeld();
    return joined;
  }

  #dropHeld(): void {
    this.#held = null;
    this.#heldBytes = 0;
    this.#heldLine = 0;
    this.#heldLast = -1;
  }

  #complete(trailers: readonly string[], leftover: boolean): void {
    this.#phase = 'idle';
    this.#completions++;
    // Bytes after the response cannot be the next one (no pipelining): the connection is done.
    this.#events.onComplete(trailers, this.#reusable && !leftover);
  }

  #fail(reason: string): ResponseParseError {
    this.#failure = { code: 'KZP_ERR_UPSTREAM_PROTOCOL', reason };
    this.#phase = 'idle';
    this.#dropHeld();
    return this.#failure;
  }

  /** #fail() for the step functions: the returned offset ends execute()'s loop. */
  #stop(reason: string): number {
    this.#fail(reason);
    return Number.MAX_SAFE_INTEGER;
  }
}
