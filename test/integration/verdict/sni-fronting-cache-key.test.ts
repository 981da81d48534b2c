import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { reply } from '../../helpers/fake-control-plane.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { createTestCa, type TestCa } from '../../helpers/test-ca.js';
import { exchange, tlsThrough } from '../intercept/tunnel-client.js';
import { useProxyFixture } from '../resilience/proxy-fixture.js';

/**
 * With tls.sni_mismatch: allow, a ClientHello naming another host than its CONNECT is decided as a
 * `connect` action of its own (metadata.sni, metadata.connect_host). The verdict cache keeps that
 * action apart from a plain CONNECT to the SNI's host, so the control plane hears of the fronting
 * attempt and its verdict answers for neither the plain CONNECT nor another fronting attempt.
 */
let ca: TestCa;
let origin: Origin;
const fixture = useProxyFixture();

beforeAll(async () => {
  ca = await createTestCa();
  origin = await startOrigin({ tls: ca });
});

afterAll(async () => {
  await origin.close();
  await ca.remove();
});

beforeEach(async () => {
  // Verdicts stay cached for the whole test.
  await fixture.start({ cache: { allowTtlMs: 600_000, blockTtlMs: 600_000 }, network: { allowPrivate: ['127.0.0.0/8', '::1/128'] } }, { tls: { sniMismatch: 'allow' } });
});

function proxyPort(): number {
  if (fixture.running === null) throw new Error('the proxy starts before each test');
  return fixture.running.port;
}

/** GET / over TLS naming `servername` in a tunnel to `connectHost`; its status, or the TLS failure's message. */
async function fetchThrough(connectHost: string, servername: string): Promise<string> {
  try {
    const tls = await tlsThrough(proxyPort(), `${connectHost}:${origin.port}`, { ca: ca.caPem, servername });
    const { status } = await exchange(tls, `GET / HTTP/1.1\r\nHost: ${servername}\r\nConnection: close\r\n\r\n`);
    tls.destroy();
    return String(status);
  } catch (error) {
    return error instanceof Error ? error.message : 'failed';
  }
}

/** Each verdict POST as the action's target and fronting metadata, and the decision it was given. */
function asked(): { target: unknown; sni: unknown; connectHost: unknown; answer: unknown }[] {
  return fixture.cp.requests
    .filter((seen) => seen.path === '/v1/verdicts')
    .map((seen) => {
      const action = (seen.body as { action?: { target?: unknown; metadata?: { sni?: unknown; connect_host?: unknown } } }).action;
      return {
        target: action?.target,
        sni: action?.metadata?.sni,
        connectHost: action?.metadata?.connect_host,
        answer: seen.reply.kind === 'json' ? (seen.reply.body as { decision?: unknown }).decision : undefined,
      };
    });
}

describe('the verdict cache keys a fronting attempt apart from a plain CONNECT', () => {
  it('a cached allow for CONNECT localhost does not answer for a tunnel to 127.0.0.1 naming localhost: it is asked, and blocked', async () => {
    fixture.cp.respondWith(reply.allow(), reply.allow(), reply.block());
    const plain = `localhost:${origin.port}`;
    const direct = `127.0.0.1:${origin.port}`;
    expect(await fetchThrough('localhost', 'localhost')).toBe('200');
    expect(await fetchThrough('127.0.0.1', 'localhost')).toMatch(/alert access denied|socket hang up|ECONNRESET|closed/);
    expect(asked()).toEqual([
      { target: plain, sni: undefined, connectHost: undefined, answer: 'allow' },
      { target: direct, sni: undefined, connectHost: undefined, answer: 'allow' },
      { target: plain, sni: 'localhost', connectHost: '127.0.0.1', answer: 'block' },
    ]);
    expect(origin.requests).toHaveLength(1);
    // Each verdict is still cached under its own key: nothing more is asked.
    expect(await fetchThrough('localhost', 'localhost')).toBe('200');
    expect(await fetchThrough('127.0.0.1', 'localhost')).toMatch(/alert access denied|socket hang up|ECONNRESET|closed/);
    expect(asked()).toHaveLength(3);
  });

  it('a cached block of a fronting attempt does not refuse a plain CONNECT to the SNI host', async () => {
    fixture.cp.respondWith(reply.allow(), reply.block(), reply.allow());
    expect(await fetchThrough('127.0.0.1', 'localhost')).toMatch(/alert access denied|socket hang up|ECONNRESET|closed/);
    expect(await fetchThrough('localhost', 'localhost')).toBe('200');
    expect(asked()).toEqual([
      { target: `127.0.0.1:${origin.port}`, sni: undefined, connectHost: undefined, answer: 'allow' },
      { target: `localhost:${origin.port}`, sni: 'localhost', connectHost: '127.0.0.1', answer: 'block' },
      { target: `localhost:${origin.port}`, sni: undefined, connectHost: undefined, answer: 'allow' },
    ]);
  });
});
