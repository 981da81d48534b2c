import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { interceptedHosts } from '../../../src/app/interception-setup.js';
import { initCa } from '../../../src/intercept/ca-create.js';
import { createInterceptor } from '../../../src/intercept/interceptor.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { howItEnds } from '../../helpers/socket-end.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';
import { createTestCa } from '../../helpers/test-ca.js';
import { exchange, tlsThrough } from '../intercept/tunnel-client.js';
import { startTransparent } from '../transparent/direct-listener.js';

/**
 * Wrap mode's stop (close without waitForTunnels: the command is gone). A connection that has sent
 * nothing yet is not waited for: nobody is left to send on it. One whose head has begun is still a
 * request in flight: served, within the drain. A serve's drain waits for both (serve-drain-heads.test.ts).
 */
const DRAIN_MS = 30_000;
const LIMITS = { drainTimeoutMs: DRAIN_MS, headerTimeoutMs: 20_000 };
const toClose: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const close of toClose.splice(0).reverse()) await close();
});

async function origin(): Promise<Origin> {
  const started = await startOrigin();
  toClose.push(() => started.close());
  return started;
}

/** A request answered on its own connection to `port`: connections opened before it were accepted (one listener accepts in order). */
async function answered(port: number, target: Origin, absolute: boolean): Promise<void> {
  const client = await RawClient.open(port);
  const path = absolute ? target.url : '';
  client.write(`GET ${path}/other HTTP/1.1\r\nHost: 127.0.0.1:${String(target.port)}\r\nConnection: close\r\n\r\n`);
  expect((await client.readResponse()).status).toBe(200);
  client.destroy();
}

function drainEnded(proxy: StartedProxy): Record<string, unknown> | undefined {
  return proxy.logs.lines.find((line) => line.msg === 'drain ended');
}

describe('wrap mode stop with connections waiting for a head', () => {
  it('proxy port: a connection that has sent nothing is closed at once, not waited for', async () => {
    const target = await origin();
    const proxy = await startProxy({ limits: LIMITS });
    toClose.push(() => proxy.close());
    const silent = await RawClient.open(proxy.port);
    const ends = howItEnds(silent.socket);
    await answered(proxy.port, target, true);
    expect(proxy.server.inFlight).toBe(1);

    await proxy.server.close({ waitForTunnels: false });
    expect(drainEnded(proxy)).toMatchObject({ ended: 'finished', in_flight_cut: 0 });
    expect(drainEnded(proxy)?.['drain_ms']).toBeLessThan(DRAIN_MS / 4);
    expect(await ends).toBe('end');
  });

  it('proxy port: a head begun is still served, its response saying Connection: close', async () => {
    const target = await origin();
    const proxy = await startProxy({ limits: LIMITS });
    toClose.push(() => proxy.close());
    const begun = await RawClient.open(proxy.port);
    begun.write('GE');
    // Read by then: its bytes came before this connection was even opened.
    await answered(proxy.port, target, true);

    const closing = proxy.server.close({ waitForTunnels: false });
    begun.write(`T ${target.url}/late HTTP/1.1\r\nHost: 127.0.0.1:${String(target.port)}\r\n\r\n`);
    const answer = await begun.readResponse();
    expect(answer.status).toBe(200);
    expect(answer.headers['connection']).toBe('close');
    await closing;
    expect(drainEnded(proxy)).toMatchObject({ ended: 'finished', in_flight_cut: 0 });
  });

  it('transparent listener: a connection whose first flight has not begun is closed at once, not waited for', async () => {
    const target = await origin();
    const transparent = await startTransparent({ limits: LIMITS });
    toClose.push(() => transparent.close());
    const silent = await RawClient.open(transparent.port);
    const ends = howItEnds(silent.socket);
    await answered(transparent.port, target, false);
    expect(transparent.proxy.server.inFlight).toBe(1);

    await transparent.proxy.server.close({ waitForTunnels: false });
    expect(drainEnded(transparent.proxy)).toMatchObject({ ended: 'finished', in_flight_cut: 0 });
    expect(drainEnded(transparent.proxy)?.['drain_ms']).toBeLessThan(DRAIN_MS / 4);
    expect(await ends).toBe('end');
  });

  it('an intercepted session whose TLS is up but which has sent no request is not waited for', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kzp-wrap-stop-heads-'));
    toClose.push(() => rm(dir, { recursive: true, force: true }));
    const ca = await initCa(join(dir, 'certs'), { name: 'kaizen-proxy wrap stop test CA', days: 2, force: false });
    const originCa = await createTestCa(['api.example.test']);
    toClose.push(() => originCa.remove());
    const target = await startOrigin({ tls: originCa });
    toClose.push(() => target.close());
    const proxy = await startProxy({
      resolve: () => Promise.resolve({ ok: true, addresses: ['127.0.0.1'] }),
      upstreamCa: [originCa.caPem],
      interceptor: createInterceptor({ ca, intercepts: interceptedHosts(['api.example.test']) }),
      limits: LIMITS,
      network: { idleTimeoutMs: 2 * DRAIN_MS },
    });
    toClose.push(() => proxy.close());
    const authority = `api.example.test:${String(target.port)}`;
    const session = (): ReturnType<typeof tlsThrough> => tlsThrough(proxy.port, authority, { ca: ca.certPem, servername: 'api.example.test' });
    const silent = await session();
    silent.on('error', () => undefined);
    // Another session's answer: the silent one's handshake is done on the proxy's side too by then.
    const other = await session();
    expect((await exchange(other, 'GET /other HTTP/1.1\r\nHost: api.example.test\r\nConnection: close\r\n\r\n')).status).toBe(200);

    await proxy.server.close({ waitForTunnels: false });
    expect(drainEnded(proxy)).toMatchObject({ ended: 'finished', in_flight_cut: 0 });
    expect(drainEnded(proxy)?.['drain_ms']).toBeLessThan(DRAIN_MS / 4);
  });
});
