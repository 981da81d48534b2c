import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';
import { createTestCa, type TestCa } from '../../helpers/test-ca.js';

const run = promisify(execFile);

function get(proxy: StartedProxy, url: string, headers: Record<string, string> = {}): string {
  return `GET ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}

function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => (body += chunk));
    res.on('end', () => {
      resolve(body);
    });
    res.on('error', reject);
  });
}

describe('plain HTTP forwarding', () => {
  let ca: TestCa;
  let a: Origin;
  let b: Origin;
  let secure: Origin;
  let blocked: Origin;
  let proxy: StartedProxy;
  const decider = createFakeDecider({ block: ['blocked.test'] });

  beforeAll(async () => {
    ca = await createTestCa();
    [a, b, secure, blocked] = await Promise.all([startOrigin(), startOrigin(), startOrigin({ tls: ca }), startOrigin()]);
    proxy = await startProxy({ decider, upstreamCa: [ca.caPem] });
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), a.close(), b.close(), secure.close(), blocked.close()]);
    await ca.remove();
  });

  it('forwards curl GET and a 10 MB POST whose checksum the origin verifies', async () => {
    const got = await run('curl', ['-sS', '--noproxy', '', '-x', proxy.url, `${a.url}/plain`]);
    expect(JSON.parse(got.stdout)).toMatchObject({ method: 'GET', url: '/plain' });
    const body = randomBytes(10 * 1024 * 1024);
    const file = join(ca.dir, 'upload.bin');
    await writeFile(file, body);
    const posted = await run('curl', ['-sS', '--noproxy', '', '-x', proxy.url, '--data-binary', `@${file}`, '-H', 'Content-Type: application/octet-stream', `${a.url}/sha256`]);
    expect(JSON.parse(posted.stdout)).toEqual({ bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') });
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['bytes_up'] === body.length);
    expect(closed).toMatchObject({ kind: 'http', status: 200, target: `127.0.0.1:${a.port}` });
  });

  it('serves python3 urllib through ProxyHandler', async () => {
    const script = `import urllib.request,sys
opener = urllib.request.build_opener(urllib.request.ProxyHandler({'http': sys.argv[1]}))
print(opener.open(sys.argv[2]).read().decode())`;
    const { stdout } = await run('python3', ['-c', script, proxy.url, `${a.url}/python`]);
    expect(JSON.parse(stdout)).toMatchObject({ url: '/python' });
  });

  it('serves Node http.request in absolute form, HTTP/1.0 too', async () => {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      request({ host: '127.0.0.1', port: proxy.port, path: `${b.url}/node`, headers: { Host: `127.0.0.1:${b.port}` } }, resolve).on('error', reject).end();
    });
    expect(JSON.parse(await readBody(res))).toMatchObject({ url: '/node' });
    const client = await RawClient.open(proxy.port);
    client.write(`GET ${b.url}/ten HTTP/1.0\r\n\r\n`);
    const reply = await client.readToEnd();
    expect(reply).toMatch(/^HTTP\/1\.1 200 /);
    expect(reply).toContain('"url":"/ten"');
  });

  it('decides and routes each request of a keep-alive connection to its own host', async () => {
    const before = decider.calls.length;
    const seenA = a.requests.length;
    const seenB = b.requests.length;
    const client = await RawClient.open(proxy.port);
    const urls = [`${a.url}/ka-1`, `http://localhost:${b.port}/ka-2`, `${a.url}/ka-3`, `${b.url}/ka-4`];
    for (const url of urls) {
      client.write(get(proxy, url));
      const response = await client.readResponse();
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toMatchObject({ url: new URL(url).pathname });
    }
    client.destroy();
    expect(decider.calls.slice(before).map((call) => call.action.target)).toEqual([
      `127.0.0.1:${a.port}`,
      `localhost:${b.port}`,
      `127.0.0.1:${a.port}`,
      `127.0.0.1:${b.port}`,
    ]);
    expect(a.requests.slice(seenA).map((r) => r.url)).toEqual(['/ka-1', '/ka-3']);
    expect(b.requests.slice(seenB).map((r) => r.url)).toEqual(['/ka-2', '/ka-4']);
  });

  it('answers pipelined requests in order, each to its own host', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(get(proxy, `${a.url}/pipe-1`) + get(proxy, `${b.url}/pipe-2`) + get(proxy, `${a.url}/pipe-3`));
    const bodies = [];
    for (let i = 0; i < 3; i++) bodies.push(JSON.parse((await client.readResponse()).body) as { url: string });
    expect(bodies.map((body) => body.url)).toEqual(['/pipe-1', '/pipe-2', '/pipe-3']);
    client.destroy();
  });

  it('answers a request with a body and `Connection: close` whole, a request pipelined behind it unanswered', async () => {
    // A body keeps it on node:http's path, whose parser rejects the bytes after `Connection: close`.
    const client = await RawClient.open(proxy.port);
    const post = `POST ${a.url}/close-then-pipelined HTTP/1.1\r\nHost: 127.0.0.1:${a.port}\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello`;
    client.write(post + get(proxy, `${a.url}/never`));
    const response = await client.readResponse();
    expect(response.status).toBe(200);
    expect(response.headers['connection']).toBe('close');
    expect((JSON.parse(response.body) as { url: string }).url).toBe('/close-then-pipelined');
    await client.closed;
    expect(a.requests.some((r) => r.url === '/never')).toBe(false);
  });

  it('strips hop-by-hop headers and Proxy-Authorization, keeps end-to-end ones', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(
      get(proxy, `${a.url}/hop`, {
        Connection: 'keep-alive, X-Hop',
        'X-Hop': 'drop me',
        'Keep-Alive': 'timeout=5',
        'Proxy-Connection': 'keep-alive',
        TE: 'trailers',
        'Proxy-Authorization': 'Basic cHJveHk6c2VjcmV0',
        Authorization: 'Bearer end-to-end-token',
        Cookie: 'session=cookie-secret',
        'X-End': 'kept',
      }),
    );
    const response = await client.readResponse();
    client.destroy();
    const seen = a.requests.find((r) => r.url === '/hop');
    expect(response.status).toBe(200);
    expect(seen?.headers).toMatchObject({ host: `127.0.0.1:${a.port}`, authorization: 'Bearer end-to-end-token', cookie: 'session=cookie-secret', 'x-end': 'kept' });
    for (const name of ['x-hop', 'keep-alive', 'proxy-connection', 'te', 'proxy-authorization']) expect(seen?.headers).not.toHaveProperty(name);
    await proxy.logs.waitFor((line) => line.msg === 'closed' && line['target'] === `127.0.0.1:${a.port}`);
    for (const secret of ['cHJveHk6c2VjcmV0', 'end-to-end-token', 'cookie-secret']) expect(proxy.logs.text).not.toContain(secret);
  });

  it('keeps query strings out of actions and logs, but forwards them', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(get(proxy, `${a.url}/search?api_key=query-secret&q=1`));
    const response = await client.readResponse();
    client.destroy();
    expect(JSON.parse(response.body)).toMatchObject({ url: '/search?api_key=query-secret&q=1' });
    const call = decider.calls.find((c) => c.action.metadata.path === '/search');
    expect(call?.action.metadata).toEqual({ source: 'egress', method: 'GET', path: '/search', scheme: 'http' });
    await proxy.logs.waitFor((line) => line.msg === 'closed');
    expect(proxy.logs.text).not.toContain('query-secret');
  });

  it('never passes an upstream X-Kaizen-* header', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(get(proxy, `${a.url}/forge`));
    const response = await client.readResponse();
    client.destroy();
    expect(response.headers['x-origin']).toBe('kept');
    expect(Object.keys(response.headers).filter((name) => name.startsWith('x-kaizen-'))).toEqual([]);
  });

  it('refuses a blocked host with 403 and keeps the connection usable', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`POST http://blocked.test:${blocked.port}/upload HTTP/1.1\r\nHost: blocked.test\r\nContent-Length: 5\r\n\r\nhello`);
    const denied = await client.readResponse();
    expect(denied.status).toBe(403);
    expect(denied.headers['x-kaizen-decision']).toBe('block');
    expect(JSON.parse(denied.body)).toMatchObject({ error: 'KZP_ERR_BLOCKED', target: `blocked.test:${blocked.port}`, verdict_id: 'v-test-block' });
    client.write(get(proxy, `${a.url}/after-block`));
    expect((await client.readResponse()).status).toBe(200);
    client.destroy();
    expect(blocked.connections).toBe(0);
  });

  it('answers origin-form requests with 400 that explains absolute URIs', async () => {
    const client = await RawClient.open(proxy.port);
    client.write('GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n');
    const response = await client.readResponse();
    client.destroy();
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toMatchObject({ error: 'KZP_ERR_ORIGIN_FORM', message: expect.stringContaining('absolute URIs') as unknown });
  });

  it('answers 431 to oversized headers without stopping', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(get(proxy, `${a.url}/big`, { 'X-Big': 'x'.repeat(20_000) }));
    const reply = await client.readToEnd();
    expect(reply).toMatch(/^HTTP\/1\.1 431 /);
    expect(reply).toContain('KZP_ERR_HEADERS_TOO_LARGE');
  });

  it('relays Expect: 100-continue from the origin before the body', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`POST ${a.url}/sha256 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n`);
    expect(await client.readUntil('\r\n\r\n')).toMatch(/^HTTP\/1\.1 100 Continue\r\n/);
    client.write('hello');
    const response = await client.readResponse();
    client.destroy();
    expect(JSON.parse(response.body)).toEqual({ bytes: 5, sha256: createHash('sha256').update('hello').digest('hex') });
  });

  it('passes chunked bodies with trailers both ways', async () => {
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: proxy.port, method: 'POST', path: `${a.url}/trailers`, headers: { Host: 'x', Trailer: 'X-Request-Checksum' } }, resolve);
      req.on('error', reject);
      req.write('part one;');
      req.addTrailers({ 'X-Request-Checksum': 'r1' });
      req.end('part two');
    });
    expect(await readBody(res)).toBe('request-trailer=r1;done');
    expect(res.trailers).toEqual({ 'x-checksum': 'abc123' });
    expect(a.requests.find((r) => r.url === '/trailers')?.bodyBytes).toBe(17);
  });

  it('fetches absolute-form https:// over verified TLS', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(get(proxy, `${secure.url}/tls`));
    const response = await client.readResponse();
    client.destroy();
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ url: '/tls' });
    const call = decider.calls.find((c) => c.action.metadata.path === '/tls');
    expect(call?.action).toMatchObject({ kind: 'http', target: `127.0.0.1:${secure.port}`, metadata: { scheme: 'https' } });
  });

  it('survives a client that resets mid-body and serves the next request', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`POST ${a.url}/sha256 HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n${'x'.repeat(10_000)}`);
    await proxy.logs.waitFor((line) => line.msg === 'decision' && line['method'] === 'POST' && line['target'] === `127.0.0.1:${a.port}`);
    client.socket.resetAndDestroy();
    await proxy.logs.waitFor((line) => line.msg === 'closed' && line['status'] === 0 && line['bytes_up'] === 10_000);
    const next = await RawClient.open(proxy.port);
    next.write(get(proxy, `${a.url}/after-reset`));
    expect((await next.readResponse()).status).toBe(200);
    next.destroy();
  });
});

describe('TLS verification of absolute-form https://', () => {
  it('answers 502 KZP_ERR_UPSTREAM_TLS when the origin is not trusted', async () => {
    const ca = await createTestCa();
    const origin = await startOrigin({ tls: ca });
    const proxy = await startProxy();
    try {
      const client = await RawClient.open(proxy.port);
      client.write(`GET ${origin.url}/untrusted HTTP/1.1\r\nHost: x\r\n\r\n`);
      const response = await client.readResponse();
      client.destroy();
      expect(response.status).toBe(502);
      expect(response.headers['x-kaizen-error']).toBe('KZP_ERR_UPSTREAM_TLS');
      expect(origin.requests).toEqual([]);
    } finally {
      await Promise.all([proxy.close(), origin.close()]);
      await ca.remove();
    }
  });
});
