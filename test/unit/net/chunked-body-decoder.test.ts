import { describe, expect, it } from 'vitest';
import { ChunkedBodyDecoder } from '../../../src/net/chunked-body-decoder.js';

/** Feeds `parts` in turn; returns what each feed took and relayed, and the decoder. */
function feedAll(parts: readonly string[], maxTrailerBytes = 1024): { taken: (number | string)[]; relayed: string; decoder: ChunkedBodyDecoder } {
  const decoder = new ChunkedBodyDecoder(maxTrailerBytes);
  const taken: (number | string)[] = [];
  let relayed = '';
  for (const part of parts) {
    const bytes = Buffer.from(part, 'latin1');
    const used = decoder.feed(bytes);
    taken.push(used);
    if (typeof used === 'string') break;
    relayed += bytes.toString('latin1', 0, decoder.relayable);
  }
  return { taken, relayed, decoder };
}

describe('ChunkedBodyDecoder', () => {
  it('finds the end of a body in one read, the bytes after it left over, the trailers apart', () => {
    const body = '5\r\nhello\r\n3;ext=v\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\n';
    const { taken, relayed, decoder } = feedAll([`${body}frame`]);
    expect(taken).toEqual([body.length]);
    expect(relayed).toBe('5\r\nhello\r\n3;ext=v\r\nabc\r\n0\r\n');
    expect(decoder.done).toBe(true);
    expect(decoder.trailers).toEqual(['X-Sum', '1']);
  });

  it('takes the same body a byte at a time', () => {
    const body = '5\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n';
    const { taken, relayed, decoder } = feedAll(Array.from({ length: body.length }, (_, i) => body.charAt(i)));
    expect(taken.every((used) => used === 1)).toBe(true);
    expect(relayed).toBe('5\r\nhello\r\n0\r\n');
    expect(decoder.trailers).toEqual(['X-Sum', '1']);
  });

  it('holds an unfinished trailer section for a caller that stops before its end', () => {
    const { decoder } = feedAll(['1\r\na\r\n0\r\nX-Su']);
    expect(decoder.done).toBe(false);
    expect(decoder.heldTrailerBytes.toString('latin1')).toBe('X-Su');
  });

  it.each([
    ['a bad size', 'zz\r\nhello\r\n0\r\n\r\n', 'invalid chunk size line'],
    ['data longer than its size', '2\r\nhello\r\n0\r\n\r\n', 'missing CRLF after chunk data'],
    ['a bare LF after the size', '5\nhello\r\n0\r\n\r\n', 'invalid chunk size line'],
    ['a trailer section with a bare LF', '0\r\nX: 1\n\r\n', 'bare LF in trailer section'],
  ])('refuses %s', (_what, body, reason) => {
    expect(feedAll([body]).taken.at(-1)).toEqual(reason);
  });

  it('refuses a trailer line that is not a field', () => {
    expect(typeof feedAll(['0\r\nnot a field\r\n\r\n']).taken.at(-1)).toBe('string');
  });

  it('refuses a trailer section past its bound', () => {
    expect(feedAll([`0\r\nX-Big: ${'a'.repeat(64)}`, 'a'.repeat(64)], 100).taken.at(-1)).toBe('trailer section too large');
  });
});
