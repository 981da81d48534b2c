import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { startHoldingOrigin } from '../../helpers/holding-origin.js';
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
  it('stops accepting, lets the in-flight request finish, and leaves the open tunnel to end by itself', async () => {
    let release: () => void = () => undefined;
    const until = new Promise<void>((resolve) => {
      release = resolve;
    });
    const [origin, tcp] = await Promise.all([startOrigin(), startTcpOrigin()]);
    const decider = createFakeDecider({ hold: { targets: ['localhost'], until } });
    const proxy = await startProxy({ decider, limits: { drainTimeoutMs: 30_000 } });
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
      await inflight.closed;

      // The request is done, the tunnel is not: it still carries bytes both ways, and the drain
      // ends when it does (the TCP origin answers the client's FIN with a digest, then closes).
      expect(proxy.server.activeTunnels).toBe(1);
      tunnel.write('still open');
      tunnel.end();
      expect(await tunnel.readToEnd()).toMatch(/^10 [0-9a-f]{64}$/);
      await closing;
      expect(proxy.server.activeConnections).toBe(0);
      expect(proxy.logs.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'finished', tunnels_cut: 0, in_flight_cut: 0 }));
    } finally {
      release();
      await Promise.all([proxy.close(), origin.close(), tcp.close()]);
    }
  });

  it('a keep-alive connection whose response began before the close ends after it (node:http and fast lane)', async () => {
    const [origin, tcp] = await Promise.all([startHoldingOrigin(), startTcpOrigin()]);
    const proxy = await startProxy({ limits: { drainTimeoutMs: 30_000 } });
    try {
      // An open tunnel keeps the drain going: a connection closed meanwhile was closed for itself.
      const tunnel = await RawClient.open(proxy.port);
      tunnel.write(`CONNECT 127.0.0.1:${tcp.port} HTTP/1.1\r\n\r\n`);
      expect(await tunnel.readUntil('\r\n\r\n')).toContain(' 200 ');
      // A GET without a body is the fast lane's; a request with a body is node:http's.
      const lane = await RawClient.open(proxy.port);
      lane.write(get(`http://127.0.0.1:${origin.port}/streaming-get`));
      const node = await RawClient.open(proxy.port);
      node.write(`POST http://127.0.0.1:${origin.port}/streaming-post HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\nContent-Length: 2\r\n\r\nhi`);
      for (const client of [lane, node]) expect(await client.readUntil('first chunk;')).not.toMatch(/\r\nconnection: close/i);
      const streams = await Promise.all([origin.held('/streaming-get'), origin.held('/streaming-post')]);

      const closing = proxy.server.close();
      for (const stream of streams) stream.end('last chunk');
      for (const client of [lane, node]) {
        expect(await client.readUntil('0\r\n\r\n')).toContain('last chunk');
        await client.closed;
      }
      expect(proxy.logs.lines.find((line) => line.msg === 'drain ended')).toBeUndefined();
      tunnel.end();
      expect(await tunnel.readToEnd()).toMatch(/^0 [0-9a-f]{64}$/);
      await closing;
      expect(proxy.logs.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'finished', connections_cut: 0 }));
    } finally {
      await Promise.all([proxy.close(), origin.close(), tcp.close()]);
    }
  });

  it('destroys a tunnel still open at the deadline', async () => {
    const tcp = await startTcpOrigin();
    const proxy = await startProxy({ limits: { drainTimeoutMs: 300 } });
    try {
      const tunnel = await RawClient.open(proxy.port);
      tunnel.write(`CONNECT 127.0.0.1:${tcp.port} HTTP/1.1\r\n\r\n`);
      expect(await tunnel.readUntil('\r\n\r\n')).toContain(' 200 ');
      await proxy.server.close();
      await tunnel.closed;
      expect(proxy.logs.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'deadline', tunnels_cut: 1, connections_cut: 1 }));
    } finally {
      await Promise.all([proxy.close(), tcp.close()]);
    }
  });

  it('without waitForTunnels (wrap mode, its command gone) cuts open tunnels once no request is in flight', async () => {
    const tcp = await startTcpOrigin();
    const proxy = await startProxy({ limits: { drainTimeoutMs: 30_000 } });
    try {
      const tunnel = await RawClient.open(proxy.port);
      tunnel.write(`CONNECT 127.0.0.1:${tcp.port} HTTP/1.1\r\n\r\n`);
      expect(await tunnel.readUntil('\r\n\r\n')).toContain(' 200 ');
      await proxy.server.close({ waitForTunnels: false });
      await tunnel.closed;
      expect(proxy.logs.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'finished', tunnels_cut: 1 }));
    } finally {
      await Promise.all([proxy.close(), tcp.close()]);
    }
  });

  it('an aborted signal ends the drain at once and cuts what is open', async () => {
    const tcp = await startTcpOrigin();
    const proxy = await startProxy({ limits: { drainTimeoutMs: 30_000 } });
    try {
      const tunnel = await RawClient.open(proxy.port);
      tunnel.write(`CONNECT 127.0.0.1:${tcp.port} HTTP/1.1\r\n\r\n`);
      expect(await tunnel.readUntil('\r\n\r\n')).toContain(' 200 ');
      const hurry = new AbortController();
      // The drain waits from the call on (its deadline is 30 s away): the abort ends it.
      const closing = proxy.server.close({ signal: hurry.signal });
      expect(proxy.server.activeTunnels).toBe(1);
      hurry.abort();
      await closing;
      await tunnel.closed;
      expect(proxy.logs.lines).toContainEqual(expect.objectContaining({ msg: 'drain ended', ended: 'cut', tunnels_cut: 1 }));
    } finally {
      await Promise.all([proxy.close(), tcp.close()]);
    }
  });
});
