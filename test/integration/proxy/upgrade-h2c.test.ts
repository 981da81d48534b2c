import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient, type RawResponse } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

/** An h2c upgrade as RFC 7540 §3.2 clients send it (python-h2, curl --http2). */
function h2cRequest(method: string, url: string, host: string, options: { readonly upgrade?: string; readonly connection?: string; readonly body?: string } = {}): string {
  const body = options.body ?? '';
  return (
    `${method} ${url} HTTP/1.1\r\nHost: ${host}\r\nConnection: ${options.connection ?? 'Upgrade, HTTP2-Settings'}\r\nUpgrade: ${options.upgrade ?? 'h2c'}\r\n` +
    `HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n${body === '' ? '' : `Content-Length: ${body.length}\r\n`}\r\n${body}`
  );
}

/** The origin's echo of what it received. */
function echoed(response: RawResponse): { method: string; url: string; headers: Record<string, string> } {
  return JSON.parse(response.body) as { method: string; url: string; headers: Record<string, string> };
}

/**
 * Only a WebSocket upgrade becomes a tunnel. Any other `Upgrade` (h2c above all: after its 101 every
 * HTTP/2 stream, any path, would reach the origin undecided) is hop-by-hop and dropped with
 * `HTTP2-Settings`: the request goes on as an ordinary HTTP/1.1 request, decided and answered as such,
 * and the connection stays an HTTP/1.1 connection. (Inside intercepted sessions: intercept-h2c.test.ts.)
 */
describe('an Upgrade other than websocket', () => {
  let origin: Origin;
  let proxy: StartedProxy;
  const decider = createFakeDecider();
  let authority: string;

  beforeAll(async () => {
    origin = await startOrigin();
    proxy = await startProxy({ decider });
    authority = `127.0.0.1:${origin.port}`;
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), origin.close()]);
  });

  it('forwards an absolute-form h2c upgrade as an ordinary request, never a 101, and keeps the connection HTTP/1.1', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(h2cRequest('GET', `${origin.url}/h2c-get`, authority));
    const response = await client.readResponse();
    expect(response.status).toBe(200);
    const seen = echoed(response);
    expect(seen.url).toBe('/h2c-get');
    expect(seen.headers).not.toHaveProperty('upgrade');
    expect(seen.headers).not.toHaveProperty('http2-settings');
    expect(seen.headers['connection'] ?? '').not.toMatch(/upgrade/i);
    const call = decider.calls.find((request) => request.action.metadata.path === '/h2c-get');
    expect(call?.action).toMatchObject({ kind: 'http', target: authority, metadata: { method: 'GET', scheme: 'http' } });

    // The next request on the same connection is a request of its own, decided and answered.
    client.write(`GET ${origin.url}/after-h2c HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
    const next = await client.readResponse();
    expect(next.status).toBe(200);
    expect(echoed(next).url).toBe('/after-h2c');
    expect(decider.calls.filter((request) => request.action.metadata.path === '/after-h2c')).toHaveLength(1);
    client.destroy();
    expect(origin.requests.filter((request) => request.headers.upgrade !== undefined)).toEqual([]);
  });

  it('forwards the body of an h2c upgrade, and drops HTTP2-Settings even when Connection does not name it', async () => {
    const body = 'refund=1&amount=500';
    const client = await RawClient.open(proxy.port);
    client.write(h2cRequest('POST', `${origin.url}/sha256`, authority, { connection: 'Upgrade', body }));
    const response = await client.readResponse();
    client.destroy();
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ bytes: body.length, sha256: createHash('sha256').update(body).digest('hex') });
    const seen = origin.requests.find((request) => request.url === '/sha256' && request.method === 'POST');
    expect(seen?.headers).not.toHaveProperty('upgrade');
    expect(seen?.headers).not.toHaveProperty('http2-settings');
  });

  it('answers an h2c upgrade pipelined behind a request still in flight after that request, in order', async () => {
    const body = 'first';
    const client = await RawClient.open(proxy.port);
    // A body takes the connection to node:http, which hands the upgrade over while the POST is still answered.
    client.write(`POST ${origin.url}/sha256 HTTP/1.1\r\nHost: ${authority}\r\nContent-Length: ${body.length}\r\n\r\n${body}` + h2cRequest('GET', `${origin.url}/pipelined-h2c`, authority));
    const first = await client.readResponse();
    const second = await client.readResponse();
    client.destroy();
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toMatchObject({ bytes: body.length });
    expect(second.status).toBe(200);
    expect(echoed(second).url).toBe('/pipelined-h2c');
    expect(echoed(second).headers).not.toHaveProperty('upgrade');
  });

  it('treats TLS/1.2, and websocket offered beside another protocol, as ordinary requests too', async () => {
    for (const [path, upgrade] of [
      ['/tls-upgrade', 'TLS/1.2'],
      ['/ws-and-h2c', 'websocket, h2c'],
    ] as const) {
      const client = await RawClient.open(proxy.port);
      client.write(h2cRequest('GET', `${origin.url}${path}`, authority, { upgrade }));
      const response = await client.readResponse();
      client.destroy();
      expect(response.status).toBe(200);
      expect(echoed(response).headers).not.toHaveProperty('upgrade');
    }
  });

  it('still tunnels a WebSocket upgrade, whatever the token’s case', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`GET ${origin.url}/socket HTTP/1.1\r\nHost: ${authority}\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    const head = await client.readUntil('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 101 /);
    client.write('frame');
    expect(await client.readBytes('frame'.length)).toBe('frame');
    client.destroy();
  });

  it('treats a WebSocket upgrade in an HTTP/1.0 request as an ordinary request (RFC 9110 §7.8: Upgrade ignored)', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`GET ${origin.url}/ws-http10 HTTP/1.0\r\nHost: ${authority}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    const response = await client.readResponse();
    client.destroy();
    expect(response.status).toBe(200);
    expect(echoed(response).url).toBe('/ws-http10');
    expect(echoed(response).headers).not.toHaveProperty('upgrade');
    const call = decider.calls.find((request) => request.action.metadata.path === '/ws-http10');
    expect(call?.action).toMatchObject({ metadata: { scheme: 'http' } });
  });

  it('drops HTTP2-Settings from a request the fast lane takes (no Upgrade)', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(`GET ${origin.url}/settings-only HTTP/1.1\r\nHost: ${authority}\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`);
    const response = await client.readResponse();
    client.destroy();
    expect(response.status).toBe(200);
    expect(echoed(response).headers).not.toHaveProperty('http2-settings');
  });

  it('forwards an h2c upgrade redirected to the transparent listener as an ordinary request', async () => {
    const transparent = await proxy.server.listenTransparent('127.0.0.1', 0);
    const client = await RawClient.open(transparent.port);
    client.write(h2cRequest('GET', '/redirected-h2c', authority));
    const response = await client.readResponse();
    expect(response.status).toBe(200);
    expect(echoed(response).headers).not.toHaveProperty('upgrade');
    expect(echoed(response).headers).not.toHaveProperty('http2-settings');
    client.write(`GET /redirected-after HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
    expect(echoed(await client.readResponse()).url).toBe('/redirected-after');
    client.destroy();
  });
});
