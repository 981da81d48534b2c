import { get, type IncomingHttpHeaders } from 'node:http';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnector } from '../../../src/net/connector.js';
import { parseUpstreamProxyUrl } from '../../../src/net/upstream-proxy.js';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { headOrigin, type HeadOrigin } from '../../helpers/head-origin.js';
import { rawExchange } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

// How a destination's body framing reaches the client: Transfer-Encoding overrides Content-Length
// and the length is not relayed (RFC 9112 §6.3), a repeated length goes as one, transfer codings
// other than chunked are named (or the response refused where they cannot be), and no X-Kaizen-*
// trailer of the destination's passes, nor its name in the Trailer header. Each case runs through the fast lane, through node:http (a
// `Content-Length: 0` keeps a request out of the lane) and through an upstream proxy (our own
// client either way), against a raw origin writing exact bytes.

const ZIPPED = gzipSync('hello, coded body').toString('latin1');
const chunk = (text: string): string => `${text.length.toString(16)}\r\n${text}\r\n`;

const scripts: Readonly<Record<string, { readonly answer: string; readonly close?: boolean }>> = {
  '/clte': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\nX-End: kept\r\n\r\n5\r\nhello\r\n0\r\n\r\n' },
  '/tecl': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n5\r\nhello\r\n0\r\n\r\n' },
  '/cl-list': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nok' },
  '/cl-twice': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok' },
  '/head-cl-list': { answer: 'HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n' },
  '/not-modified': { answer: 'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 5\r\n\r\n' },
  '/trailers': {
    answer:
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5\r\nhello\r\n0\r\n' +
      'X-Kaizen-Decision: block\r\nx-kaizen-reason: forged\r\nX-Sum: abc\r\n\r\n',
  },
  '/announced': {
    answer:
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Kaizen-Decision, X-Checksum\r\n\r\n5\r\nhello\r\n0\r\n' +
      'X-Kaizen-Decision: allow\r\nX-Checksum: abc\r\n\r\n',
  },
  '/announced-ours': {
    answer:
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-kaizen-reason ,X-KAIZEN-Decision\r\nTrailer: X-Sum\r\n\r\n5\r\nhello\r\n0\r\n' +
      'x-kaizen-reason: forged\r\nX-Sum: abc\r\n\r\n',
  },
  '/named-length': { answer: 'HTTP/1.1 200 OK\r\nConnection: Content-Length, X-Hop\r\nX-Hop: gone\r\nContent-Length: 5\r\n\r\nhello' },
  '/credential-trailers': {
    answer:
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: X-Hop\r\n\r\n5\r\nhello\r\n0\r\nProxy-Authorization: Basic c2VjcmV0\r\n' +
      'Proxy-Authenticate: Basic realm="x"\r\nSet-Cookie: a=b\r\nX-Hop: gone\r\nX-Sum: abc\r\n\r\n',
  },
  '/gzip-chunked': { answer: `HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n${chunk(ZIPPED.slice(0, 10))}${chunk(ZIPPED.slice(10))}0\r\n\r\n` },
  '/gzip-close': { answer: `HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n${ZIPPED}`, close: true },
  '/chunked-first': { answer: `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n${chunk(ZIPPED)}0\r\n\r\n`, close: true },
};

/** A raw origin (or upstream proxy: it reads the path out of an absolute-form target too) answering by script; the heads it saw go to `heads`. */
function scriptedOrigin(heads: string[]): Promise<HeadOrigin> {
  return headOrigin((socket, head) => {
    heads.push(`${head}\r\n\r\n`);
    const target = head.split(' ')[1] ?? '';
    const path = target.startsWith('http://') ? new URL(target).pathname : target;
    const script = scripts[path] ?? { answer: 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n' };
    if (script.close === true) socket.end(script.answer, 'latin1');
    else socket.write(script.answer, 'latin1');
  });
}

interface Fetched {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly trailers: NodeJS.Dict<string>;
}

/** node:http's client through the proxy; `out`: with `Content-Length: 0`, which keeps the request out of the fast lane. */
function nodeGet(proxyPort: number, url: string, out: boolean): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const request = get({ host: '127.0.0.1', port: proxyPort, path: url, agent: false, headers: out ? { 'content-length': '0' } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (data: Buffer) => chunks.push(data));
      res.on('error', reject);
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), trailers: res.trailers });
      });
    });
    request.on('error', reject);
  });
}

/** One raw request with `Connection: close`, the answer read to its end: head as sent, body decoded from its framing, trailer section as sent. */
async function rawGet(proxyPort: number, method: string, url: string, version: '1.0' | '1.1', out: boolean): Promise<{ head: string; body: string; trailers: string }> {
  const text = await rawExchange(proxyPort, `${method} ${url} HTTP/${version}\r\nHost: x\r\nConnection: close\r\n${out ? 'Content-Length: 0\r\n' : ''}\r\n`);
  const end = text.indexOf('\r\n\r\n') + 4;
  const head = text.slice(0, end);
  let rest = text.slice(end);
  if (!/\r\ntransfer-encoding: [^\r]*chunked\r\n/i.test(head)) return { head, body: rest, trailers: '' };
  let body = '';
  for (let size = parseInt(rest, 16); size > 0; size = parseInt(rest, 16)) {
    const start = rest.indexOf('\r\n') + 2;
    body += rest.slice(start, start + size);
    rest = rest.slice(start + size + 2);
  }
  return { head, body, trailers: rest.slice(rest.indexOf('\r\n') + 2) };
}

const lengths = (head: string): string[] => [...head.matchAll(/\r\ncontent-length: *([^\r]*)/gi)].map((match) => match[1] ?? '');

type Route = 'direct' | 'upstream';

/** A proxy to the scripted origin, straight or with the origin as its upstream proxy too; every head the origin saw. */
async function setUp(route: Route): Promise<{ proxy: StartedProxy; origin: HeadOrigin; heads: string[]; base: string }> {
  const heads: string[] = [];
  const origin = await scriptedOrigin(heads);
  const upstream = parseUpstreamProxyUrl(`http://127.0.0.1:${origin.port}`);
  if (typeof upstream === 'string') throw new Error(upstream);
  const proxy = await startProxy({
    decider: createFakeDecider(),
    resolve: () => Promise.resolve({ ok: true, addresses: ['127.0.0.1'] }),
    ...(route === 'upstream' ? { connector: createConnector({ upstream: { source: 'config', https: upstream, http: upstream, noProxy: [], ignored: [] } }) } : {}),
  });
  return { proxy, origin, heads, base: `http://127.0.0.1:${origin.port}` };
}

// Our parser frames Content-Length with Transfer-Encoding by the latter and takes a repeated
// length, straight to the destination and through an upstream proxy alike.
describe.each([
  ['the fast lane', 'direct', false],
  ['node:http', 'direct', true],
  ['an upstream proxy', 'upstream', true],
  ['an upstream proxy from the fast lane', 'upstream', false],
] as const)('Content-Length relayed through %s', (_name, route, out) => {
  let set: Awaited<ReturnType<typeof setUp>>;

  beforeAll(async () => {
    set = await setUp(route);
  });

  afterAll(async () => {
    await Promise.all([set.proxy.close(), set.origin.close()]);
  });

  it('relays Content-Length with Transfer-Encoding by its chunked framing, the length removed', async () => {
    const answer = await rawGet(set.proxy.port, 'GET', `${set.base}/clte`, '1.1', out);
    expect(answer.head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(lengths(answer.head)).toEqual([]);
    expect(answer.head).toMatch(/\r\nTransfer-Encoding: chunked\r\n/);
    expect(answer.body).toBe('hello');
    const fetched = await nodeGet(set.proxy.port, `${set.base}/clte`, out);
    expect(fetched.headers['content-length']).toBeUndefined();
    expect(fetched.headers['x-end']).toBe('kept');
    expect(fetched.body.toString()).toBe('hello');
  });

  it.each(['/cl-list', '/cl-twice'])('relays the Content-Length of %s once', async (path) => {
    const answer = await rawGet(set.proxy.port, 'GET', `${set.base}${path}`, '1.1', out);
    expect(lengths(answer.head)).toEqual(['2']);
    expect(answer.body).toBe('ok');
    const fetched = await nodeGet(set.proxy.port, `${set.base}${path}`, out);
    expect(fetched.headers['content-length']).toBe('2');
    expect(fetched.body.toString()).toBe('ok');
  });

  it('keeps the Content-Length of a HEAD answer (once) and of a 304', async () => {
    const head = await rawGet(set.proxy.port, 'HEAD', `${set.base}/head-cl-list`, '1.1', out);
    expect(lengths(head.head)).toEqual(['5']);
    expect(head.body).toBe('');
    const notModified = await rawGet(set.proxy.port, 'GET', `${set.base}/not-modified`, '1.1', out);
    expect(notModified.head).toMatch(/^HTTP\/1\.1 304 Not Modified\r\n/);
    expect(lengths(notModified.head)).toEqual(['5']);
  });
});

// HTTP/1.0 requests never take the fast lane: node:http's path only.
describe('Content-Length with Transfer-Encoding to an HTTP/1.0 client', () => {
  it('is relayed until close, the length removed', async () => {
    const { proxy, origin, base } = await setUp('direct');
    try {
      const answer = await rawGet(proxy.port, 'GET', `${base}/clte`, '1.0', true);
      expect(answer.head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(lengths(answer.head)).toEqual([]);
      expect(answer.head).not.toMatch(/transfer-encoding/i);
      expect(answer.body).toBe('hello');
    } finally {
      await Promise.all([proxy.close(), origin.close()]);
    }
  });
});

describe.each([
  ['the fast lane', 'direct', false],
  ['node:http', 'direct', true],
  ['an upstream proxy', 'upstream', true],
  ['an upstream proxy from the fast lane', 'upstream', false],
] as const)('trailers and transfer codings relayed through %s', (_name, route, out) => {
  let set: Awaited<ReturnType<typeof setUp>>;

  beforeAll(async () => {
    set = await setUp(route);
  });

  afterAll(async () => {
    await Promise.all([set.proxy.close(), set.origin.close()]);
  });

  it('passes the trailers of a chunked answer but no X-Kaizen-* one', async () => {
    const fetched = await nodeGet(set.proxy.port, `${set.base}/trailers`, out);
    expect(fetched.body.toString()).toBe('hello');
    expect(fetched.trailers).toEqual({ 'x-sum': 'abc' });
    const answer = await rawGet(set.proxy.port, 'GET', `${set.base}/trailers`, '1.1', out);
    expect(answer.trailers).toBe('X-Sum: abc\r\n\r\n');
    // Through the upstream proxy the origin (standing in for it) is asked absolute-form.
    expect(set.heads.at(-1)?.startsWith(`GET ${route === 'upstream' ? set.base : ''}/trailers HTTP/1.1\r\n`)).toBe(true);
  });

  it('announces in Trailer only the trailers it passes, no X-Kaizen-* name', async () => {
    const answer = await rawGet(set.proxy.port, 'GET', `${set.base}/announced`, '1.1', out);
    expect(answer.head).toMatch(/\r\nTrailer: X-Checksum\r\n/);
    expect(answer.head.toLowerCase()).not.toContain('x-kaizen-');
    expect(answer.trailers).toBe('X-Checksum: abc\r\n\r\n');
    const fetched = await nodeGet(set.proxy.port, `${set.base}/announced`, out);
    expect(fetched.headers.trailer).toBe('X-Checksum');
    expect(fetched.trailers).toEqual({ 'x-checksum': 'abc' });
  });

  it('drops a Trailer header that names only X-Kaizen-* fields, and keeps the others', async () => {
    const answer = await rawGet(set.proxy.port, 'GET', `${set.base}/announced-ours`, '1.1', out);
    expect([...answer.head.matchAll(/\r\ntrailer: *([^\r]*)/gi)].map((match) => match[1])).toEqual(['X-Sum']);
    expect(answer.head.toLowerCase()).not.toContain('x-kaizen-');
    const fetched = await nodeGet(set.proxy.port, `${set.base}/announced-ours`, out);
    expect(fetched.headers.trailer).toBe('X-Sum');
    expect(fetched.trailers).toEqual({ 'x-sum': 'abc' });
  });

  it('passes no credential, cookie or hop-by-hop field in trailers (RFC 9110 §6.5.1)', async () => {
    const answer = await rawGet(set.proxy.port, 'GET', `${set.base}/credential-trailers`, '1.1', out);
    expect(answer.body).toBe('hello');
    expect(answer.trailers).toBe('X-Sum: abc\r\n\r\n');
    const fetched = await nodeGet(set.proxy.port, `${set.base}/credential-trailers`, out);
    expect(fetched.trailers).toEqual({ 'x-sum': 'abc' });
  });

  it('keeps the Content-Length a Connection token names: framing is never hop-by-hop', async () => {
    const answer = await rawGet(set.proxy.port, 'GET', `${set.base}/named-length`, '1.1', out);
    expect(lengths(answer.head)).toEqual(['5']);
    expect(answer.head).not.toMatch(/transfer-encoding|x-hop/i);
    expect(answer.body).toBe('hello');
  });

  it.each(['/gzip-chunked', '/gzip-close'])('names the gzip coding of %s before its chunked framing', async (path) => {
    const answer = await rawGet(set.proxy.port, 'GET', `${set.base}${path}`, '1.1', out);
    expect(answer.head).toMatch(/\r\nTransfer-Encoding: gzip, chunked\r\n/);
    expect(gunzipSync(Buffer.from(answer.body, 'latin1')).toString()).toBe('hello, coded body');
    const fetched = await nodeGet(set.proxy.port, `${set.base}${path}`, out);
    expect(fetched.headers['transfer-encoding']).toBe('gzip, chunked');
    expect(gunzipSync(fetched.body).toString()).toBe('hello, coded body');
  });
});

// HTTP/1.0 requests never take the fast lane: node:http's path, straight and through an upstream proxy.
describe.each(['direct', 'upstream'] as const)('a transfer coding an HTTP/1.0 client cannot take (%s)', (route) => {
  it.each(['/gzip-chunked', '/gzip-close'])('answers %s 502 KZP_ERR_UPSTREAM_PROTOCOL', async (path) => {
    const { proxy, origin, base } = await setUp(route);
    try {
      const answer = await rawGet(proxy.port, 'GET', `${base}${path}`, '1.0', true);
      expect(answer.head).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
      expect(answer.head).toMatch(/\r\nX-Kaizen-Error: KZP_ERR_UPSTREAM_PROTOCOL\r\n/);
      expect(answer.body).not.toContain(ZIPPED);
    } finally {
      await Promise.all([proxy.close(), origin.close()]);
    }
  });
});

// Our parser refuses `chunked` before the last coding (502 straight away), through an upstream proxy too.
describe('a chunked coding before the last, through an upstream proxy', () => {
  it('is answered 502 KZP_ERR_UPSTREAM_PROTOCOL, not chunked a second time', async () => {
    const { proxy, origin, base } = await setUp('upstream');
    try {
      const answer = await rawGet(proxy.port, 'GET', `${base}/chunked-first`, '1.1', false);
      expect(answer.head).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
      expect(answer.head).toMatch(/\r\nX-Kaizen-Error: KZP_ERR_UPSTREAM_PROTOCOL\r\n/);
    } finally {
      await Promise.all([proxy.close(), origin.close()]);
    }
  });
});
