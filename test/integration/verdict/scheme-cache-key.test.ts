import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reply, startFakeControlPlane, type FakeControlPlane, type RecordedRequest } from '../../helpers/fake-control-plane.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { API_KEY, resilienceConfig, startResilientProxy, viaProxy, type RunningProxy } from '../resilience/resilience-support.js';

/**
 * A WebSocket upgrade is an `http` GET to the same target as a plain GET, told apart only by its
 * scheme (ws): the verdict cache keeps their verdicts apart, so neither answers for the other.
 */
let cp: FakeControlPlane;
let origin: Origin;
let running: RunningProxy | null = null;

beforeEach(async () => {
  cp = await startFakeControlPlane();
  cp.routeWith('/v1/policy', reply.policies([]));
  origin = await startOrigin();
  // Verdicts stay cached for the whole test.
  running = await startResilientProxy(resilienceConfig({ url: cp.url, cache: { allowTtlMs: 600_000, blockTtlMs: 600_000 } }));
});

afterEach(async () => {
  if (running !== null) {
    await running.proxy.close();
    expect(running.logs.text()).not.toContain(API_KEY);
    running = null;
  }
  await cp.close();
  await origin.close();
});

function proxyPort(): number {
  if (running === null) throw new Error('the proxy starts before each test');
  return running.port;
}

/** The status line of the proxy's answer to a WebSocket upgrade of `path` on the origin. */
async function upgrade(path: string): Promise<string> {
  const client = await RawClient.open(proxyPort());
  client.write(
    `GET ${origin.url}${path} HTTP/1.1\r\nHost: ${new URL(origin.url).host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  const head = await client.readUntil('\r\n\r\n');
  client.socket.destroy();
  return head.split('\r\n')[0] ?? '';
}

/** Each verdict POST as the scheme it asked about and the decision it was given. */
function asked(): { scheme: unknown; answer: unknown }[] {
  return cp.requests
    .filter((seen) => seen.path === '/v1/verdicts')
    .map((seen: RecordedRequest) => ({
      scheme: (seen.body as { action?: { metadata?: { scheme?: unknown } } }).action?.metadata?.scheme,
      answer: seen.reply.kind === 'json' ? (seen.reply.body as { decision?: unknown }).decision : undefined,
    }));
}

describe('the verdict cache keys on the scheme', () => {
  it('a cached allow for a plain GET does not let a ws upgrade to the same target through: it is asked, and blocked', async () => {
    cp.respondWith(reply.allow(), reply.block());
    expect((await viaProxy(proxyPort(), `${origin.url}/plain`)).status).toBe(200);
    expect(await upgrade('/socket')).toMatch(/^HTTP\/1\.1 403 /);
    expect(asked()).toEqual([
      { scheme: 'http', answer: 'allow' },
      { scheme: 'ws', answer: 'block' },
    ]);
    expect(origin.requests.map((seen) => seen.url)).toEqual(['/plain']);
    // Each verdict is still cached under its own key.
    expect((await viaProxy(proxyPort(), `${origin.url}/plain-again`)).status).toBe(200);
    expect(await upgrade('/socket-again')).toMatch(/^HTTP\/1\.1 403 /);
    expect(asked()).toHaveLength(2);
  });

  it('a cached ws block does not refuse a plain GET to the same target', async () => {
    cp.respondWith(reply.block(), reply.allow());
    expect(await upgrade('/socket')).toMatch(/^HTTP\/1\.1 403 /);
    expect((await viaProxy(proxyPort(), `${origin.url}/plain`)).status).toBe(200);
    expect(asked()).toEqual([
      { scheme: 'ws', answer: 'block' },
      { scheme: 'http', answer: 'allow' },
    ]);
  });
});
