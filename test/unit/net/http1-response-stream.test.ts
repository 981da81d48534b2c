import { describe, expect, it } from 'vitest';
import { recorder, feed, refusal } from './http1-parser-support.js';

describe('ResponseParser: end of stream', () => {
  it.each([
    ['before any byte', []],
    ['mid head', ['HTTP/1.1 200 OK\r\nContent-Len']],
    ['mid chunked body', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel']],
    ['before the last chunk', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n']],
    ['mid trailers', ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n']],
    ['short of Content-Length', ['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort']],
  ])('reports a response cut short %s', (_name, pieces) => {
    const { parser, seen } = feed('GET', pieces);
    expect(parser.finish()).toEqual(refusal('response cut short'));
    expect(seen.completes).toEqual([]);
    expect(parser.started).toBe(pieces.length > 0);
    expect(parser.busy).toBe(false);
  });

  it('accepts EOF on an idle connection, before and after a response', () => {
    const { parser } = recorder();
    expect(parser.finish()).toBeNull();
    parser.expect('GET');
    parser.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    expect(parser.finish()).toBeNull();
  });
});

describe('ResponseParser: state and buffers', () => {
  it('hands body bytes out as views of the input chunk, not copies', () => {
    // Buffer.alloc is never pool-backed, so a copy could not share its ArrayBuffer by chance.
    const unpooled = (text: string): Buffer => {
      const buffer = Buffer.alloc(text.length);
      buffer.write(text, 'latin1');
      return buffer;
    };
    const input = unpooled('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n');
    const { seen } = feed('GET', [input]);
    expect(seen.bodies.map((chunk) => chunk.toString())).toEqual(['hello', 'abc']);
    for (const chunk of seen.bodies) expect(chunk.buffer).toBe(input.buffer);
    input.fill('Z'.charCodeAt(0));
    expect(seen.bodies.map((chunk) => chunk.toString())).toEqual(['ZZZZZ', 'ZZZ']);
    const plain = unpooled('HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nbody');
    expect(feed('GET', [plain]).seen.bodies[0]?.buffer).toBe(plain.buffer);
  });

  it('tracks busy and started over a response', () => {
    const { parser } = recorder();
    expect([parser.busy, parser.started]).toEqual([false, false]);
    parser.expect('GET');
    expect([parser.busy, parser.started]).toEqual([true, false]);
    parser.execute(Buffer.alloc(0));
    expect([parser.busy, parser.started]).toEqual([true, false]);
    parser.execute(Buffer.from('H'));
    expect([parser.busy, parser.started]).toEqual([true, true]);
    parser.execute(Buffer.from('TTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n'));
    expect([parser.busy, parser.started]).toEqual([true, true]);
    parser.execute(Buffer.from('!'));
    expect([parser.busy, parser.started]).toEqual([false, true]);
    parser.expect('GET');
    expect([parser.busy, parser.started]).toEqual([true, false]);
  });
});
