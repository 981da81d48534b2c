import { ResponseParser, type ResponseHead, type ResponseParseError } from '../../../src/net/http1-response-parser.js';

// Shared by the http1-response-parser tests: a parser whose events are recorded, and ways to cut input.

export interface Recording {
  readonly heads: ResponseHead[];
  readonly bodies: Buffer[];
  readonly completes: { readonly trailers: readonly string[]; readonly reusable: boolean }[];
  /** Interim statuses in the order they came. */
  readonly interims: number[];
}

/** A parser whose events are written down, with a way to read the body back. */
export function recorder(maxHeadBytes = 8192): { parser: ResponseParser; seen: Recording; body: () => string } {
  const seen: Recording = { heads: [], bodies: [], completes: [], interims: [] };
  const parser = new ResponseParser(
    {
      onHead: (head) => seen.heads.push(head),
      onInterim: (head) => seen.interims.push(head.status),
      onBody: (chunk) => seen.bodies.push(chunk),
      onComplete: (trailers, reusable) => seen.completes.push({ trailers, reusable }),
    },
    { maxHeadBytes },
  );
  return { parser, seen, body: () => Buffer.concat(seen.bodies).toString('latin1') };
}

/** Arms a fresh parser for `method` and feeds `pieces` in order, stopping at the first error. */
export function feed(method: string, pieces: readonly (string | Buffer)[], maxHeadBytes?: number) {
  const recorded = recorder(maxHeadBytes);
  recorded.parser.expect(method);
  let error: ResponseParseError | null = null;
  for (const piece of pieces) {
    error = recorded.parser.execute(typeof piece === 'string' ? Buffer.from(piece, 'latin1') : piece);
    if (error !== null) break;
  }
  return { ...recorded, error };
}

/** `bytes` cut at the given offsets (sorted, deduplicated, clamped). */
export function cutAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => Math.min(cut, bytes.length)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    if (point > from) pieces.push(bytes.subarray(from, point));
    from = Math.max(from, point);
  }
  return pieces;
}

/** The response as one-byte chunks. */
export function byteByByte(text: string): Buffer[] {
  return [...Buffer.from(text, 'latin1')].map((byte) => Buffer.from([byte]));
}

export function refusal(reason: string): ResponseParseError {
  return { code: 'KZP_ERR_UPSTREAM_PROTOCOL', reason };
}

export const CHUNKED_WITH_TRAILERS =
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n' +
  '5;name=value\r\nhello\r\n7 ; ext="q"\r\n, world\r\nA\r\n0123456789\r\n0\r\nX-Checksum: abc \r\nX-Other:\t2\r\n\r\n';
