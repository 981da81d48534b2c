import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reply, startFakeControlPlane, type FakeControlPlane, type FakeReply } from '../../helpers/fake-control-plane.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { API_KEY, counter, deliveredSends, deliveries, eventually, resilienceConfig, type ResilienceConfig, type RunningProxy, scrape, startResilientProxy, tempDataDir, viaProxy } from './resilience-support.js';
import { startSwitchableFront, type SwitchableFront } from './switchable-front.js';

const DEADLINE_MS = 500;
/** The deadline plus room for a loaded 2-core machine: a client is never left waiting beyond this. */
const ANSWER_BOUND_MS = DEADLINE_MS + 4000;

type Fault = 'down' | FakeReply;
const FAULTS: readonly (readonly [string, () => Fault])[] = [
  ['down (connection refused)', () => 'down'],
  ['slow past the deadline', () => reply.slow(DEADLINE_MS * 4, reply.allow())],
  ['500', () => reply.status(500)],
  ['502', () => reply.status(502)],
  ['503', () => reply.status(503)],
  ['429 with a Retry-After beyond the deadline', () => reply.tooMany('2')],
  ['401', () => reply.unauthorized()],
  // Not a garbage 2xx: the control plane has the report, so nothing is spooled (live-unreadable.test.ts).
  ['a truncated body', () => reply.truncated()],
  ['a reset before the answer', () => reply.reset()],
  // On every attempt: the one retry meets it again (a single one is absorbed: see below).
  ['a reset mid-answer', () => reply.resetMidBody()],
];

let cp: FakeControlPlane;
let front: SwitchableFront;
let origin: Origin;
const proxies: RunningProxy[] = [];

beforeEach(async () => {
  cp = await startFakeControlPlane();
  front = await startSwitchableFront(Number(new URL(cp.url).port));
  origin = await startOrigin();
});

afterEach(async () => {
  for (const running of proxies.splice(0)) {
    await running.proxy.close();
    expect(running.logs.text()).not.toContain(API_KEY);
    expect(running.logs.lines().filter((line) => line['level'] === 'fatal')).toEqual([]);
  }
  await front.close();
  await cp.close();
  await origin.close();
});

async function start(changes: Partial<ResilienceConfig> = {}): Promise<RunningProxy> {
  const running = await startResilientProxy(resilienceConfig({ url: front.url, timeoutMs: DEADLINE_MS, ...changes }));
  proxies.push(running);
  return running;
}

async function inject(fault: Fault): Promise<void> {
  if (fault === 'down') await front.down();
  else cp.respondWith(fault);
}

async function recover(): Promise<void> {
  await front.up();
  cp.respondWith(reply.allow());
}

/** After recovery: every event the fake saw was delivered exactly once: `spooled` replayed ones and `live` live ones. */
async function expectReplayedExactlyOnce(running: RunningProxy, spooled: number, live: number): Promise<void> {
  await eventually(async () => (await counter(running, 'kaizen_proxy_spool_replayed_total')) >= spooled, 20_000, `${spooled} replays`);
  const metrics = await scrape(running.proxy);
  expect(metrics.get('kaizen_proxy_spool_spooled_total')).toBe(spooled);
  expect(metrics.get('kaizen_proxy_spool_replayed_total')).toBe(spooled);
  expect(metrics.get('kaizen_proxy_spool_pending_entries')).toBe(0);
  for (const [name, value] of metrics) if (name.startsWith('kaizen_proxy_spool_dropped_total')) expect(value).toBe(0);
  const seen = deliveries(cp);
  const counts = [...seen.values()];
  expect(counts.every((entry) => entry.delivered === 1)).toBe(true);
  expect(seen.size).toBe(spooled + live);
}

describe('control-plane faults, one at a time (fail closed)', () => {
  it.each(FAULTS)('%s: every client gets 503 within the deadline; after recovery each spooled action arrives exactly once', async (_name, fault) => {
    const running = await start();
    await inject(fault());
    const answers = await Promise.all([0, 1, 2, 3].map((i) => viaProxy(running.port, `${origin.url}/during/${i}`)));
    for (const answer of answers) {
      expect(answer.status).toBe(503);
      expect(answer.headers['x-kaizen-decision']).toBe('block');
      expect(answer.ms).toBeLessThan(ANSWER_BOUND_MS);
    }
    expect(origin.requests).toHaveLength(0);
    await eventually(async () => (await counter(running, 'kaizen_proxy_spool_spooled_total')) === 4, 10_000, '4 spooled');

    await recover();
    expect((await viaProxy(running.port, `${origin.url}/after`)).status).toBe(200);
    await expectReplayedExactlyOnce(running, 4, 1);
    const replayed = deliveredSends(cp).filter((seen) => seen.path === '/v1/verdicts' && (seen.body as { action?: { metadata?: { path?: string } } }).action?.metadata?.path?.startsWith('/during/') === true);
    expect(replayed).toHaveLength(4);
    for (const seen of replayed) {
      expect(seen.body).toMatchObject({ agent: 'egress-agent', verdict: { decision: 'block' } });
      expect(seen.rawBody).toMatch(/"observed_at":"\d{4}-\d\d-\d\dT/);
      expect(seen.rawBody).toContain('fail mode is closed');
    }
  });
});

describe('a fault the one retry absorbs', () => {
  it('a reset mid-answer, then a good answer: the client is allowed after one retry, nothing spooled', async () => {
    const running = await start();
    cp.respondWith(reply.resetMidBody(), reply.allow());
    const answer = await viaProxy(running.port, `${origin.url}/reset-once`);
    expect(answer.status).toBe(200);
    expect(answer.ms).toBeLessThan(ANSWER_BOUND_MS);
    expect(cp.requests.filter((seen) => seen.path === '/v1/verdicts')).toHaveLength(2);
    expect(origin.requests).toHaveLength(1);
    expect(await counter(running, 'kaizen_proxy_spool_spooled_total')).toBe(0);
  });
});

describe('control-plane faults in sequence', () => {
  it('fail closed: every fault in turn, then recovery: no crash, every spooled action exactly once', async () => {
    const running = await start();
    let sent = 0;
    for (const [, fault] of FAULTS) {
      await recover();
      await inject(fault());
      const answers = await Promise.all([0, 1].map(() => viaProxy(running.port, `${origin.url}/seq/${sent++}`)));
      for (const answer of answers) {
        expect(answer.status).toBe(503);
        expect(answer.ms).toBeLessThan(ANSWER_BOUND_MS);
      }
    }
    expect(origin.requests).toHaveLength(0);
    await recover();
    expect((await viaProxy(running.port, `${origin.url}/after`)).status).toBe(200);
    await expectReplayedExactlyOnce(running, sent, 1);
  });

  it('fail open: the same faults allow, and are spooled and replayed the same way', async () => {
    const running = await start({ fail: 'open' });
    let sent = 0;
    for (const [, fault] of FAULTS) {
      await recover();
      await inject(fault());
      const answer = await viaProxy(running.port, `${origin.url}/open/${sent++}`);
      expect(answer.status).toBe(200);
      expect(answer.ms).toBeLessThan(ANSWER_BOUND_MS);
    }
    expect(origin.requests).toHaveLength(sent);
    expect(running.logs.lines()).toContainEqual(expect.objectContaining({ msg: 'no verdict: allowing because fail mode is open' }));
    await recover();
    await expectReplayedExactlyOnce(running, sent, 0);
  });
});

describe('cache and stale-if-error under faults', () => {
  it('a cached verdict serves without asking; an expired one serves stale within stale_if_error (spooled); past it, fail closed', async () => {
    const running = await start({ cache: { allowTtlMs: 300, staleIfErrorMs: 2_500 } });
    const url = `${origin.url}/cached`;
    expect((await viaProxy(running.port, url)).status).toBe(200);
    const asked = cp.requests.length;
    await inject(reply.status(503));
    expect((await viaProxy(running.port, url)).status).toBe(200);
    expect(cp.requests.length).toBe(asked);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const stale = await viaProxy(running.port, url);
    expect(stale.status).toBe(200);
    expect(running.logs.lines()).toContainEqual(expect.objectContaining({ msg: 'decision', source: 'stale' }));
    // A key never cached has no stale verdict to fall back on.
    expect((await viaProxy(running.port, url, 'DELETE')).status).toBe(503);
    await eventually(async () => (await scrape(running.proxy)).get('kaizen_proxy_verdict_cache_misses_total{outcome="stale"}') === 1);
    await new Promise((resolve) => setTimeout(resolve, 2_600));
    expect((await viaProxy(running.port, url)).status).toBe(503);

    await recover();
    expect((await viaProxy(running.port, `${origin.url}/after`, 'PUT')).status).toBe(200);
    await expectReplayedExactlyOnce(running, 3, 2);
  });
});

describe('the spool survives a restart', () => {
  it('actions spooled while the control plane was down reach it after the proxy restarts', async () => {
    const dataDir = tempDataDir();
    const first = await start({ dataDir });
    await front.down();
    const answers = await Promise.all([0, 1, 2, 3, 4].map((i) => viaProxy(first.port, `${origin.url}/before-restart/${i}`)));
    expect(answers.map((answer) => answer.status)).toEqual([503, 503, 503, 503, 503]);
    await first.proxy.close();
    proxies.splice(proxies.indexOf(first), 1);

    await recover();
    const second = await start({ dataDir });
    await eventually(() => deliveries(cp).size >= 5, 20_000, 'five replays after the restart');
    expect(second.logs.lines()).toContainEqual(expect.objectContaining({ msg: 'spool recovered: spooled actions wait for the control plane', pending: 5 }));
    expect([...deliveries(cp).values()].every((entry) => entry.delivered === 1)).toBe(true);
    await eventually(async () => (await counter(second, 'kaizen_proxy_spool_pending_entries')) === 0);
  });
});
