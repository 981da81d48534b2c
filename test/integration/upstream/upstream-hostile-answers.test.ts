import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnector } from '../../../src/net/connector.js';
import { parseUpstreamProxyUrl, type UpstreamProxy } from '../../../src/net/upstream-proxy.js';
import { headOrigin, type HeadOrigin } from '../../helpers/head-origin.js';
import { RawClient, type RawResponse } from '../../helpers/raw-client.js';
import { startSquid, type Squid } from '../../helpers/squid.js';
import { startProxy, type LogLine, type StartedProxy } from '../../helpers/start-proxy.js';
import { createTestCa, type TestCa } from '../../helpers/test-ca.js';

/**
 * Through the upstream proxy (upstream_proxy: our own client), a destination's answer the proxy
 * cannot relay is answered as the direct path answers it (upstream-dispatch.ts): 502
 * KZP_ERR_UPSTREAM_PROTOCOL while no byte of the answer reached the client, never a hang, a bare
 * reset, or a status logged that was never sent. https:// requests go through a real Squid's
 * CONNECT to a raw TLS origin, so its bytes reach the proxy untouched; plain http:// ones go to a raw
 * upstream that answers them itself (Squid would rewrite such answers).
 */
const ANSWERS: Readonly<Record<string, string>> = {
  '/upgrade': 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
  '/bare-101': 'HTTP/1.1 101 Switching Protocols\r\n\r\n',
  '/bad-chunk': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc',
  '/no-content': 'HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello',
  '/not-modified': 'HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  '/status-600': 'HTTP/1.1 600 Beyond\r\nContent-Length: 2\r\n\r\nok',
  '/http2': 'HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok',
  '/empty-te': 'HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\nContent-Length: 3\r\n\r\nabc',
  // A real site's Content-Security-Policy can be this long: past node:http's 16 KiB, within Squid's 64 KiB.
  '/big-head': `HTTP/1.1 200 OK\r\nContent-Security-Policy: ${'a'.repeat(18_000)}\r\nContent-Length: 2\r\n\r\nok`,
  '/huge-head': `HTTP/1.1 200 OK\r\nX-Filler: ${'a'.repeat(70_000)}\r\nContent-Length: 2\r\n\r\nok`,
  // A stream: its head now, its body when the test says (the head must not wait for it).
  '/stream': 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n',
};
/** How long an answer may take before the test calls it a hang (each takes milliseconds). */
const HANG_MS = 5_000;

/** Answers each request by its path (origin-form from Squid, absolute-form to the raw upstream), and keeps the connection open. */
function answer(socket: Socket, head: string): void {
  const target = (head.split('\r\n')[0] ?? '').split(' ')[1] ?? '/';
  if (target.endsWith('/max-forwards')) {
    // What the request carried, as the body.
    const seen = /\r\nmax-forwards: *(\S*)/i.exec(head)?.[1] ?? 'none';
    socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${String(seen.length)}\r\n\r\n${seen}`);
    return;
  }
  // No answer: the destination closes the connection (its FIN) on the request.
  if (target.endsWith('/hang-up')) {
    socket.end();
    return;
  }
  socket.write(ANSWERS[new URL(target, 'http://origin').pathname] ?? 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
  if (target.endsWith('/stream')) streams.push(socket);
}
const streams: Socket[] = [];

function upstream(url: string): UpstreamProxy {
  const parsed = parseUpstreamProxyUrl(url);
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed;
}

let squid: Squid;
let ca: TestCa;
let tlsOrigin: HeadOrigin;
let rawUpstream: HeadOrigin;
let viaSquid: StartedProxy;
let viaRaw: StartedProxy;

beforeAll(async () => {
  [squid, ca, rawUpstream] = await Promise.all([startSquid(), createTestCa(), headOrigin(answer)]);
  tlsOrigin = await headOrigin(answer, { tls: ca });
  const squidProxy = upstream(squid.url);
  const raw = upstream(`http://127.0.0.1:${rawUpstream.port}`);
  [viaSquid, viaRaw] = await Promise.all([
    startProxy({ connector: createConnector({ upstream: { source: 'config', https: squidProxy, http: squidProxy, noProxy: [], ignored: [] } }), upstreamCa: [ca.caPem] }),
    startProxy({ connector: createConnector({ upstream: { source: 'config', https: raw, http: raw, noProxy: [], ignored: [] } }) }),
  ]);
});

afterAll(async () => {
  await Promise.all([viaSquid.close(), viaRaw.close()]);
  await Promise.all([squid.stop(), tlsOrigin.close(), rawUpstream.close(), ca.remove()]);
});

type Outcome = RawResponse | 'reset' | 'hang';

/**
 * One absolute-form GET on a new connection: the response (its head, and its Content-Length body),
 * 'reset' when the connection closed before a whole head, 'hang' when nothing came within HANG_MS.
 * Also the closed line the proxy logged for it.
 */
async function ask(proxy: StartedProxy, url: string, method = 'GET', fields = ''): Promise<{ readonly outcome: Outcome; readonly closed: LogLine }> {
  const mark = proxy.logs.lines.length;
  const client = await RawClient.open(proxy.port);
  client.write(`${method} ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\n${fields}Connection: close\r\n\r\n`);
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hang'>((resolve) => {
    timer = setTimeout(() => { resolve('hang'); }, HANG_MS);
  });
  const read = client.readResponse().catch((): 'reset' => 'reset');
  const outcome = await Promise.race([read, hang]);
  clearTimeout(timer);
  client.destroy();
  const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && proxy.logs.lines.indexOf(line) >= mark);
  return { outcome, closed };
}

/** The status and X-Kaizen-Error of a response, or how it failed. */
function answered(outcome: Outcome): readonly [number, string | undefined] | Outcome {
  return typeof outcome === 'string' ? outcome : [outcome.status, outcome.headers['x-kaizen-error']];
}

describe('upstream_proxy: an answer the proxy cannot relay', () => {
  const https = (path: string): string => `https://localhost:${tlsOrigin.port}${path}`;

  it('101 to a GET (https:// through Squid): 502 KZP_ERR_UPSTREAM_PROTOCOL at once, not a hang', async () => {
    const { outcome, closed } = await ask(viaSquid, https('/upgrade'));
    expect(answered(outcome)).toEqual([502, 'KZP_ERR_UPSTREAM_PROTOCOL']);
    expect(closed).toMatchObject({ status: 502, code: 'KZP_ERR_UPSTREAM_PROTOCOL' });
  });

  it('101 to a plain http:// GET from the upstream: 502 KZP_ERR_UPSTREAM_PROTOCOL at once', async () => {
    const { outcome, closed } = await ask(viaRaw, 'http://127.0.0.1:9/upgrade');
    expect(answered(outcome)).toEqual([502, 'KZP_ERR_UPSTREAM_PROTOCOL']);
    expect(closed).toMatchObject({ status: 502, code: 'KZP_ERR_UPSTREAM_PROTOCOL' });
  });

  it('a bad first chunk size right after the head: 502 KZP_ERR_UPSTREAM_PROTOCOL, not a reset', async () => {
    const { outcome, closed } = await ask(viaSquid, https('/bad-chunk'));
    expect(answered(outcome)).toEqual([502, 'KZP_ERR_UPSTREAM_PROTOCOL']);
    expect(closed).toMatchObject({ status: 502, code: 'KZP_ERR_UPSTREAM_PROTOCOL' });
  });

  it.each([
    ['/bare-101', 'a 101 without Upgrade, as a final answer'],
    ['/status-600', 'a status out of range'],
    ['/http2', 'an HTTP/2.0 status line'],
    ['/empty-te', 'an empty Transfer-Encoding with a Content-Length'],
  ])('%s (%s): 502 KZP_ERR_UPSTREAM_PROTOCOL, as on the direct path', async (path) => {
    const { outcome, closed } = await ask(viaSquid, https(path));
    expect(answered(outcome)).toEqual([502, 'KZP_ERR_UPSTREAM_PROTOCOL']);
    expect(closed).toMatchObject({ status: 502, code: 'KZP_ERR_UPSTREAM_PROTOCOL' });
  });

  it('a head over 64 KiB from the upstream: 502 KZP_ERR_UPSTREAM_PROTOCOL (the answer is malformed, not the upstream down)', async () => {
    const { outcome, closed } = await ask(viaRaw, 'http://127.0.0.1:9/huge-head');
    expect(answered(outcome)).toEqual([502, 'KZP_ERR_UPSTREAM_PROTOCOL']);
    expect(closed).toMatchObject({ status: 502, code: 'KZP_ERR_UPSTREAM_PROTOCOL' });
  });
});

describe('upstream_proxy: answers the direct path relays', () => {
  const https = (path: string): string => `https://localhost:${tlsOrigin.port}${path}`;

  it.each([
    ['/no-content', 204],
    ['/not-modified', 304],
  ])('%s with body framing it cannot have, then stray bytes: relayed %i, without a body', async (path, status) => {
    const { outcome, closed } = await ask(viaSquid, https(path));
    expect(answered(outcome)).toEqual([status, undefined]);
    expect(closed).toMatchObject({ status });
    expect(closed['code']).toBeUndefined();
  });

  it('an 18 KB head (a long Content-Security-Policy), https:// through Squid and plain http://: relayed whole', async () => {
    for (const [proxy, url] of [
      [viaSquid, https('/big-head')],
      [viaRaw, 'http://127.0.0.1:9/big-head'],
    ] as const) {
      const { outcome, closed } = await ask(proxy, url);
      expect(answered(outcome)).toEqual([200, undefined]);
      if (typeof outcome === 'string') return;
      expect(outcome.headers['content-security-policy']).toHaveLength(18_000);
      expect(outcome.body).toBe('ok');
      expect(closed).toMatchObject({ status: 200 });
    }
  });

  it('a head sent before its body reaches the client at once, and the body after it', async () => {
    const client = await RawClient.open(viaSquid.port);
    const url = https('/stream');
    client.write(`GET ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\nConnection: close\r\n\r\n`);
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<'hang'>((resolve) => {
      timer = setTimeout(() => { resolve('hang'); }, HANG_MS);
    });
    const head = await Promise.race([client.readUntil('\r\n\r\n'), hang]);
    clearTimeout(timer);
    expect(head).toMatch(/^HTTP\/1\.1 200 [^]*text\/event-stream/);
    const origin = streams.shift();
    expect(origin).toBeDefined();
    origin?.end('5\r\nhello\r\n0\r\n\r\n');
    expect(await client.readUntil('0\r\n\r\n')).toBe('5\r\nhello\r\n0\r\n\r\n');
    client.destroy();
  });
});

describe('upstream_proxy: relayed as on the direct path', () => {
  it('a 204 loses the Content-Length it cannot have (RFC 9110 §8.6)', async () => {
    const { outcome } = await ask(viaRaw, 'http://127.0.0.1:9/no-content');
    expect(typeof outcome === 'string' ? outcome : [outcome.status, outcome.headers['content-length']]).toEqual([204, undefined]);
  });

  it('OPTIONS counts Max-Forwards down by one (RFC 9110 §7.6.2)', async () => {
    const { outcome } = await ask(viaRaw, 'http://127.0.0.1:9/max-forwards', 'OPTIONS', 'Max-Forwards: 3\r\n');
    expect(typeof outcome === 'string' ? outcome : outcome.body).toBe('2');
  });
});

describe('upstream_proxy: a pooled tunnel its destination ended', () => {
  const https = (path: string): string => `https://localhost:${tlsOrigin.port}${path}`;

  it('is not reused: the next request through Squid is answered, not left waiting on it', async () => {
    const client = await RawClient.open(viaSquid.port);
    const url = https('/stream');
    client.write(`GET ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\nConnection: close\r\n\r\n`);
    expect(await client.readUntil('\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 /);
    const origin = streams.shift();
    expect(origin).toBeDefined();
    if (origin === undefined) return;
    const gone = new Promise((resolve) => origin.once('close', resolve));
    // The last chunk and the destination's FIN: Squid relays the chunk, then closes the tunnel.
    origin.end('0\r\n\r\n');
    expect(await client.readUntil('0\r\n\r\n')).toBe('0\r\n\r\n');
    client.destroy();
    await gone;
    const { outcome, closed } = await ask(viaSquid, https('/no-content'));
    expect(answered(outcome)).toEqual([204, undefined]);
    expect(closed).toMatchObject({ status: 204 });
  });

  it('a pooled tunnel the destination ends on the request: 502, not a hang', async () => {
    // The first answer leaves its tunnel pooled; the next request takes it (the pool's LIFO reuse).
    expect(answered((await ask(viaSquid, https('/not-modified'))).outcome)).toEqual([304, undefined]);
    const { outcome, closed } = await ask(viaSquid, https('/hang-up'));
    expect(answered(outcome)).toEqual([502, 'KZP_ERR_UPSTREAM_CONNECT']);
    expect(closed).toMatchObject({ status: 502, code: 'KZP_ERR_UPSTREAM_CONNECT' });
  });
});
