import { describe, expect, it } from 'vitest';
import { useReplayFixture } from './proxy-fixture.js';
import { reply } from '../../helpers/fake-control-plane.js';
import { counter, deliveries, eventually, type RunningProxy, scrape, viaProxy } from './resilience-support.js';

/**
 * A 2xx without a body (or with whitespace only) to POST /v1/verdicts is "recorded, no opinion",
 * whatever the status: the local verdict stands, and a spooled action it answers is acknowledged.
 */
const fixture = useReplayFixture(500);
const start = (): Promise<RunningProxy> => fixture.start();

describe('an empty 2xx answer to a verdict', () => {
  it.each([
    ['200, empty', 200, ''],
    ['202, empty', 202, ''],
    ['201, whitespace only', 201, ' \r\n\t'],
  ])('%s: recorded, the local verdict stands (the origin answers)', async (_name, status, body) => {
    const proxy = await start();
    fixture.cp.respondWith(reply.blank(status, body));
    const answer = await viaProxy(proxy.port, `${fixture.origin.url}/empty`);
    expect(answer.status).toBe(200);
    expect(fixture.origin.requests).toHaveLength(1);
    expect(fixture.cp.requests.filter((seen) => seen.path === '/v1/verdicts')).toHaveLength(1);
    expect(proxy.logs.lines()).toContainEqual(expect.objectContaining({ msg: 'decision', decision: 'allow', source: 'local' }));
    expect(proxy.logs.text()).not.toContain('KZP_ERR_CONTROL_PLANE_ANSWER');
    expect(await counter(proxy, 'kaizen_proxy_spool_spooled_total')).toBe(0);
  });

  it('a non-empty body that is not JSON stays a malformed answer: fail closed', async () => {
    const proxy = await start();
    fixture.cp.respondWith(reply.blank(200, 'ok'));
    expect((await viaProxy(proxy.port, `${fixture.origin.url}/not-json`)).status).toBe(503);
    expect(fixture.origin.requests).toHaveLength(0);
  });

  it('spooled actions replayed into an empty 202 are acknowledged: the spool drains', async () => {
    const proxy = await start();
    fixture.cp.respondWith(reply.status(503));
    const answers = await Promise.all([0, 1, 2].map((i) => viaProxy(proxy.port, `${fixture.origin.url}/outage/${i}`)));
    expect(answers.map((answer) => answer.status)).toEqual([503, 503, 503]);
    await eventually(async () => (await counter(proxy, 'kaizen_proxy_spool_spooled_total')) === 3, 10_000, '3 spooled');

    fixture.cp.respondWith(reply.blank(202));
    await eventually(async () => (await counter(proxy, 'kaizen_proxy_spool_pending_entries')) === 0, 15_000, 'the spool drained');
    const metrics = await scrape(proxy.proxy);
    expect(metrics.get('kaizen_proxy_spool_replayed_total')).toBe(3);
    for (const [name, value] of metrics) if (name.startsWith('kaizen_proxy_spool_dropped_total')) expect(value).toBe(0);
    const seen = [...deliveries(fixture.cp).values()];
    expect(seen).toHaveLength(3);
    expect(seen.every((entry) => entry.delivered === 1)).toBe(true);
  });
});
