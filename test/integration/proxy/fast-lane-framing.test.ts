import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { headOrigin } from '../../helpers/head-origin.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

// Response framing through the fast lane (src/proxy/lean-response.ts), held to the bytes: each
// answer is also fetched through node:http (a `Content-Length: 0` keeps a request out of the lane)
// and the two must not differ but for the Date line, since a client must not tell the paths apart.

/** What a scripted origin answers to a path: raw bytes, then `close` ends its side of the connection. */
interface Script {
  readonly answer: string;
  readonly close?: boolean;
}

/** Bodies on both sides of the size the lane writes out in one buffer with its head or chunk line (16 KiB). */
const SMALL = 'abcdefghij'.repeat(1_600);
const LARGE = '0123456789'.repeat(4_000);

const scripts: Readonly<Record<string, Script>> = {
  '/length': { answer: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nX-Origin: v\r\n\r\nhello' },
  '/until-close': { answer: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nread until the origin closes', close: true },
  '/chunked': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: abc\r\n\r\n' },
  '/head': { answer: 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n' },
  '/no-content': { answer: 'HTTP/1.1 204 No Content\r\nX-A: b\r\n\r\n' },
  '/not-modified': { answer: 'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n' },
  '/head-chunked': { answer: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' },
  '/sizes': { answer: `HTTP/1.1 200 OK\r\nContent-Length: ${String(LARGE.length)}\r\n\r\n${LARGE}` },
  '/sizes-chunked': {
    answer: `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${SMALL.length.toString(16)}\r\n${SMALL}\r\n${LARGE.length.toString(16)}\r\n${LARGE}\r\n0\r\n\r\n`,
  },
  '/latin1': { answer: 'HTTP/1.1 200 Tr\xe8s bien\r\nX-Latin: caf\xe9\r\nContent-Length: 2\r\n\r\nok' },
  '/hop': {
    answer:
      'HTTP/1.1 200 OK\r\nConnection: X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=99\r\nProxy-Connection: keep-alive\r\n' +
      'X-Kaizen-Decision: allow\r\nx-kaizen-reason: forged\r\nX-End: kept\r\nContent-Length: 2\r\n\r\nok',
  },
};

/** A raw origin answering heads (bodies are never sent to it) by script; every head it saw, in order. */
async function scriptedOrigin(): Promise<{ port: number; heads: string[]; close: () => Promise<void> }> {
  const heads: string[] = [];
  const origin = await headOrigin((socket, head) => {
    heads.push(`${head}\r\n\r\n`);
    const script = scripts[(head.split(' ')[1] ?? '').split('?')[0] ?? ''] ?? { answer: 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n' };
    if (script.close === true) socket.end(script.answer, 'latin1');
    else socket.write(script.answer, 'latin1');
  });
  return { port: origin.port, heads, close: () => origin.close() };
}

interface Raw {
  /** The head as received, the Date line's value replaced by `<date>`. */
  readonly head: string;
  /** The body as framed on the wire (chunk lines and trailers included). */
  readonly wire: string;
  /** The body decoded. */
  readonly body: string;
  readonly trailers: string;
}

/** One response read by its framing: none (HEAD, 204, 304), Content-Length, or chunked. */
async function readRaw(client: RawClient, bodiless = false): Promise<Raw> {
  const head = (await client.readUntil('\r\n\r\n')).replace(/\r\nDate: [^\r]+\r\n/, '\r\nDate: <date>\r\n');
  const length = /\r\ncontent-length: *(\d+)\r\n/i.exec(head);
  if (bodiless || / (204|304) /.test(head.slice(0, 13))) return { head, wire: '', body: '', trailers: '' };
  if (/\r\ntransfer-encoding: *chunked\r\n/i.test(head)) {
    let wire = '';
    let body = '';
    for (;;) {
      const line = await client.readUntil('\r\n');
      wire += line;
      const size = parseInt(line, 16);
      if (size === 0) break;
      const data = await client.readBytes(size + 2);
      wire += data;
      body += data.slice(0, size);
    }
    let trailers = '';
    for (let line = await client.readUntil('\r\n'); line !== '\r\n'; line = await client.readUntil('\r\n')) trailers += line;
    return { head, wire: `${wire}${trailers}\r\n`, body, trailers };
  }
  const body = await client.readBytes(Number(length?.[1] ?? '0'));
  return { head, wire: body, body, trailers: '' };
}

describe('response framing through the fast lane', () => {
  let origin: Awaited<ReturnType<typeof scriptedOrigin>>;
  let proxy: StartedProxy;
  let base: string;

  beforeAll(async () => {
    origin = await scriptedOrigin();
    proxy = await startProxy({ decider: createFakeDecider({ block: ['blocked.test'] }), resolve: () => Promise.resolve({ ok: true, addresses: ['127.0.0.1'] }) });
    base = `http://127.0.0.1:${origin.port}`;
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), origin.close()]);
  });

  /**
   * `path` fetched with `method` through the lane and then through node:http, each on its own
   * connection, and a GET after each on the same connection (it must still be usable).
   */
  async function bothPaths(method: string, path: string, extra = ''): Promise<{ lane: Raw; node: Raw }> {
    const fetch = async (viaNode: boolean): Promise<Raw> => {
      const client = await RawClient.open(proxy.port);
      client.write(`${method} ${base}${path} HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n${viaNode ? 'Content-Length: 0\r\n' : ''}${extra}\r\n`);
      const raw = await readRaw(client, method === 'HEAD');
      client.write(`GET http://127.0.0.1:${origin.port}/length HTTP/1.1\r\nHost: x\r\n\r\n`);
      const next = await readRaw(client);
      expect(next.head.startsWith('HTTP/1.1 200 OK\r\n')).toBe(true);
      expect(next.body).toBe('hello');
      client.destroy();
      return raw;
    };
    const lane = await fetch(false);
    const node = await fetch(true);
    return { lane, node };
  }

  it('relays an answer with Content-Length as is (with the Date it lacked), with Connection: keep-alive and Keep-Alive: timeout=<idle s>', async () => {
    const { lane, node } = await bothPaths('GET', '/length');
    expect(lane.head).toBe(
      'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nX-Origin: v\r\nDate: <date>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=10\r\n\r\n',
    );
    expect(lane.body).toBe('hello');
    expect(lane).toEqual(node);
  });

  it('answers a close-delimited origin answer chunked, body whole, and keeps the client connection', async () => {
    const { lane, node } = await bothPaths('GET', '/until-close');
    expect(lane.head).toBe('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: <date>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=10\r\nTransfer-Encoding: chunked\r\n\r\n');
    expect(lane.body).toBe('read until the origin closes');
    expect(lane.wire.endsWith('0\r\n\r\n')).toBe(true);
    // Chunk boundaries follow the destination's reads, on either path.
    expect({ ...lane, wire: '' }).toEqual({ ...node, wire: '' });
  });

  it('relays a chunked answer chunked, with its trailer after the last chunk', async () => {
    const { lane, node } = await bothPaths('GET', '/chunked');
    expect(lane.head).toMatch(/\r\nTransfer-Encoding: chunked\r\n/);
    expect(lane.head).not.toMatch(/content-length/i);
    expect(lane.body).toBe('hello world');
    expect(lane.trailers).toBe('X-Sum: abc\r\n');
    expect(lane.wire.endsWith('0\r\nX-Sum: abc\r\n\r\n')).toBe(true);
    // Chunk boundaries follow the destination's reads (one chunk or two here), on either path.
    expect({ ...lane, wire: '' }).toEqual({ ...node, wire: '' });
  });

  it('relays bodies below and above the one-write size whole, with Content-Length or chunked', async () => {
    const sized = await bothPaths('GET', '/sizes');
    expect(sized.lane.head).toMatch(new RegExp(`\r\nContent-Length: ${String(LARGE.length)}\r\n`));
    expect(sized.lane.body).toBe(LARGE);
    expect(sized.lane).toEqual(sized.node);
    const chunked = await bothPaths('GET', '/sizes-chunked');
    expect(chunked.lane.body).toBe(SMALL + LARGE);
    expect(chunked.lane.wire.endsWith('0\r\n\r\n')).toBe(true);
    // Chunk boundaries follow the destination's reads, on either path.
    expect({ ...chunked.lane, wire: '' }).toEqual({ ...chunked.node, wire: '' });
  });

  it('gives a HEAD answer no body: the next response follows its head at once', async () => {
    const { lane, node } = await bothPaths('HEAD', '/head');
    expect(lane.head).toBe('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nDate: <date>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=10\r\n\r\n');
    expect(lane).toEqual(node);
  });

  it('gives a HEAD answer without Content-Length no body and no framing headers', async () => {
    const { lane, node } = await bothPaths('HEAD', '/head-chunked');
    expect(lane.head).toBe('HTTP/1.1 200 OK\r\nDate: <date>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=10\r\n\r\n');
    expect(lane).toEqual(node);
  });

  it('relays a latin1 (obs-text) reason phrase and header value byte for byte', async () => {
    const { lane, node } = await bothPaths('GET', '/latin1');
    expect(lane.head.startsWith('HTTP/1.1 200 Tr\xe8s bien\r\n')).toBe(true);
    expect(lane.head).toContain('\r\nX-Latin: caf\xe9\r\n');
    expect(lane).toEqual(node);
  });

  /** bothPaths with `base` pointing elsewhere for the call. */
  async function bothPathsTo(elsewhere: string, method: string, path: string): Promise<{ lane: Raw; node: Raw }> {
    const saved = base;
    base = elsewhere;
    try {
      return await bothPaths(method, path);
    } finally {
      base = saved;
    }
  }

  it('answers an unreachable destination 502 as node:http does, and keeps the connection', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => {
      resolve();
    }));
    const { lane, node } = await bothPathsTo(`http://127.0.0.1:${port}`, 'GET', '/refused');
    expect(lane.head).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
    expect(lane.head).toMatch(/\r\nX-Kaizen-Error: KZP_ERR_UPSTREAM_CONNECT\r\n/);
    expect(lane.head).toContain('\r\nDate: <date>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=10\r\n\r\n');
    expect(lane).toEqual(node);
  });

  it('answers a blocked HEAD 403 without its JSON body, as node:http does', async () => {
    const { lane, node } = await bothPathsTo(`http://blocked.test:${origin.port}`, 'HEAD', '/blocked');
    expect(lane.head).toMatch(/^HTTP\/1\.1 403 Forbidden\r\nX-Kaizen-Decision: block\r\n/);
    expect(lane.head).toMatch(/\r\nContent-Length: [1-9]\d*\r\n/);
    expect(lane).toEqual(node);
    expect(origin.heads.some((head) => head.includes('/blocked'))).toBe(false);
  });

  it.each([
    ['204', '/no-content', 'HTTP/1.1 204 No Content\r\nX-A: b\r\nDate: <date>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=10\r\n\r\n'],
    ['304', '/not-modified', 'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nDate: <date>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=10\r\n\r\n'],
  ])('gives a %s no body and no framing headers', async (_status, path, head) => {
    const { lane, node } = await bothPaths('GET', path);
    expect(lane.head).toBe(head);
    expect(lane).toEqual(node);
  });

  it('answers `Connection: close` from the client with Connection: close, then closes', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`GET ${base}/length HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    const answer = await readRaw(client);
    expect(answer.head).toBe('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nX-Origin: v\r\nDate: <date>\r\nConnection: close\r\n\r\n');
    expect(answer.body).toBe('hello');
    expect(await client.readToEnd()).toBe('');
  });

  it('answers `Connection: keep-alive, close` with Connection: close too, a pipelined request behind it unanswered', async () => {
    const client = await RawClient.open(proxy.port);
    const request = (extra: string): string => `GET ${base}/length HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;
    client.write(request('Connection: keep-alive, close\r\n') + request(''));
    const answer = await readRaw(client);
    expect(answer.head).toMatch(/\r\nConnection: close\r\n\r\n$/);
    expect(await client.readToEnd()).toBe('');
  });

  it('passes no hop-by-hop or X-Kaizen-* header of the origin', async () => {
    const { lane, node } = await bothPaths('GET', '/hop');
    expect(lane.head).toBe('HTTP/1.1 200 OK\r\nX-End: kept\r\nContent-Length: 2\r\nDate: <date>\r\nConnection: keep-alive\r\nKeep-Alive: timeout=10\r\n\r\n');
    expect(lane.body).toBe('ok');
    expect(lane).toEqual(node);
  });

  it('forwards neither Proxy-Authorization nor the request hop-by-hop headers, end-to-end ones as sent', async () => {
    const seen = origin.heads.length;
    const client = await RawClient.open(proxy.port);
    client.write(
      `GET ${base}/length?auth HTTP/1.1\r\nHost: elsewhere.test\r\nProxy-Authorization: Basic cHJveHk6c2VjcmV0\r\nConnection: keep-alive, X-Req-Hop\r\n` +
        'X-Req-Hop: drop\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nTE: trailers\r\nAuthorization: Bearer end-to-end\r\nX-End:  kept  \r\n\r\n',
    );
    expect((await readRaw(client)).body).toBe('hello');
    client.destroy();
    const heads = origin.heads.slice(seen);
    expect(heads).toHaveLength(1);
    const head = heads[0] ?? '';
    expect(head.startsWith('GET /length?auth HTTP/1.1\r\n')).toBe(true);
    expect(head).toMatch(new RegExp(`\\r\\nHost: 127\\.0\\.0\\.1:${origin.port}\\r\\n`, 'i'));
    expect(head).toContain('\r\nAuthorization: Bearer end-to-end\r\n');
    expect(head).toContain('\r\nX-End: kept\r\n');
    for (const gone of ['proxy-authorization', 'cHJveHk6c2VjcmV0', 'x-req-hop', 'keep-alive: timeout', 'proxy-connection', '\r\nte:']) {
      expect(head.toLowerCase()).not.toContain(gone.toLowerCase());
    }
  });
});
