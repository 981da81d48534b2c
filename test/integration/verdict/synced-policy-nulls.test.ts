import { describe, expect, it } from 'vitest';
import { reply } from '../../helpers/fake-control-plane.js';
import { useProxyFixture } from '../resilience/proxy-fixture.js';
import { viaProxy } from '../resilience/resilience-support.js';

/**
 * A synced policy's optional fields (name, enabled) sent as null, as a control plane serialising
 * Python's None would: null means absent (enabled then defaults to true), so the org's blocklist is
 * enforced from the first sync instead of the whole answer being thrown away.
 */
const fixture = useProxyFixture();

/** The proxy after its first sync got `policy` (blocking the origin's address) from the control plane. */
async function startWith(policy: Record<string, unknown>): Promise<number> {
  fixture.cp.routeWith('/v1/policy', reply.policies([{ id: 'p1', mode: 'blocklist', rules: { domains: ['pastebin.com'], ips: ['127.0.0.1'] }, ...policy }]));
  return (await fixture.start()).port;
}

/** What the sync said: updated, or failed and why. */
function syncLines(): string[] {
  const messages = (fixture.running?.logs.lines() ?? []).map((line) => String(line['msg']));
  return messages.filter((msg) => msg.startsWith('policy sync') || msg === 'synced policies updated');
}

describe('synced policies: null is absent', () => {
  it.each([
    ['name: null', { name: null, enabled: true }],
    ['enabled: null', { name: 'org', enabled: null }],
    ['name and enabled null', { name: null, enabled: null }],
  ])('%s: the set is applied and its block enforced (403)', async (_name, policy) => {
    const port = await startWith(policy);
    const answer = await viaProxy(port, `${fixture.origin.url}/x`);
    expect(answer.status).toBe(403);
    expect(answer.headers['x-kaizen-decision']).toBe('block');
    expect(fixture.origin.requests).toEqual([]);
    expect(syncLines()).toEqual(['synced policies updated']);
  });

  it('enabled: false still turns the policy off (200)', async () => {
    const port = await startWith({ name: null, enabled: false });
    expect((await viaProxy(port, `${fixture.origin.url}/x`)).status).toBe(200);
    expect(syncLines()).toEqual(['synced policies updated']);
  });
});
