import { afterEach, describe, expect, it } from 'vitest';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startTransparent, type DirectTransparent } from './direct-listener.js';

// A redirected request's destination is its Host header, which is `host[:port]` and nothing else
// (RFC 9112 §3.2, RFC 9110 §7.2): a path, query, fragment or userinfo in it must not be spliced
// into the URL the request is forwarded to (`/foo?` + `/x` reached the origin as `/foo?/x`).

describe('the Host header of a redirected request', () => {
  let transparent: DirectTransparent | undefined;
  let origin: Origin | undefined;
  afterEach(async () => {
    await Promise.all([transparent?.close(), origin?.close()]);
    transparent = undefined;
    origin = undefined;
  });

  it('refuses a Host that is not host[:port] with 400 KZP_ERR_TRANSPARENT_DESTINATION, logged and counted as bad_host, never forwarded', async () => {
    origin = await startOrigin();
    transparent = await startTransparent();
    const authority = `127.0.0.1:${String(origin.port)}`;
    const hosts = [`${authority}/foo?`, `${authority}?a=b`, `${authority}#top`, `user@${authority}`, `${authority}:80`, `127.0.0.1:${String(origin.port)}0000`, `a b:${String(origin.port)}`];
    for (const host of hosts) {
      const client = await RawClient.open(transparent.port);
      client.write(`GET /x HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      const response = await client.readResponse();
      expect(response.status, host).toBe(400);
      expect(response.headers['x-kaizen-error'], host).toBe('KZP_ERR_TRANSPARENT_DESTINATION');
      client.destroy();
    }
    expect(origin.requests).toEqual([]);
    expect(transparent.refused).toEqual(hosts.map(() => ({ code: 'KZP_ERR_TRANSPARENT_DESTINATION', reason: 'bad_host' })));
    const line = await transparent.proxy.logs.waitFor((entry) => entry.msg === 'refused');
    expect(line).toMatchObject({ level: 'warn', code: 'KZP_ERR_TRANSPARENT_DESTINATION', reason: 'bad_host' });
    // The Host's query is not logged either.
    expect(transparent.proxy.logs.text).not.toContain('a=b');
  });

  it('refuses an Upgrade request whose Host is not host[:port] the same way', async () => {
    origin = await startOrigin();
    transparent = await startTransparent();
    const client = await RawClient.open(transparent.port);
    client.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${String(origin.port)}/foo?\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`);
    const response = await client.readResponse();
    expect(response.status).toBe(400);
    expect(response.headers['x-kaizen-error']).toBe('KZP_ERR_TRANSPARENT_DESTINATION');
    expect(origin.connections).toBe(0);
    expect(transparent.refused).toEqual([{ code: 'KZP_ERR_TRANSPARENT_DESTINATION', reason: 'bad_host' }]);
    client.destroy();
  });

  it('forwards host:port as before, and takes a Host without a port (or with an empty one) as port 80', async () => {
    origin = await startOrigin();
    const decider = createFakeDecider({ block: ['localhost', '::1'] });
    transparent = await startTransparent({ decider });
    const client = await RawClient.open(transparent.port);
    client.write(`GET /x?q=1 HTTP/1.1\r\nHost: 127.0.0.1:${String(origin.port)}\r\n\r\n`);
    expect((await client.readResponse()).status).toBe(200);
    expect(origin.requests.map((seen) => seen.url)).toEqual(['/x?q=1']);
    // Decided, and blocked here, without a dial: the target is the host on port 80 (an empty port is the default too).
    for (const host of ['LocalHost', 'localhost:', '[::1]']) {
      client.write(`GET /y HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      expect((await client.readResponse()).status, host).toBe(403);
    }
    expect(decider.calls.map((call) => call.action.target)).toEqual([`127.0.0.1:${String(origin.port)}`, 'localhost:80', 'localhost:80', '[::1]:80']);
    expect(transparent.refused).toEqual([]);
    client.destroy();
  });
});
