import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reply, startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { API_KEY, deliveries, eventually, resilienceConfig, scrape, startResilientProxy, viaProxy, type RunningProxy } from './resilience-support.js';

/**
 * A 2xx without a body (or with whitespace only) to POST /v1/verdicts is "recorded, no opinion",
 * whatever the status: the local verdict stands, and a spooled action it answers is acknowledged.
 */
let cp: FakeControlPlane;
let origin: Origin;
let running: RunningProxy | null = null;

beforeEach(async () => {
  cp = await startFakeControlPlane();
  cp.routeWith('/v1/policy', reply.policies([]));
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

async function start(): Promise<RunningProxy> {
  running = await startResilientProxy(resilienceConfig({ url: cp.url, timeoutMs: 500 }));
  return running;
}

async function counter(proxy: RunningProxy, name: string): Promise<number> {
  return (await scrape(proxy.proxy)).get(name) ?? 0;
}

describe('an empty 2xx answer to a verdict', () => {
  it.each([
    ['200, empty', 200, ''],
    ['202, empty', 202, ''],
    ['201, whitespace only', 201, ' \r\n\t'],
  ])('%s: recorded, the local verdict stands (the origin answers)', async (_name, status, body) => {
    const proxy = await start();
    cp.respondWith(reply.blank(status, body));
    const answer = await viaProxy(proxy.port, `${origin.url}/empty`);
    expect(answer.status).toBe(200);
    expect(origin.requests).toHaveLength(1);
    expect(cp.requests.filter((seen) => seen.path === '/v1/verdicts')).toHaveLength(1);
    expect(proxy.logs.lines()).toContainEqual(expect.objectContaining({ msg: 'decision', decision: 'allow', source: 'local' }));
    expect(proxy.logs.text()).not.toContain('KZP_ERR_CONTROL_PLANE_ANSWER');
    expect(await counter(proxy, 'kaizen_proxy_spool_spooled_total')).toBe(0);
  });

  it('a non-empty body that is not JSON stays a malformed answer: fail closed', async () => {
    const proxy = await start();
    cp.respondWith(reply.blank(200, 'ok'));
    expect((await viaProxy(proxy.port, `${origin.url}/not-json`)).status).toBe(503);
    expect(origin.requests).toHaveLength(0);
  });

  it('spooled actions replayed into an empty 202 are acknowledged: the spool drains', async () => {
    const proxy = await start();
    cp.respondWith(reply.status(503));
    const answers = await Promise.all([0, 1, 2].map((i) => viaProxy(proxy.port, `${origin.url}/outage/${i}`)));
    expect(answers.map((answer) => answer.status)).toEqual([503, 503, 503]);
    await eventually(async () => (await counter(proxy, 'kaizen_proxy_spool_spooled_total')) === 3, 10_000, '3 spooled');

    cp.respondWith(reply.blank(202));
    await eventually(async () => (await counter(proxy, 'kaizen_proxy_spool_pending_entries')) === 0, 15_000, 'the spool drained');
    const metrics = await scrape(proxy.proxy);
    expect(metrics.get('kaizen_proxy_spool_replayed_total')).toBe(3);
    for (const [name, value] of metrics) if (name.startsWith('kaizen_proxy_spool_dropped_total')) expect(value).toBe(0);
    const seen = [...deliveries(cp).values()];
    expect(seen).toHaveLength(3);
    expect(seen.every((entry) => entry.delivered === 1)).toBe(true);
  });
});
