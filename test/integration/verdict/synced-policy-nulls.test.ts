import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reply, startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { API_KEY, resilienceConfig, startResilientProxy, viaProxy, type RunningProxy } from '../resilience/resilience-support.js';

/**
 * A synced policy's optional fields (name, enabled) sent as null, as a control plane serialising
 * Python's None would: null means absent (enabled then defaults to true), so the org's blocklist is
 * enforced from the first sync instead of the whole answer being thrown away.
 */
let cp: FakeControlPlane;
let origin: Origin;
let running: RunningProxy | null = null;

beforeEach(async () => {
  cp = await startFakeControlPlane();
  origin = await startOrigin();
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

/** The proxy after its first sync got `policy` (blocking the origin's address) from the control plane. */
async function startWith(policy: Record<string, unknown>): Promise<number> {
  cp.routeWith('/v1/policy', reply.policies([{ id: 'p1', mode: 'blocklist', rules: { domains: ['pastebin.com'], ips: ['127.0.0.1'] }, ...policy }]));
  running = await startResilientProxy(resilienceConfig({ url: cp.url }));
  return running.port;
}

/** What the sync said: updated, or failed and why. */
function syncLines(): string[] {
  const messages = (running?.logs.lines() ?? []).map((line) => String(line['msg']));
  return messages.filter((msg) => msg.startsWith('policy sync') || msg === 'synced policies updated');
}

describe('synced policies: null is absent', () => {
  it.each([
    ['name: null', { name: null, enabled: true }],
    ['enabled: null', { name: 'org', enabled: null }],
    ['name and enabled null', { name: null, enabled: null }],
  ])('%s: the set is applied and its block enforced (403)', async (_name, policy) => {
    const port = await startWith(policy);
    const answer = await viaProxy(port, `${origin.url}/x`);
    expect(answer.status).toBe(403);
    expect(answer.headers['x-kaizen-decision']).toBe('block');
    expect(origin.requests).toEqual([]);
    expect(syncLines()).toEqual(['synced policies updated']);
  });

  it('enabled: false still turns the policy off (200)', async () => {
    const port = await startWith({ name: null, enabled: false });
    expect((await viaProxy(port, `${origin.url}/x`)).status).toBe(200);
    expect(syncLines()).toEqual(['synced policies updated']);
  });
});
