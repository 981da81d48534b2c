import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { headOrigin, type HeadOrigin } from '../../helpers/head-origin.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';

// Pipelined requests on the node:http path (a POST is never the fast lane's): at most 8 of one
// connection's requests are relayed at once, nothing of a connection's work outlives it, and a
// destination's queue of waiting requests is bounded (src/proxy/request-pipeline.ts, origin-pool.ts).

/** Resolves after `ms`, to bound a wait that must end sooner. */
function guard(ms: number): Promise<'guard'> {
  return new Promise((resolve) => {
    setTimeout(() => {
      resolve('guard');
    }, ms).unref();
  });
}

let origin: HeadOrigin;
let proxy: StartedProxy;
const clients: RawClient[] = [];

function post(path: string): string {
  const url = `http://127.0.0.1:${String(origin.port)}${path}`;
  return `POST ${url} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\n\r\nx`;
}

async function client(): Promise<RawClient> {
  const opened = await RawClient.open(proxy.port);
  clients.push(opened);
  return opened;
}

beforeEach(async () => {
  // Silent to every request but /ok (the idle timeout, 10 s here, would be the only end of the others).
  origin = await headOrigin((socket, head) => {
    if (head.includes(' /ok ')) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  });
  proxy = await startProxy({ limits: { maxConnections: 2_000 } });
});

afterEach(async () => {
  for (const opened of clients.splice(0)) opened.destroy();
  await Promise.all([proxy.close(), origin.close()]);
});

describe('pipelined requests on the node:http path', () => {
  it('relays at most 8 of one connection at once while its client sends and reads nothing', async () => {
    const flood = await client();
    flood.write(post('/silent').repeat(200));
    await expect.poll(() => origin.sockets.size).toBe(8);
    // Not more than 8 later either (all 200 went at once before, one destination connection each).
    await guard(300);
    expect(origin.sockets.size).toBe(8);
    expect(proxy.server.originPool).toMatchObject({ active: 8, queued: 0 });

    const next = await client();
    next.write(post('/ok'));
    const answer = await next.readResponse();
    expect(answer.status).toBe(200);
    expect(answer.body).toBe('ok');
  });

  it('closes the destination connections of every pipelined request when the client goes', async () => {
    const leaving = await client();
    leaving.write(post('/silent').repeat(8));
    await expect.poll(() => origin.sockets.size).toBe(8);
    const allClosed = Promise.all([...origin.sockets].map((socket) => once(socket, 'close')));
    leaving.destroy();
    // At once, not after the idle timeout (10 s): node:http closes only the first response itself.
    expect(await Promise.race([allClosed.then(() => 'closed' as const), guard(2_000)])).toBe('closed');
    await expect.poll(() => proxy.server.originPool).toMatchObject({ active: 0, queued: 0 });
  });

  it('still answers every pipelined request of a client that reads', async () => {
    const reader = await client();
    reader.write(post('/ok').repeat(100));
    for (let i = 0; i < 100; i++) expect((await reader.readResponse()).body).toBe('ok');
  });
});

describe("a destination's queue", () => {
  it('loses a waiting request as soon as its client goes, and answers 503 KZP_ERR_LIMIT_DESTINATION past 1,024', async () => {
    // 256 busy destination connections, from clients that stay.
    for (let i = 0; i < 32; i++) (await client()).write(post('/silent').repeat(8));
    await expect.poll(() => proxy.server.originPool).toMatchObject({ active: 256, queued: 0 });

    const leaving = await client();
    leaving.write(post('/silent').repeat(8));
    await expect.poll(() => proxy.server.originPool.queued).toBe(8);
    leaving.destroy();
    // Out of the queue at once, not when a busy connection frees (the idle timeout, 10 s).
    await expect.poll(() => proxy.server.originPool.queued, { timeout: 2_000 }).toBe(0);

    for (let i = 0; i < 128; i++) (await client()).write(post('/silent').repeat(8));
    await expect.poll(() => proxy.server.originPool.queued).toBe(1_024);
    const probe = await client();
    probe.write(post('/silent'));
    const answer = await probe.readResponse();
    expect(answer.status).toBe(503);
    expect(answer.headers['x-kaizen-error']).toBe('KZP_ERR_LIMIT_DESTINATION');
    expect(answer.headers['retry-after']).toMatch(/^\d+$/);
    expect(proxy.server.originPool).toMatchObject({ active: 256, queued: 1_024 });
  });
});
