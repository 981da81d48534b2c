import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { request, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { startOrigin, streamedBytes, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';
import { readSlowly } from './slow-receiver.js';

// Plain HTTP through the proxy's pooled HTTP/1.1 client (src/proxy/upstream-dispatch.ts on
// origin-pools.ts and origin-connection.ts, used for direct requests without Expect or a chunked
// body), with Node's own http client as the agent.

function viaProxy(proxy: StartedProxy, url: string, options: { method?: string; body?: Buffer } = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = request({
      host: '127.0.0.1',
      port: proxy.port,
      method: options.method ?? 'GET',
      path: url,
      headers: { Host: target.host, ...(options.body === undefined ? {} : { 'Content-Length': String(options.body.length) }) },
    });
    req.once('response', resolve);
    req.once('error', reject);
    req.end(options.body);
  });
}

describe('plain HTTP through the pooled client', () => {
  let origin: Origin;
  let proxy: StartedProxy;

  beforeAll(async () => {
    origin = await startOrigin();
    proxy = await startProxy({ decider: createFakeDecider() });
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), origin.close()]);
  });

  it('relays a 16 MiB chunked download to a slow reader byte for byte, counted as bytes_down', async () => {
    const length = 16 * 1024 * 1024;
    const res = await viaProxy(proxy, `${origin.url}/stream?bytes=${length}`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['transfer-encoding']).toBe('chunked');
    const got = await readSlowly(res);
    expect(got).toEqual({ bytes: length, sha: createHash('sha256').update(streamedBytes(length)).digest('hex') });
    const closed = await proxy.logs.waitFor((line) => line.msg === 'closed' && line['bytes_down'] === length);
    expect(closed).toMatchObject({ kind: 'http', status: 200 });
  });

  it('sends a 10 MiB Content-Length body (no Expect) intact, counted as bytes_up', async () => {
    const body = streamedBytes(10 * 1024 * 1024);
    const res = await viaProxy(proxy, `${origin.url}/sha256`, { method: 'POST', body });
    const answer = JSON.parse((await readAll(res)).toString()) as unknown;
    expect(answer).toEqual({ bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') });
    await proxy.logs.waitFor((line) => line.msg === 'closed' && line['bytes_up'] === body.length);
  });

  it('keeps the framing of bodiless answers (HEAD, 204, 304) on one keep-alive connection', async () => {
    const client = await RawClient.open(proxy.port);
    const host = new URL(origin.url).host;
    const ask = (method: string, path: string): void => {
      client.write(`${method} ${origin.url}${path} HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    };
    ask('HEAD', '/head');
    const head = await client.readResponse({ bodiless: true });
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    for (const code of [204, 304]) {
      ask('GET', `/status?code=${code}`);
      const answer = await client.readResponse();
      expect(answer.status).toBe(code);
      expect(answer.headers['etag']).toBe('"v1"');
      expect(answer.headers['transfer-encoding']).toBeUndefined();
    }
    // Nothing stray was left on the connection: the next answer parses as the next request's.
    ask('GET', '/after-bodiless');
    const after = await client.readResponse();
    expect(JSON.parse(after.body)).toMatchObject({ method: 'GET', url: '/after-bodiless' });
    client.destroy();
  });

  it('keeps the destination connection: 20 requests in a row open one origin connection', async () => {
    const before = origin.connections;
    for (let i = 0; i < 20; i++) {
      const res = await viaProxy(proxy, `${origin.url}/n${i}`);
      res.resume();
      await once(res, 'end');
      expect(res.statusCode).toBe(200);
    }
    expect(origin.connections - before).toBeLessThanOrEqual(1);
    expect(origin.requests.slice(-20).map((seen) => seen.url)).toEqual(Array.from({ length: 20 }, (_, i) => `/n${i}`));
  });
});

async function readAll(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  await once(res, 'end');
  return Buffer.concat(chunks);
}
