import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { eventually } from '../resilience/resilience-support.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

// Heads the fast lane (src/proxy/fast-lane.ts) waits for: too slow (408), cut off by the client's
// FIN (400), too long (431, from node:http after the hand-over), on a first request and on a later
// one of a keep-alive connection; and the keep-alive idle timeout.

let origin: Origin;

beforeAll(async () => {
  origin = await startOrigin();
});

afterAll(async () => {
  await origin.close();
});

function get(path: string, extra = ''): string {
  return `GET ${origin.url}${path} HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n${extra}\r\n`;
}

/** A client whose connection already carried one lane request (answered 200), or a fresh one. */
async function client(proxy: StartedProxy, second: boolean): Promise<RawClient> {
  const opened = await RawClient.open(proxy.port);
  if (second) {
    opened.write(get('/first'));
    const first = await opened.readResponse();
    expect([first.status, first.headers['connection']]).toEqual([200, 'keep-alive']);
  }
  return opened;
}

const firstOrSecond = [
  ['a first request', false],
  ['a later request on a keep-alive connection', true],
] as const;

describe('heads the lane waits for', () => {
  let proxy: StartedProxy;

  beforeAll(async () => {
    proxy = await startProxy({ limits: { headerTimeoutMs: 300, maxHeaderBytes: 16_384 } });
  });

  afterAll(async () => {
    await proxy.close();
  });

  it.each(firstOrSecond)('answers 408 KZP_ERR_HEADER_TIMEOUT to %s whose head is not finished in time', async (_name, second) => {
    const slow = await client(proxy, second);
    const started = performance.now();
    slow.write(`GET ${origin.url}/slow HTTP/1.1\r\nHost: x\r\n`);
    const reply = await slow.readToEnd();
    expect(reply).toMatch(/^HTTP\/1\.1 408 /);
    expect(reply).toMatch(/\r\nX-Kaizen-Error: KZP_ERR_HEADER_TIMEOUT\r\n/i);
    expect(reply).toMatch(/\r\nConnection: close\r\n/i);
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
    expect(origin.requests.some((r) => r.url === '/slow')).toBe(false);
  });

  it.each(firstOrSecond)('answers 400 KZP_ERR_BAD_REQUEST to %s whose head is cut off by a FIN', async (_name, second) => {
    const cut = await client(proxy, second);
    cut.write(`GET ${origin.url}/cut HTTP/1.1\r\nHost: x\r\n`);
    cut.end();
    const reply = await cut.readToEnd();
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(reply).toContain('KZP_ERR_BAD_REQUEST');
    expect(origin.requests.some((r) => r.url === '/cut')).toBe(false);
  });

  it.each(firstOrSecond)('answers 431 to %s whose unfinished head is longer than max_header_bytes', async (_name, second) => {
    const big = await client(proxy, second);
    big.write(`GET ${origin.url}/big HTTP/1.1\r\nHost: x\r\nX-Big: ${'x'.repeat(20_000)}`);
    const reply = await big.readToEnd();
    expect(reply).toMatch(/^HTTP\/1\.1 431 /);
    expect(reply).toContain('KZP_ERR_HEADERS_TOO_LARGE');
    expect(origin.requests.some((r) => r.url === '/big')).toBe(false);
  });

  it.each(firstOrSecond)('answers 431 to %s whose whole head is longer than max_header_bytes', async (_name, second) => {
    const big = await client(proxy, second);
    big.write(get('/big-whole', `X-Big: ${'x'.repeat(20_000)}\r\n`));
    const reply = await big.readToEnd();
    expect(reply).toMatch(/^HTTP\/1\.1 431 /);
    expect(reply).toContain('KZP_ERR_HEADERS_TOO_LARGE');
    expect(origin.requests.some((r) => r.url === '/big-whole')).toBe(false);
  });

  it('closes quietly when a keep-alive client sends its FIN between requests', async () => {
    const done = await client(proxy, true);
    done.end();
    expect(await done.readToEnd()).toBe('');
  });

  it('serves a head that arrives in pieces, split in the method, the scheme and the field lines', async () => {
    const pieces = await RawClient.open(proxy.port);
    pieces.socket.setNoDelay(true);
    const whole = get('/pieces', 'X-Split: yes\r\n');
    const cuts = [2, 6, 12, whole.indexOf('\r\n') + 1, whole.length - 3, whole.length - 1];
    let from = 0;
    for (const cut of [...cuts, whole.length]) {
      const piece = whole.slice(from, cut);
      from = cut;
      await new Promise<void>((resolve) => pieces.socket.write(piece, 'latin1', () => {
        resolve();
      }));
    }
    const reply = await pieces.readResponse();
    pieces.destroy();
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ url: '/pieces', headers: { 'x-split': 'yes' } });
  });
});

describe('the keep-alive idle timeout on a lane connection', () => {
  it('announces Keep-Alive: timeout=<idle s> and closes the connection once idle that long', async () => {
    const proxy = await startProxy({ network: { idleTimeoutMs: 1_000 } });
    try {
      const idle = await RawClient.open(proxy.port);
      idle.write(get('/idle'));
      const answer = await idle.readResponse();
      expect(answer.status).toBe(200);
      expect(answer.headers['keep-alive']).toBe('timeout=1');
      const since = performance.now();
      expect(await idle.readToEnd()).toBe('');
      const waited = performance.now() - since;
      expect(waited).toBeGreaterThanOrEqual(900);
      expect(waited).toBeLessThan(5_000);
    } finally {
      await proxy.close();
    }
  });
});

describe('no idle timeout (the transport option idleTimeoutMs: 0; the configuration refuses idle_timeout: 0s)', () => {
  it('announces no Keep-Alive timeout, as node:http does for keepAliveTimeout 0', async () => {
    const proxy = await startProxy({ network: { idleTimeoutMs: 0 } });
    try {
      const client = await RawClient.open(proxy.port);
      client.write(get('/no-idle'));
      const lane = await client.readResponse();
      client.write(get('/no-idle', 'Content-Length: 0\r\n'));
      const viaNode = await client.readResponse();
      client.destroy();
      expect([lane.status, viaNode.status]).toEqual([200, 200]);
      expect(viaNode.headers['keep-alive']).toBeUndefined();
      expect(lane.headers['connection']).toBe('keep-alive');
      expect(lane.headers['keep-alive']).toBeUndefined();
    } finally {
      await proxy.close();
    }
  });
});

describe('connections the lane lets go', () => {
  it('holds none once its clients have closed, whichever way they left', async () => {
    const proxy = await startProxy();
    try {
      const clients = await Promise.all(Array.from({ length: 12 }, () => RawClient.open(proxy.port)));
      for (const [i, client] of clients.entries()) {
        // A third stay mid-head, the others are idle after an answer.
        client.write(i % 3 === 0 ? `GET ${origin.url}/partial HTTP/1.1\r\n` : get(`/held-${String(i)}`));
        if (i % 3 !== 0) expect((await client.readResponse()).status).toBe(200);
      }
      expect(proxy.server.laneConnections).toBe(12);
      // Idle ones leave by FIN (the usual end of a keep-alive connection) or by reset; mid-head ones by FIN.
      for (const [i, client] of clients.entries()) {
        if (i % 3 === 1) client.destroy();
        else client.socket.end();
      }
      await Promise.all(clients.map((client) => client.closed));
      await eventually(() => proxy.server.activeConnections === 0, 5_000, 'every client connection closed at the proxy');
      expect(proxy.server.laneConnections).toBe(0);
    } finally {
      await proxy.close();
    }
  });
});

describe('no header deadline (the transport option headerTimeoutMs: 0; the configuration refuses header_timeout: 0s)', () => {
  it('waits for a slow head as node:http does with headersTimeout 0, instead of answering 408', async () => {
    const proxy = await startProxy({ limits: { headerTimeoutMs: 0 } });
    try {
      const slow = await RawClient.open(proxy.port);
      const whole = get('/no-deadline');
      slow.write(whole.slice(0, 20));
      // A negative check: several of the lane's sweeps (every 50 ms here) pass with the head unfinished.
      await new Promise((resolve) => setTimeout(resolve, 300));
      slow.write(whole.slice(20));
      const answer = await slow.readResponse();
      slow.destroy();
      expect(answer.status).toBe(200);
    } finally {
      await proxy.close();
    }
  });
});
