import { afterEach, describe, expect, it } from 'vitest';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { sslv2ClientHello } from '../../helpers/sslv2-hello.js';
import { startTransparent, type DirectTransparent } from './direct-listener.js';

// What the transparent listener makes of a connection's first bytes: an HTTP request line goes to
// node:http; a text protocol whose first byte merely looks like a method's (SSH's banner, inline
// Redis commands) is refused as unknown_protocol, as soon as its bytes cannot be a request line.

const UNKNOWN = { code: 'KZP_ERR_TRANSPARENT_DESTINATION', reason: 'unknown_protocol' };

describe('the transparent listener sniffs a request line, not a first byte', () => {
  let transparent: DirectTransparent | undefined;
  let origin: Origin | undefined;
  afterEach(async () => {
    await Promise.all([transparent?.close(), origin?.close()]);
    transparent = undefined;
    origin = undefined;
  });

  for (const [name, bytes] of [
    ['an SSH banner', 'SSH-2.0-OpenSSH_9.6\r\n'],
    ['an inline Redis command', 'PING\r\n'],
    ['an inline Redis command with arguments', 'SET key value\r\n'],
    // No SNI to tunnel to: refused, never relayed to the original destination for its TLS.
    ['a ClientHello in SSL 2.0 record format', sslv2ClientHello()],
  ] as const) {
    it(`refuses ${name} as unknown_protocol, logged and counted, with no HTTP answer`, async () => {
      transparent = await startTransparent();
      const client = await RawClient.open(transparent.port);
      client.write(bytes);
      // The client waits for the server to speak: the refusal must not wait for the header timeout.
      expect(await client.readToEnd()).toBe('');
      expect(transparent.refused).toEqual([UNKNOWN]);
      expect(await transparent.proxy.logs.waitFor((line) => line.msg === 'refused')).toMatchObject({ level: 'warn', ...UNKNOWN });
    });
  }

  it('still takes an HTTP request whose request line arrives a few bytes at a time', async () => {
    origin = await startOrigin();
    transparent = await startTransparent();
    const client = await RawClient.open(transparent.port);
    const head = `GET /trickled HTTP/1.1\r\nHost: 127.0.0.1:${String(origin.port)}\r\n\r\n`;
    // The request line in pieces sent apart, as a slow client would: each leaves it undecided.
    client.socket.setNoDelay(true);
    for (const piece of ['G', 'ET', ' ', '/trick', 'led', ' ', 'HT', 'TP/1.1\r\n']) {
      client.write(piece);
      await new Promise<void>((resolve) => setTimeout(resolve, 20));
    }
    client.write(head.slice('GET /trickled HTTP/1.1\r\n'.length));
    const response = await client.readResponse();
    expect(response.status).toBe(200);
    expect(origin.requests.map((seen) => seen.url)).toEqual(['/trickled']);
    expect(transparent.refused).toEqual([]);
    client.destroy();
  });

  it('answers a request line that stalls 408 KZP_ERR_HEADER_TIMEOUT at the header timeout', async () => {
    transparent = await startTransparent({ limits: { headerTimeoutMs: 1_000 } });
    const client = await RawClient.open(transparent.port);
    client.write('GET /sta');
    const response = await client.readResponse();
    expect(response.status).toBe(408);
    expect(response.headers['x-kaizen-error']).toBe('KZP_ERR_HEADER_TIMEOUT');
    expect(transparent.refused).toEqual([{ code: 'KZP_ERR_HEADER_TIMEOUT', reason: 'header_timeout' }]);
    client.destroy();
  });

  it('logs and counts an Upgrade request without Host as no_host, as it does a plain request', async () => {
    transparent = await startTransparent();
    const client = await RawClient.open(transparent.port);
    client.write('GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
    const response = await client.readResponse();
    expect(response.status).toBe(400);
    expect(response.headers['x-kaizen-error']).toBe('KZP_ERR_TRANSPARENT_DESTINATION');
    expect(transparent.refused).toEqual([{ code: 'KZP_ERR_TRANSPARENT_DESTINATION', reason: 'no_host' }]);
    expect(await transparent.proxy.logs.waitFor((line) => line.msg === 'refused')).toMatchObject({
      level: 'warn',
      code: 'KZP_ERR_TRANSPARENT_DESTINATION',
      reason: 'no_host',
    });
    client.destroy();
  });

  it('logs and counts a CONNECT sent to the transparent port', async () => {
    transparent = await startTransparent();
    const client = await RawClient.open(transparent.port);
    client.write('CONNECT 127.0.0.1:9 HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n');
    const response = await client.readResponse();
    expect(response.status).toBe(400);
    expect(response.headers['x-kaizen-error']).toBe('KZP_ERR_BAD_REQUEST');
    expect(transparent.refused).toEqual([{ code: 'KZP_ERR_BAD_REQUEST', reason: 'connect' }]);
    expect(await transparent.proxy.logs.waitFor((line) => line.msg === 'refused')).toMatchObject({ level: 'warn', code: 'KZP_ERR_BAD_REQUEST', reason: 'connect' });
    client.destroy();
  });
});
