import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { LOOP_DELAY_METRICS, LoopDelayGauges } from '../../../src/observe/loop-delay.js';

/** The value of each `nodejs_eventloop_lag_*` gauge in one scrape. */
async function scrape(registry: Registry): Promise<Map<string, number>> {
  const values = new Map<string, number>();
  for (const line of (await registry.metrics()).split('\n')) {
    const match = /^(nodejs_eventloop_lag_\w+) (\S+)$/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) values.set(match[1], Number(match[2]));
  }
  return values;
}

/** Keeps the event loop busy for `ms`: a stall the histogram must see. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spinning on purpose
  }
}

const made: LoopDelayGauges[] = [];

/** Gauges whose sampling changes are awaited through `next(sampling)`. */
function gauges(busy: () => boolean, idleAfterMs: number): { registry: Registry; loop: LoopDelayGauges; next: (sampling: boolean) => Promise<void> } {
  const registry = new Registry();
  const waiting: { sampling: boolean; resolve: () => void }[] = [];
  const loop = new LoopDelayGauges([registry], busy, {
    idleAfterMs,
    onSampling: (sampling) => {
      for (const waiter of waiting.filter((w) => w.sampling === sampling)) waiter.resolve();
    },
  });
  made.push(loop);
  const next = (sampling: boolean): Promise<void> =>
    new Promise((resolve) => {
      waiting.push({ sampling, resolve });
    });
  return { registry, loop, next };
}

afterEach(() => {
  for (const loop of made.splice(0)) loop.close();
});

describe('event-loop delay gauges', () => {
  it('registers the eight gauges under prom-client’s names', async () => {
    const { registry } = gauges(() => false, 1_000);
    expect([...(await scrape(registry)).keys()].sort()).toEqual([...LOOP_DELAY_METRICS].sort());
  });

  it('do not sample an idle proxy, and read 0 rather than an empty histogram’s minimum', async () => {
    const { registry, loop } = gauges(() => false, 1_000);
    expect(loop.sampling).toBe(false);
    const values = await scrape(registry);
    for (const name of LOOP_DELAY_METRICS.filter((n) => n !== 'nodejs_eventloop_lag_seconds')) expect(values.get(name)).toBe(0);
  });

  it('sample from the first activity, see a stall, and stop once a check finds nothing to do', async () => {
    const { registry, loop, next } = gauges(() => false, 20);
    const stopped = next(false);
    loop.touch();
    expect(loop.sampling).toBe(true);
    // Let the 10 ms sampling timer run once, then hold the loop for 40 ms.
    await new Promise((resolve) => setTimeout(resolve, 15));
    stall(40);
    await stopped;
    expect(loop.sampling).toBe(false);
    const values = await scrape(registry);
    expect(values.get('nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(0.025);
    // The scrape reset the histogram, and nothing has been sampled since.
    expect((await scrape(registry)).get('nodejs_eventloop_lag_max_seconds')).toBe(0);
  });

  it('keep sampling while the proxy is busy, then stop when it is not', async () => {
    let busy = true;
    const { loop, next } = gauges(() => busy, 10);
    let stops = 0;
    void next(false).then(() => stops++);
    loop.touch();
    // Ten checks' worth of time with connections open: still sampling.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(loop.sampling).toBe(true);
    expect(stops).toBe(0);
    busy = false;
    await next(false);
    expect(loop.sampling).toBe(false);
  });

  it('start again on activity after stopping', async () => {
    const { loop, next } = gauges(() => false, 10);
    loop.touch();
    await next(false);
    const started = next(true);
    loop.touch();
    await started;
    expect(loop.sampling).toBe(true);
  });
});
