import type { Socket } from 'node:net';
import { ChunkedBodyDecoder } from '../net/chunked-body-decoder.js';
import { forwardTrailers } from './hop-by-hop.js';
import type { UpgradeBodyFraming } from './upgrade-body.js';

/** Largest trailer section taken (the default request head limit, limits.max_header_bytes); past it, the framing is refused. */
const MAX_TRAILER_BYTES = 16 * 1024;

/**
 * A chunked Upgrade request body (Transfer-Encoding: chunked), for forwardUpgradeBody: where it ends
 * is in its chunks, so they are decoded (chunked-body-decoder.ts) as strictly as a destination's,
 * and relayed as the client framed them, the last chunk's line included; only the trailer section
 * is rewritten, without the fields the ordinary path keeps out of a request's trailers
 * (hop-by-hop.ts forwardTrailers: Proxy-Authorization, credentials, framing, what the head's
 * Connection named). Relayed intact, the framing stays whole when a 101 comes before the body's
 * end and the rest of it goes through the tunnel as it came. `rawHeaders`: the request's head.
 */
export function chunkedFraming(rawHeaders: readonly string[]): UpgradeBodyFraming {
  return new ChunkedFraming(rawHeaders);
}

class ChunkedFraming implements UpgradeBodyFraming {
  readonly #rawHeaders: readonly string[];
  readonly #decoder = new ChunkedBodyDecoder(MAX_TRAILER_BYTES);

  constructor(rawHeaders: readonly string[]) {
    this.#rawHeaders = rawHeaders;
  }

  get complete(): boolean {
    return this.#decoder.done;
  }

  take(chunk: Buffer, upstream: Socket): number | string {
    const decoder = this.#decoder;
    const used = decoder.feed(chunk);
    if (typeof used === 'string') return used;
    const relayable = decoder.relayable;
    if (relayable > 0) upstream.write(relayable === chunk.length ? chunk : chunk.subarray(0, relayable));
    const trailers = decoder.trailers;
    if (trailers !== null) upstream.write(trailerSection(forwardTrailers(trailers, this.#rawHeaders, false)), 'latin1');
    return used;
  }

  pending(): Buffer {
    return this.#decoder.heldTrailerBytes;
  }
}

/** A trailer section for the wire: the field lines (values passed the decoder's checks), then the empty line. */
function trailerSection(fields: readonly string[]): string {
  let section = '';
  for (let i = 0; i + 1 < fields.length; i += 2) section += `${fields[i] ?? ''}: ${fields[i + 1] ?? ''}\r\n`;
  return `${section}\r\n`;
}
