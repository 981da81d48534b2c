import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startTransparent, type DirectTransparent } from './direct-listener.js';

// A redirected client refused by max_connections reads the refusal in its own protocol: a TLS
// client a TLS alert (an HTTP 503 reads to it as "wrong version number", a protocol failure), an
// HTTP client the 503 with Retry-After.

/** The error a TLS client reports for the server's first answer. */
function tlsFailure(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'example.test', rejectUnauthorized: false });
    socket.once('secureConnect', () => {
      socket.destroy();
      resolve('handshake completed');
    });
    socket.once('error', (error: Error) => {
      resolve(error.message);
    });
  });
}

describe('max_connections on the transparent listener', () => {
  let transparent: DirectTransparent | undefined;
  let origin: Origin | undefined;
  let held: RawClient | undefined;
  afterEach(async () => {
    held?.destroy();
    await Promise.all([transparent?.close(), origin?.close()]);
    transparent = undefined;
    origin = undefined;
    held = undefined;
  });

  /** The proxy with max_connections 1, held by a CONNECT tunnel on its proxy port. */
  async function full(): Promise<DirectTransparent> {
    origin = await startOrigin();
    const started = await startTransparent({ limits: { maxConnections: 1, headerTimeoutMs: 1_000 } });
    held = await RawClient.open(started.proxy.port);
    held.write(`CONNECT 127.0.0.1:${String(origin.port)} HTTP/1.1\r\nHost: 127.0.0.1:${String(origin.port)}\r\n\r\n`);
    expect((await held.readResponse({ bodiless: true })).status).toBe(200);
    return started;
  }

  it('answers a TLS client with an internal_error alert, logged and counted as a max_connections refusal', async () => {
    transparent = await full();
    expect(await tlsFailure(transparent.port)).toMatch(/alert internal error/i);
    expect(transparent.refused).toEqual([{ code: 'KZP_ERR_LIMIT_CONNECTIONS', reason: 'max_connections' }]);
    expect(await transparent.proxy.logs.waitFor((line) => line.msg === 'refused')).toMatchObject({ level: 'warn', code: 'KZP_ERR_LIMIT_CONNECTIONS', max_connections: 1 });
  });

  it('answers an HTTP client 503 KZP_ERR_LIMIT_CONNECTIONS with Retry-After, as the proxy port does', async () => {
    transparent = await full();
    const client = await RawClient.open(transparent.port);
    client.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${String(origin?.port ?? 0)}\r\n\r\n`);
    const response = await client.readResponse();
    expect(response.status).toBe(503);
    expect(response.headers['x-kaizen-error']).toBe('KZP_ERR_LIMIT_CONNECTIONS');
    expect(response.headers['retry-after']).toMatch(/^\d+$/);
    await client.closed;
    expect(origin?.requests).toEqual([]);
    expect(transparent.refused).toEqual([{ code: 'KZP_ERR_LIMIT_CONNECTIONS', reason: 'max_connections' }]);
  });

  it('waits for a silent client no longer than the header timeout, then answers 503 and closes', async () => {
    transparent = await full();
    const client = await RawClient.open(transparent.port);
    const response = await client.readResponse();
    expect(response.status).toBe(503);
    await client.closed;
  });
});
