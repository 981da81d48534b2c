import { describe, expect, it } from 'vitest';
import { reply } from '../../helpers/fake-control-plane.js';
import { useProxyFixture } from '../resilience/proxy-fixture.js';
import { viaProxy } from '../resilience/resilience-support.js';

/**
 * A synced answer of a threat feed's size (100,000 domains, 30,000 ranges, about 2.5 MB) goes
 * through the paced parse and compile (runtime/steps.ts) in the whole proxy: its last entries are
 * enforced like its first, and a feed that does not list the origin leaves it reachable.
 */
const fixture = useProxyFixture();
const DOMAINS = Array.from({ length: 100_000 }, (_, i) => `feed-${i}.example`);
const RANGES = Array.from({ length: 30_000 }, (_, i) => `100.${64 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}/32`);

async function startWithFeed(ips: readonly string[]): Promise<number> {
  fixture.cp.routeWith('/v1/policy', reply.policies([{ name: 'feed', mode: 'blocklist', rules: { domains: DOMAINS, ips } }]));
  const { port } = await fixture.start();
  const messages = (fixture.running?.logs.lines() ?? []).map((line) => String(line['msg']));
  expect(messages.filter((msg) => msg.startsWith('policy sync') || msg === 'synced policies updated')).toEqual(['synced policies updated']);
  return port;
}

describe('a synced feed of 100,000 domains', () => {
  it('blocks its first and last domains and its last range, before any connection (403)', async () => {
    const port = await startWithFeed([...RANGES.slice(0, -1), '127.0.0.1']);
    for (const host of ['feed-0.example', 'www.feed-99999.example']) {
      const answer = await viaProxy(port, `http://${host}/x`);
      expect(answer.status).toBe(403);
      expect(answer.headers['x-kaizen-decision']).toBe('block');
    }
    const origin = await viaProxy(port, `${fixture.origin.url}/x`);
    expect(origin.status).toBe(403);
    expect(fixture.origin.requests).toEqual([]);
  });

  it('leaves a destination it does not list reachable (200)', async () => {
    const port = await startWithFeed(RANGES);
    const origin = await viaProxy(port, `${fixture.origin.url}/x`);
    expect(origin.status).toBe(200);
    expect(fixture.origin.requests).toHaveLength(1);
    expect((await viaProxy(port, 'http://feed-50000.example/x')).status).toBe(403);
  });
});
