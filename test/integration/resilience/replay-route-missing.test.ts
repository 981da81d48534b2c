import { describe, expect, it } from 'vitest';
import { useReplayFixture } from './proxy-fixture.js';
import { reply, type RecordedRequest } from '../../helpers/fake-control-plane.js';
import { counter, deliveries, eventIdOf, eventually, type RunningProxy, scrape, spoolDropped, viaProxy } from './resilience-support.js';

/**
 * Which answers to a spooled action drop it for good: only those that refuse the entry itself
 * (400, 413, 415, 422). A missing route (404, 405, 410, 501: an ingress mid-deploy, a wrong path
 * prefix) says nothing about the entry, so replay holds and backs off as in an outage.
 */
const fixture = useReplayFixture(500);
const start = (): Promise<RunningProxy> => fixture.start();

const pathOf = (seen: RecordedRequest): string => (seen.body as { action?: { metadata?: { path?: string } } }).action?.metadata?.path ?? '';

/** Three actions refused (fail closed) and spooled during a 503 outage. */
async function spoolDuringOutage(proxy: RunningProxy): Promise<void> {
  fixture.cp.respondWith(reply.status(503));
  const answers = await Promise.all([0, 1, 2].map((i) => viaProxy(proxy.port, `${fixture.origin.url}/outage/${i}`)));
  expect(answers.map((answer) => answer.status)).toEqual([503, 503, 503]);
  await eventually(async () => (await counter(proxy, 'kaizen_proxy_spool_spooled_total')) === 3, 10_000, '3 spooled');
}

describe('spool replay when the verdict route is missing', () => {
  it.each([404, 405, 410, 501])('%i: nothing is dropped, replay holds and probes again; once the route answers, all is delivered', async (status) => {
    const proxy = await start();
    await spoolDuringOutage(proxy);

    fixture.cp.respondWith(reply.status(status));
    // A live call meets the missing route too: it fails (fail closed), and its action is spooled, not dropped.
    expect((await viaProxy(proxy.port, `${fixture.origin.url}/missing`)).status).toBe(503);
    await eventually(async () => (await counter(proxy, 'kaizen_proxy_spool_spooled_total')) === 4, 10_000, '4 spooled');
    // Two probe rounds (each starts with the oldest entry again), or a drop, whichever comes first.
    const probedTwice = (): boolean => {
      const sent = new Map<string, number>();
      for (const seen of fixture.cp.requests) {
        const id = eventIdOf(seen.body);
        if (id !== undefined && pathOf(seen).startsWith('/outage/') && seen.reply.kind === 'json' && seen.reply.status === status) sent.set(id, (sent.get(id) ?? 0) + 1);
      }
      return [...sent.values()].some((count) => count >= 2);
    };
    await eventually(async () => probedTwice() || (await spoolDropped(proxy)) > 0, 15_000, 'two probes answered with the missing route');
    expect(await spoolDropped(proxy)).toBe(0);
    expect(await counter(proxy, 'kaizen_proxy_spool_pending_entries')).toBe(4);
    expect(proxy.logs.lines()).not.toContainEqual(expect.objectContaining({ msg: expect.stringContaining('refused a spooled action for good') as unknown }));

    fixture.cp.respondWith(reply.allow());
    // A live success kicks the replayer out of its backoff.
    expect((await viaProxy(proxy.port, `${fixture.origin.url}/back`)).status).toBe(200);
    await eventually(async () => (await counter(proxy, 'kaizen_proxy_spool_pending_entries')) === 0, 15_000, 'the spool drained');
    expect(await counter(proxy, 'kaizen_proxy_spool_replayed_total')).toBe(4);
    expect(await spoolDropped(proxy)).toBe(0);
    const seen = [...deliveries(fixture.cp).values()];
    expect(seen).toHaveLength(5);
    expect(seen.every((entry) => entry.delivered === 1)).toBe(true);
  });

  it('a 400 refuses the entry itself: that one is dropped, the rest delivered', async () => {
    const proxy = await start();
    await spoolDuringOutage(proxy);

    fixture.cp.respondWith(reply.status(400), reply.allow());
    await eventually(async () => (await counter(proxy, 'kaizen_proxy_spool_pending_entries')) === 0, 15_000, 'the spool drained');
    const metrics = await scrape(proxy.proxy);
    expect(metrics.get('kaizen_proxy_spool_dropped_total{reason="rejected"}')).toBe(1);
    expect(metrics.get('kaizen_proxy_spool_replayed_total')).toBe(2);
    expect(proxy.logs.lines()).toContainEqual(expect.objectContaining({ level: 'warn', code: 'KZP_ERR_SPOOL', error: 'KZP_ERR_CONTROL_PLANE_HTTP' }));
  });
});
