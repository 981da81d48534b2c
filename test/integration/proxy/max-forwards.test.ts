import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headOrigin, type HeadOrigin } from '../../helpers/head-origin.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient, sendRaw } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

// Max-Forwards (RFC 9110 §7.6.2): on TRACE and OPTIONS a proxy answers a 0 itself and forwards any
// other value decremented; other methods carry it unchanged. And a relayed 204 never carries the
// destination's Content-Length (RFC 9110 §8.6).

describe('Max-Forwards on TRACE and OPTIONS', () => {
  let origin: Origin;
  let proxy: StartedProxy;

  beforeAll(async () => {
    origin = await startOrigin();
    proxy = await startProxy();
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), origin.close()]);
  });

  const request = (method: string, path: string, maxForwards: string): string =>
    `${method} ${origin.url}${path} HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\nMax-Forwards: ${maxForwards}\r\n\r\n`;

  it('answers OPTIONS with Max-Forwards: 0 itself (200, Allow, no body), the destination never asked', async () => {
    const before = origin.requests.length;
    const response = await sendRaw(proxy.port, request('OPTIONS', '/options-zero', '0'));
    expect(response.status).toBe(200);
    expect(response.headers['allow']).toContain('OPTIONS');
    expect(response.headers['content-length']).toBe('0');
    expect(response.body).toBe('');
    expect(origin.requests.length).toBe(before);
    expect(origin.requests.some((seen) => seen.url === '/options-zero')).toBe(false);
  });

  it('answers TRACE with Max-Forwards: 0 itself (405 with Allow), and the connection serves the next request', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(request('TRACE', '/trace-zero', '0'));
    const response = await client.readResponse();
    expect(response.status).toBe(405);
    expect(response.headers['allow']).toBeDefined();
    expect(response.headers['allow']).not.toContain('TRACE');
    expect(origin.requests.some((seen) => seen.url === '/trace-zero')).toBe(false);
    client.write(`GET ${origin.url}/after HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n`);
    const next = await client.readResponse();
    expect(next.status).toBe(200);
    client.destroy();
  });

  it('forwards OPTIONS and TRACE with Max-Forwards decremented by one', async () => {
    const options = await sendRaw(proxy.port, request('OPTIONS', '/options-three', '3'));
    expect(options.status).toBe(200);
    expect(JSON.parse(options.body)).toMatchObject({ method: 'OPTIONS', headers: { 'max-forwards': '2' } });
    const trace = await sendRaw(proxy.port, request('TRACE', '/trace-one', '1'));
    expect(trace.status).toBe(200);
    expect(JSON.parse(trace.body)).toMatchObject({ method: 'TRACE', headers: { 'max-forwards': '0' } });
  });

  it('counts the first of two Max-Forwards fields and drops the second, on OPTIONS and TRACE', async () => {
    const twice = (method: string, path: string, first: string, second: string): string =>
      `${method} ${origin.url}${path} HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\nMax-Forwards: ${first}\r\nAccept: */*\r\nMax-Forwards: ${second}\r\n\r\n`;
    const forwarded = (path: string): string[] => {
      const seen = origin.requests.find((request) => request.url === path);
      expect(seen).toBeDefined();
      const raw = seen?.rawHeaders ?? [];
      return raw.flatMap((name, i) => (i % 2 === 0 && name.toLowerCase() === 'max-forwards' ? [raw[i + 1] ?? ''] : []));
    };
    // 3 then 0: the 3 counts (forwarded as 2), the 0 is not forwarded to make the next hop the last.
    expect((await sendRaw(proxy.port, twice('OPTIONS', '/twice-options', '3', '0'))).status).toBe(200);
    expect(forwarded('/twice-options')).toEqual(['2']);
    expect((await sendRaw(proxy.port, twice('TRACE', '/twice-trace', '1', '7'))).status).toBe(200);
    expect(forwarded('/twice-trace')).toEqual(['0']);
    // 0 then 5: the 0 counts, and the proxy answers itself.
    const before = origin.requests.length;
    const last = await sendRaw(proxy.port, twice('OPTIONS', '/twice-zero', '0', '5'));
    expect(last.status).toBe(200);
    expect(last.headers['allow']).toContain('OPTIONS');
    expect(origin.requests.length).toBe(before);
  });

  it('forwards Max-Forwards unchanged on other methods', async () => {
    const response = await sendRaw(proxy.port, request('GET', '/get-zero', '0'));
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ method: 'GET', headers: { 'max-forwards': '0' } });
  });
});

describe('a 204 with a Content-Length', () => {
  let origin: HeadOrigin;
  let proxy: StartedProxy;

  beforeAll(async () => {
    origin = await headOrigin((socket) => {
      socket.write('HTTP/1.1 204 No Content\r\nContent-Length: 5\r\nX-Origin: kept\r\n\r\n');
    });
    proxy = await startProxy();
  });

  afterAll(async () => {
    await Promise.all([proxy.close(), origin.close()]);
  });

  it('is relayed without it', async () => {
    const response = await sendRaw(proxy.port, `GET http://127.0.0.1:${origin.port}/nc HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n`);
    expect(response.status).toBe(204);
    expect(response.headers['x-origin']).toBe('kept');
    expect(response.head.toLowerCase()).not.toContain('content-length');
  });
});
