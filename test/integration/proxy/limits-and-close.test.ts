import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { startOrigin, startTcpOrigin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy } from '../../helpers/start-proxy.js';

function get(url: string): string {
  return `GET ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\n\r\n`;
}

describe('limits', () => {
  it('answers 503 with Retry-After to the connection over maxConnections while the admitted one keeps working', async () => {
    const origin = await startOrigin();
    const proxy = await startProxy({ limits: { maxConnections: 1 } });
    try {
      const first = await RawClient.open(proxy.port);
      first.write(get(`${origin.url}/one`));
      expect((await first.readResponse()).status).toBe(200);
      expect(proxy.server.activeConnections).toBe(1);

      const overflow = await RawClient.open(proxy.port);
      const reply = await overflow.readResponse();
      expect(reply.status).toBe(503);
      expect(reply.headers['retry-after']).toMatch(/^\d+$/);
      expect(reply.headers['x-kaizen-error']).toBe('KZP_ERR_LIMIT_CONNECTIONS');
      await overflow.closed;

      first.write(get(`${origin.url}/two`));
      expect((await first.readResponse()).status).toBe(200);
      first.destroy();
      await first.closed;
    } finally {
      await Promise.all([proxy.close(), origin.close()]);
    }
  });

  it('answers 408 when request headers do not complete within the header timeout', async () => {
    const proxy = await startProxy({ limits: { headerTimeoutMs: 200 } });
    try {
      const client = await RawClient.open(proxy.port);
      client.write('GET http://127.0.0.1:1/slow HTTP/1.1\r\nHost: x\r\n');
      const reply = await client.readToEnd();
      expect(reply).toMatch(/^HTTP\/1\.1 408 /);
      expect(reply).toContain('KZP_ERR_HEADER_TIMEOUT');
    } finally {
      await proxy.close();
    }
  });
});

describe('graceful close', () => {
  it('stops accepting, lets the in-flight request finish, then destroys tunnels', async () => {
    let release: () => void = () => undefined;
    const until = new Promise<void>((resolve) => {
      release = resolve;
    });
    const [origin, tcp] = await Promise.all([startOrigin(), startTcpOrigin()]);
    const decider = createFakeDecider({ hold: { targets: ['localhost'], until } });
    const proxy = await startProxy({ decider, limits: { drainTimeoutMs: 5_000 } });
    try {
      const tunnel = await RawClient.open(proxy.port);
      tunnel.write(`CONNECT 127.0.0.1:${tcp.port} HTTP/1.1\r\n\r\n`);
      expect(await tunnel.readUntil('\r\n\r\n')).toContain(' 200 ');

      const inflight = await RawClient.open(proxy.port);
      inflight.write(get(`http://localhost:${origin.port}/in-flight`));
      await decider.waitForCall((request) => request.action.target === `localhost:${origin.port}`);

      const closing = proxy.server.close();
      await new Promise<void>((resolve) => {
        const probe = connect({ port: proxy.port, host: '127.0.0.1' });
        probe.on('error', (error: NodeJS.ErrnoException) => {
          expect(error.code).toBe('ECONNREFUSED');
          resolve();
        });
        probe.on('connect', () => {
          probe.destroy();
          throw new Error('a closing proxy accepted a connection');
        });
      });
      release();
      const response = await inflight.readResponse();
      expect(response.status).toBe(200);
      expect(response.headers['connection']).toBe('close');
      await closing;
      await tunnel.closed;
      expect(proxy.server.activeConnections).toBe(0);
    } finally {
      release();
      await Promise.all([proxy.close(), origin.close(), tcp.close()]);
    }
  });
});
