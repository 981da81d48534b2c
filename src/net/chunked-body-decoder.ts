import { parseChunkSize, parseTrailers } from './http1-head.js';

type Phase = 'size' | 'data' | 'data-end' | 'trailers' | 'done' | 'failed';

const CR = 0x0d;
const LF = 0x0a;
/** A chunk-size line carries at most 16 hex digits; extensions past this are not worth reading (as the response parser). */
const MAX_SIZE_LINE = 4096;

/**
 * An incremental, strict decoder of a chunked message body (RFC 9112 §7.1) whose end must be found
 * in a byte stream that goes on after it (an Upgrade request's body, followed by the new
 * protocol). It checks what http1-response-parser.ts checks of a response's chunks (the size line,
 * the CRLF after the data, the trailer section, parsed by http1-head.ts) and says where the body
 * ended; what follows is the caller's. The chunks are the caller's to relay as they came
 * (`relayable`), the trailer section apart, which is parsed (`trailers`) so it can be filtered.
 * Only an incomplete size line or trailer section is held (a copy), up to its bound.
 */
export class ChunkedBodyDecoder {
  readonly #maxTrailerBytes: number;
  #phase: Phase = 'size';
  #remaining = 0;
  #crlfSeen = 0;
  #held: Buffer = Buffer.alloc(0);
  #relayable = 0;
  #trailerFields: readonly string[] | null = null;

  constructor(maxTrailerBytes: number) {
    this.#maxTrailerBytes = maxTrailerBytes;
  }

  /** The whole body, its trailer section included, has been decoded. */
  get done(): boolean {
    return this.#phase === 'done';
  }

  /** Of the bytes the last feed() took, how many (from the first) are chunks, before the trailer section. */
  get relayable(): number {
    return this.#relayable;
  }

  /** The trailer section once the body is done: raw, [name, value, ...] ([] without); else null. */
  get trailers(): readonly string[] | null {
    return this.#trailerFields;
  }

  /** The part of a trailer section held so far (as it came), for a caller that stops decoding before its end. */
  get heldTrailerBytes(): Buffer {
    return this.#phase === 'trailers' ? this.#held : Buffer.alloc(0);
  }

  /**
   * Decodes from `chunk`; returns how many of its bytes were the body's (all of them until it ends,
   * the rest follows it), or why the framing is refused (the decoder is then dead).
   */
  feed(chunk: Buffer): number | string {
    let at = 0;
    this.#relayable = -1;
    while (at < chunk.length && this.#phase !== 'done') {
      const next = this.#step(chunk, at);
      if (typeof next === 'string') {
        this.#phase = 'failed';
        this.#held = Buffer.alloc(0);
        return next;
      }
      at = next;
    }
    if (this.#relayable < 0) this.#relayable = this.#phase === 'trailers' || this.#phase === 'done' ? 0 : at;
    return at;
  }

  #step(chunk: Buffer, at: number): number | string {
    switch (this.#phase) {
      case 'size':
        return this.#sizeLine(chunk, at);
      case 'data': {
        const end = Math.min(chunk.length, at + this.#remaining);
        this.#remaining -= end - at;
        if (this.#remaining === 0) {
          this.#phase = 'data-end';
          this.#crlfSeen = 0;
        }
        return end;
      }
      case 'data-end':
        if (chunk[at] !== (this.#crlfSeen === 0 ? CR : LF)) return 'missing CRLF after chunk data';
        if (++this.#crlfSeen === 2) this.#phase = 'size';
        return at + 1;
      case 'trailers':
        return this.#trailers(chunk, at);
      case 'done':
      case 'failed':
        return 'chunked body already over';
    }
  }

  #sizeLine(chunk: Buffer, at: number): number | string {
    const lf = chunk.indexOf(LF, at);
    if (lf < 0) return this.#hold(chunk, at, MAX_SIZE_LINE, 'chunk size line too long');
    const line = this.#take(chunk, at, lf + 1);
    if (line.length > MAX_SIZE_LINE) return 'chunk size line too long';
    const cr = line.length - 2;
    const size = cr >= 0 && line[cr] === CR ? parseChunkSize(line, 0, cr) : -1;
    if (size < 0) return 'invalid chunk size line';
    if (size === 0) {
      this.#phase = 'trailers';
      this.#relayable = lf + 1;
    } else {
      this.#phase = 'data';
      this.#remaining = size;
    }
    return lf + 1;
  }

  /** The trailer section through its empty line (just CRLF without trailers), taken whole. */
  #trailers(chunk: Buffer, at: number): number | string {
    const joined = this.#held.length === 0 ? chunk.subarray(at) : Buffer.concat([this.#held, chunk.subarray(at)]);
    const end = sectionEnd(joined);
    if (typeof end === 'string') return end;
    if (end < 0) return this.#hold(chunk, at, this.#maxTrailerBytes, 'trailer section too large');
    if (end > this.#maxTrailerBytes) return 'trailer section too large';
    const trailers = parseTrailers(joined.toString('latin1', 0, end));
    if (typeof trailers === 'string') return trailers;
    const used = end - this.#held.length;
    this.#held = Buffer.alloc(0);
    this.#phase = 'done';
    this.#trailerFields = trailers;
    return at + used;
  }

  /** Keeps an incomplete line or section (copied: the caller's chunk is not retained), up to `limit` bytes. */
  #hold(chunk: Buffer, at: number, limit: number, tooLong: string): number | string {
    if (this.#held.length + chunk.length - at > limit) return tooLong;
    this.#held = Buffer.concat([this.#held, chunk.subarray(at)]);
    return chunk.length;
  }

  /** The held bytes followed by chunk[at, end), the held bytes cleared. */
  #take(chunk: Buffer, at: number, end: number): Buffer {
    if (this.#held.length === 0) return chunk.subarray(at, end);
    const joined = Buffer.concat([this.#held, chunk.subarray(at, end)]);
    this.#held = Buffer.alloc(0);
    return joined;
  }
}

/** Where a field section (no start line) ends, after its empty line: -1 when not yet in, or why it is refused. */
function sectionEnd(bytes: Buffer): number | string {
  let lineStart = 0;
  for (let lf = bytes.indexOf(LF); lf >= 0; lf = bytes.indexOf(LF, lineStart)) {
    if (lf === 0 || bytes[lf - 1] !== CR) return 'bare LF in trailer section';
    if (lf - lineStart === 1) return lf + 1;
    lineStart = lf + 1;
  }
  return -1;
}
