import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resolution } from '../../../src/contract/decision.js';
import type { Target } from '../../../src/contract/target.js';
import { LINGER_MAX_BYTES } from '../../../src/proxy/drain-then-destroy.js';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';
import { closedPort } from '../../helpers/closed-port.js';

// A refusal of a request whose body is still arriving (src/proxy/deny-response.ts): clients that
// send the whole body before reading the answer (python's urllib and http.client) must read the
// 403 or 502, not a reset; a client that never stops sending is cut off at the bound.

const run = promisify(execFile);

/** The spec's upload: 10 MiB, far past what the keep-alive discard reads (64 KiB). */
const TEN_MB = 10_485_760;

/** Names ending in .test resolve to loopback; nothing leaves the machine. */
function testResolve(target: Target): Promise<Resolution> {
  return Promise.resolve({ ok: true, addresses: [target.hostType === 'dns' ? '127.0.0.1' : target.host] });
}

/** urllib: prints the status and X-Kaizen-* headers of the HTTPError, or the URLError it raised instead. */
const URLLIB = `import json, sys, urllib.request, urllib.error
opener = urllib.request.build_opener(urllib.request.ProxyHandler({'http': sys.argv[1]}))
req = urllib.request.Request(sys.argv[2], data=b'x' * int(sys.argv[3]), method='POST')
try:
    res = opener.open(req)
    print(json.dumps({'status': res.status}))
except urllib.error.HTTPError as e:
    print(json.dumps({'status': e.code, 'decision': e.headers.get('X-Kaizen-Decision'), 'error': e.headers.get('X-Kaizen-Error'), 'body': json.loads(e.read())}))
except urllib.error.URLError as e:
    print(json.dumps({'urlerror': str(e.reason)}))
`;

/** http.client: the whole body is sent before the answer is read; prints the answer or the exception. */
const HTTP_CLIENT = `import json, sys, http.client
conn = http.client.HTTPConnection('127.0.0.1', int(sys.argv[1]))
try:
    conn.request('POST', sys.argv[2], body=b'x' * int(sys.argv[3]), headers={'Content-Type': 'application/octet-stream'})
    res = conn.getresponse()
    print(json.dumps({'status': res.status, 'decision': res.getheader('X-Kaizen-Decision'), 'error': res.getheader('X-Kaizen-Error'), 'connection': res.getheader('Connection'), 'body': json.loads(res.read())}))
except Exception as e:
    print(json.dumps({'exception': type(e).__name__ + ': ' + str(e)}))
`;

async function python(script: string, args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run('python3', ['-c', script, ...args]);
  return JSON.parse(stdout) as Record<string, unknown>;
}

describe('refusing a request whose body is still arriving', () => {
  let origin: Origin;
  let proxy: StartedProxy;
  let refusedUrl: string;
  const decider = createFakeDecider({ block: ['blocked.test'] });

  beforeAll(async () => {
    origin = await startOrigin();
    proxy = await startProxy({ decider, resolve: testResolve });
    refusedUrl = `http://127.0.0.1:${await closedPort()}/upload`;
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), origin.close()]);
  });

  it('lets python urllib read the 403 for a blocked 10 MB POST (HTTPError, not URLError)', async () => {
    const result = await python(URLLIB, [proxy.url, 'http://blocked.test/upload', String(TEN_MB)]);
    expect(result).toMatchObject({ status: 403, decision: 'block', body: { error: 'KZP_ERR_BLOCKED' } });
  });

  it('lets python http.client read the 403 for a blocked 10 MB POST, with Connection: close', async () => {
    const result = await python(HTTP_CLIENT, [String(proxy.port), 'http://blocked.test/upload', String(TEN_MB)]);
    expect(result).toMatchObject({ status: 403, decision: 'block', connection: 'close', body: { error: 'KZP_ERR_BLOCKED' } });
  });

  it('lets python urllib and http.client read the 502 for a 10 MB POST to a destination that refuses', async () => {
    const viaUrllib = await python(URLLIB, [proxy.url, refusedUrl, String(TEN_MB)]);
    expect(viaUrllib).toMatchObject({ status: 502, error: 'KZP_ERR_UPSTREAM_CONNECT' });
    expect(viaUrllib['decision']).toBeNull();
    const viaHttpClient = await python(HTTP_CLIENT, [String(proxy.port), refusedUrl, String(TEN_MB)]);
    expect(viaHttpClient).toMatchObject({ status: 502, error: 'KZP_ERR_UPSTREAM_CONNECT', connection: 'close' });
  });

  it('keeps the connection after discarding a small declared body, and closes it after a large one', async () => {
    const client = await RawClient.open(proxy.port);
    const body = 'y'.repeat(1_000);
    client.write(`POST http://blocked.test/upload HTTP/1.1\r\nHost: blocked.test\r\nContent-Length: ${body.length}\r\n\r\n`);
    const small = await client.readResponse();
    expect(small.status).toBe(403);
    expect(small.headers['connection']).toBe('keep-alive');
    client.write(body);
    client.write(`GET ${origin.url}/after HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n`);
    const next = await client.readResponse();
    expect(next.status).toBe(200);
    expect(JSON.parse(next.body)).toMatchObject({ url: '/after' });
    // Too large to discard and keep the connection: the answer says so before the body comes.
    client.write(`POST http://blocked.test/upload HTTP/1.1\r\nHost: blocked.test\r\nContent-Length: ${TEN_MB}\r\n\r\n`);
    const large = await client.readResponse();
    expect(large.status).toBe(403);
    expect(large.headers['connection']).toBe('close');
    client.end();
    await client.closed;
  });

  it('answers, ends its side, and cuts off a client that never stops sending past the byte bound', async () => {
    // Half-open allowed: the proxy's FIN must not stop this client, as it does not stop python's.
    const socket = connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true });
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    let received = '';
    let endedAfter = -1;
    let written = 0;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => undefined);
    socket.once('end', () => {
      endedAfter = received.length;
    });
    const closed = new Promise<void>((resolve) => socket.once('close', () => { resolve(); }));
    // A chunked body with no end: nothing but the proxy's bound stops it.
    socket.write('POST http://blocked.test/upload HTTP/1.1\r\nHost: blocked.test\r\nTransfer-Encoding: chunked\r\n\r\n');
    const chunk = Buffer.from(`10000\r\n${'z'.repeat(0x10000)}\r\n`, 'latin1');
    const pump = (): void => {
      while (!socket.destroyed && socket.writable) {
        written += chunk.length;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
    await closed;
    // The whole 403 came first, then the proxy's FIN (a half-close, not a bare reset).
    expect(received).toMatch(/^HTTP\/1\.1 403 /);
    expect(received).toMatch(/\r\nConnection: close\r\n/i);
    expect(received).toMatch(/"error":"KZP_ERR_BLOCKED"/);
    expect(endedAfter).toBe(received.length);
    // Cut off: the proxy read no more than its bound, so the client could not have written much
    // more than that plus what the two sockets' buffers hold.
    expect(written).toBeGreaterThan(LINGER_MAX_BYTES);
    expect(written).toBeLessThan(LINGER_MAX_BYTES + 32 * 1024 * 1024);
  });
});

describe('the time bound of a lingering close', () => {
  /** Short, through the real path: the default (LINGER_MAX_MS, 10 s) would only make the test slow. */
  const LINGER_MS = 500;
  let proxy: StartedProxy;

  beforeAll(async () => {
    proxy = await startProxy({ decider: createFakeDecider({ block: ['blocked.test'] }), resolve: testResolve, limits: { lingerMs: LINGER_MS } });
  });

  afterAll(async () => {
    await proxy.close();
  });

  it('cuts off a client that keeps trickling a body once the bound has passed, not before and not much after', async () => {
    const socket = connect({ port: proxy.port, host: '127.0.0.1', allowHalfOpen: true });
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    let received = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (received += chunk));
    socket.on('error', () => undefined);
    const ended = new Promise<number>((resolve) => socket.once('end', () => { resolve(performance.now()); }));
    const closed = new Promise<number>((resolve) => socket.once('close', () => { resolve(performance.now()); }));
    socket.write('POST http://blocked.test/upload HTTP/1.1\r\nHost: blocked.test\r\nTransfer-Encoding: chunked\r\n\r\n');
    // A byte every 20 ms: never idle, nowhere near the byte bound, never finished.
    let trickled = 0;
    const trickle = setInterval(() => {
      if (!socket.writable) return;
      socket.write('1\r\nz\r\n');
      trickled += 1;
    }, 20);
    let endedAt: number;
    let closedAt: number;
    try {
      [endedAt, closedAt] = await Promise.all([ended, closed]);
    } finally {
      clearInterval(trickle);
    }
    // The whole 403, then the proxy's FIN (its side ends, the body is read on), then the cut.
    expect(received).toMatch(/^HTTP\/1\.1 403 /);
    expect(received).toMatch(/"error":"KZP_ERR_BLOCKED"/);
    const lingeredMs = closedAt - endedAt;
    // It lingered (the client was still sending all along), and let go at the bound: the client
    // notices at its next write, and a loaded machine runs timers late, hence the slack.
    expect(trickled).toBeGreaterThan(LINGER_MS / 20 / 2);
    expect(lingeredMs).toBeGreaterThanOrEqual(LINGER_MS / 2);
    expect(lingeredMs).toBeLessThan(LINGER_MS + 1_000);
  });
});
