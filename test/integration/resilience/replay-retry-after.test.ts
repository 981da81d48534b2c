import { describe, expect, it } from 'vitest';
import { useReplayFixture } from './proxy-fixture.js';
import { reply, type RecordedRequest } from '../../helpers/fake-control-plane.js';
import { eventIdOf, eventually, scrape, viaProxy, type RunningProxy } from './resilience-support.js';

/**
 * When the spool replays an action whose live call failed: not at once, not before the control
 * plane's Retry-After (from a live call or a replay), and not sooner for a live success meanwhile.
 * Timings are lower bounds only (a loaded machine can only make things later).
 */
const DEADLINE_MS = 500;
/** Timer and scheduling slack under a lower bound. */
const SLACK_MS = 100;

const fixture = useReplayFixture(DEADLINE_MS);
const start = (): Promise<RunningProxy> => fixture.start();

const verdictPosts = (): RecordedRequest[] => fixture.cp.requests.filter((seen) => seen.path === '/v1/verdicts');

/** The verdict POSTs that carried the action requested at `path`, in arrival order. */
function postsFor(path: string): RecordedRequest[] {
  return verdictPosts().filter((seen) => (seen.body as { action?: { metadata?: { path?: string } } }).action?.metadata?.path === path);
}

async function replayedOnce(proxy: RunningProxy): Promise<void> {
  await eventually(async () => (await scrape(proxy.proxy)).get('kaizen_proxy_spool_replayed_total') === 1, 20_000, 'one replay');
}

describe('spool replay and the control plane\'s Retry-After', () => {
  it('a live 429 with Retry-After holds the replay until then, a live success meanwhile included', async () => {
    const proxy = await start();
    fixture.cp.respondWith(reply.tooMany('3'), reply.allow());
    const refused = await viaProxy(proxy.port, `${fixture.origin.url}/limited`);
    expect(refused.status).toBe(503);
    // The control plane answers again at once: a live success (which kicks the replayer) must not
    // cut the 3 s the control plane asked for.
    expect((await viaProxy(proxy.port, `${fixture.origin.url}/meanwhile`)).status).toBe(200);
    await replayedOnce(proxy);
    const [live, replayed, ...more] = postsFor('/limited');
    expect(more).toEqual([]);
    expect(live?.reply).toMatchObject({ status: 429 });
    expect(eventIdOf(replayed?.body)).toBe(eventIdOf(live?.body));
    expect((replayed?.at ?? 0) - (live?.at ?? 0)).toBeGreaterThanOrEqual(3000 - SLACK_MS);
  });

  it('a live call that failed without Retry-After: its spooled action waits for the backoff (1 s), not sent at once', async () => {
    const proxy = await start();
    fixture.cp.respondWith(reply.status(500), reply.status(500), reply.allow());
    expect((await viaProxy(proxy.port, `${fixture.origin.url}/failed`)).status).toBe(503);
    await replayedOnce(proxy);
    const [live, retry, replayed, ...more] = postsFor('/failed');
    expect(more).toEqual([]);
    expect([live?.reply, retry?.reply]).toMatchObject([{ status: 500 }, { status: 500 }]);
    expect((replayed?.at ?? 0) - (retry?.at ?? 0)).toBeGreaterThanOrEqual(1000 - SLACK_MS);
  });

  it('a replay answered 429 with Retry-After holds the next probe past it (beyond the 2 s backoff)', async () => {
    const proxy = await start();
    fixture.cp.respondWith(reply.status(500), reply.status(500), reply.tooMany('4'), reply.allow());
    expect((await viaProxy(proxy.port, `${fixture.origin.url}/probe`)).status).toBe(503);
    await replayedOnce(proxy);
    const [, , probe, replayed, ...more] = postsFor('/probe');
    expect(more).toEqual([]);
    expect(probe?.reply).toMatchObject({ status: 429 });
    expect((replayed?.at ?? 0) - (probe?.at ?? 0)).toBeGreaterThanOrEqual(4000 - SLACK_MS);
  });

  it('a replay answered 404 (a missing route) with Retry-After holds the next probe past it too', async () => {
    const proxy = await start();
    fixture.cp.respondWith(reply.status(500), reply.status(500), reply.status(404, { 'retry-after': '4' }), reply.allow());
    expect((await viaProxy(proxy.port, `${fixture.origin.url}/route-missing`)).status).toBe(503);
    await replayedOnce(proxy);
    const [, , probe, replayed, ...more] = postsFor('/route-missing');
    expect(more).toEqual([]);
    expect(probe?.reply).toMatchObject({ status: 404 });
    expect((replayed?.at ?? 0) - (probe?.at ?? 0)).toBeGreaterThanOrEqual(4000 - SLACK_MS);
  });

  it('a live 410 with Retry-After holds the replay until then, a live success meanwhile included', async () => {
    const proxy = await start();
    fixture.cp.respondWith(reply.status(410, { 'retry-after': '3' }), reply.allow());
    expect((await viaProxy(proxy.port, `${fixture.origin.url}/gone`)).status).toBe(503);
    expect((await viaProxy(proxy.port, `${fixture.origin.url}/meanwhile`)).status).toBe(200);
    await replayedOnce(proxy);
    const [live, replayed, ...more] = postsFor('/gone');
    expect(more).toEqual([]);
    expect(live?.reply).toMatchObject({ status: 410 });
    expect(eventIdOf(replayed?.body)).toBe(eventIdOf(live?.body));
    expect((replayed?.at ?? 0) - (live?.at ?? 0)).toBeGreaterThanOrEqual(3000 - SLACK_MS);
  });
});
