import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { rawExchange } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';
import { viaProxy } from './resilience-support.js';

let proxy: StartedProxy;
let origin: Origin;

beforeAll(async () => {
  origin = await startOrigin();
  proxy = await startProxy();
});

afterAll(async () => {
  await proxy.close();
  await origin.close();
});

/** Each case smuggles a second request (/smuggled) behind a first one (/front) if the framing were read leniently. */
function cases(base: string): readonly (readonly [string, string])[] {
  const smuggled = `GET ${base}/smuggled HTTP/1.1\r\nHost: x\r\n\r\n`;
  return [
    ['Content-Length with Transfer-Encoding', `POST ${base}/front HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`],
    ['Transfer-Encoding with Content-Length', `POST ${base}/front HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 60\r\n\r\n0\r\n\r\n${smuggled}`],
    ['duplicate Content-Length, different', `POST ${base}/front HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 48\r\n\r\n${smuggled}`],
    ['duplicate Content-Length, equal', `POST ${base}/front HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc`],
    ['Content-Length as a list', `POST ${base}/front HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\nabc`],
    ['obsolete line folding', `GET ${base}/front HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n`],
    ['obsolete line folding of Transfer-Encoding', `POST ${base}/front HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n ,chunked\r\n\r\n0\r\n\r\n`],
    ['bare LF line endings', `GET ${base}/front HTTP/1.1\nHost: x\n\n${smuggled}`],
    ['a bare LF inside the head', `GET ${base}/front HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n`],
    ['a bare CR', `GET ${base}/front HTTP/1.1\rHost: x\r\n\r\n`],
    ['Transfer-Encoding not ending in chunked', `POST ${base}/front HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${smuggled}`],
    ['codings stacked on chunked', `POST ${base}/front HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n`],
    ['Transfer-Encoding twice', `POST ${base}/front HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
    ['Transfer-Encoding in HTTP/1.0', `POST ${base}/front HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
    ['whitespace before the colon', `POST ${base}/front HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n`],
    ['a chunk size that overflows', `POST ${base}/front HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\n`],
    ['a chunk size with a bare LF', `POST ${base}/front HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n`],
    // Dropped as hop-by-hop, the length would leave the body to be read as the next request.
    ['Connection naming Content-Length', `POST ${base}/front HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Content-Length\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`],
    ['Connection naming Transfer-Encoding', `POST ${base}/front HTTP/1.1\r\nHost: x\r\nConnection: TRANSFER-ENCODING \r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
    ['Connection naming Host', `GET ${base}/front HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, host\r\n\r\n`],
    ['HTTP/2.0 on an HTTP/1 connection', `GET ${base}/front HTTP/2.0\r\nHost: x\r\n\r\n`],
    ['NUL in a header value', `GET ${base}/front HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n`],
  ];
}

describe('request smuggling', () => {
  it('is refused with 400 or a closed connection, and nothing reaches the destination', async () => {
    for (const [name, raw] of cases(origin.url)) {
      const answer = await rawExchange(proxy.port, raw);
      const status = answer.split('\r\n')[0] ?? '';
      expect(status === '' || status.startsWith('HTTP/1.1 400 ') ? 'refused' : `${name}: ${status}`).toBe('refused');
      // Only ever one answer: nothing after it that a lenient reader could take for a second response.
      expect(answer.split('HTTP/1.1 ')).toHaveLength(status === '' ? 1 : 2);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(origin.requests.map((seen) => `${seen.method} ${seen.url}`)).toEqual([]);
    expect((await viaProxy(proxy.port, `${origin.url}/after`)).status).toBe(200);
  });

  it('a well-formed chunked request followed by a pipelined one is two requests, each decided', async () => {
    const answer = await rawExchange(
      proxy.port,
      `POST ${origin.url}/one HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET ${origin.url}/two HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(answer.match(/HTTP\/1\.1 200 /g)).toHaveLength(2);
    // Each pipelined request is its own action, forwarded as soon as it is decided: the origin may
    // see them in either order (the client still gets the answers in order).
    const seen = origin.requests.slice(-2).map((request) => [request.method, request.url, request.bodyBytes] as const);
    expect([...seen].sort((a, b) => a[1].localeCompare(b[1]))).toEqual([
      ['POST', '/one', 3],
      ['GET', '/two', 0],
    ]);
  });
});
