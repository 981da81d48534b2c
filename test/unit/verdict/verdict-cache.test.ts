import { describe, expect, it } from 'vitest';
import { KaizenProxyError } from '../../../src/errors/kaizen-error.js';
import type { ResolvedVerdict } from '../../../src/verdict/resolved-verdict.js';
import { createVerdictCache, type VerdictCacheOptions } from '../../../src/verdict/verdict-cache.js';
import type { VerdictReport } from '../../../src/verdict/verdict-client.js';

const REPORT: VerdictReport = {
  agent: 'a',
  action: { kind: 'connect', target: 'example.com:443', metadata: { source: 'egress' } },
  verdict: { decision: 'allow', reason: 'local', evidence: [] },
};

const verdict = (decision: 'allow' | 'block', verdictId: string = decision): ResolvedVerdict => ({
  decision,
  reason: decision,
  evidence: [],
  verdictId,
  flagged: false,
  origin: 'control_plane',
});

const failure = new KaizenProxyError('KZP_ERR_CONTROL_PLANE_TIMEOUT', 'slow');

/** A cache on a fake clock whose loads answer from a script: a verdict, or an error to reject with. */
function harness(script: (ResolvedVerdict | Error)[], changes: Partial<VerdictCacheOptions> = {}) {
  let clock = 10_000;
  let loads = 0;
  const cache = createVerdictCache({
    maxEntries: 100,
    allowTtlMs: 100,
    blockTtlMs: 10,
    staleIfErrorMs: 1_000,
    now: () => clock,
    load: async () => {
      loads += 1;
      await Promise.resolve();
      const next = script.length > 1 ? script.shift() : script[0];
      if (next === undefined) throw new Error('script exhausted');
      if (next instanceof Error) throw next;
      return next;
    },
    ...changes,
  });
  return {
    cache,
    lookup: () => cache.lookup('key', () => REPORT),
    advance: (ms: number) => {
      clock += ms;
    },
    loads: () => loads,
  };
}

describe('verdict cache', () => {
  it('coalesces 1,000 concurrent misses into one load', async () => {
    const h = harness([verdict('allow')]);
    const results = await Promise.all(Array.from({ length: 1000 }, () => h.lookup()));
    expect(h.loads()).toBe(1);
    expect(results.every((r) => r.kind === 'fresh' && r.fetched && r.verdict.decision === 'allow')).toBe(true);
  });

  it('answers a hit from the cache until the TTL of its decision', async () => {
    const h = harness([verdict('allow'), verdict('block')]);
    await h.lookup();
    h.advance(99);
    expect(await h.lookup()).toMatchObject({ kind: 'fresh', fetched: false, verdict: { decision: 'allow' } });
    h.advance(2);
    expect(await h.lookup()).toMatchObject({ kind: 'fresh', fetched: true, verdict: { decision: 'block' } });
    h.advance(11);
    expect(await h.lookup()).toMatchObject({ kind: 'fresh', fetched: true });
    expect(h.loads()).toBe(3);
  });

  it('never stores a failure', async () => {
    const h = harness([failure, verdict('allow')]);
    expect(await h.lookup()).toEqual({ kind: 'failed', error: failure });
    expect(h.cache.size).toBe(0);
    expect(await h.lookup()).toMatchObject({ kind: 'fresh', fetched: true });
  });

  it('serves the expired entry while the refresh fails, for stale_if_error past expiry only', async () => {
    const h = harness([verdict('allow', 'old'), failure]);
    await h.lookup();
    h.advance(150);
    expect(await h.lookup()).toEqual({ kind: 'stale', verdict: verdict('allow', 'old'), error: failure });
    h.advance(900);
    expect(await h.lookup()).toMatchObject({ kind: 'stale' });
    h.advance(60);
    expect(await h.lookup()).toEqual({ kind: 'failed', error: failure });
  });

  it('coalesces a failing refresh: concurrent lookups share one load and all get the stale entry', async () => {
    const h = harness([verdict('allow'), failure]);
    await h.lookup();
    h.advance(150);
    const results = await Promise.all(Array.from({ length: 50 }, () => h.lookup()));
    expect(h.loads()).toBe(2);
    expect(new Set(results.map((r) => r.kind))).toEqual(new Set(['stale']));
  });

  it('a successful refresh replaces the expired entry', async () => {
    const h = harness([verdict('allow', 'one'), failure, verdict('allow', 'two')]);
    await h.lookup();
    h.advance(150);
    expect(await h.lookup()).toMatchObject({ kind: 'stale' });
    expect(await h.lookup()).toMatchObject({ kind: 'fresh', fetched: true, verdict: { verdictId: 'two' } });
    expect(await h.lookup()).toMatchObject({ kind: 'fresh', fetched: false, verdict: { verdictId: 'two' } });
  });

  it('without stale_if_error an expired entry is not served', async () => {
    const h = harness([verdict('allow'), failure], { staleIfErrorMs: 0 });
    await h.lookup();
    h.advance(101);
    expect(await h.lookup()).toEqual({ kind: 'failed', error: failure });
  });

  it('a TTL of 0 asks every time, still coalescing concurrent lookups', async () => {
    const h = harness([verdict('allow')], { allowTtlMs: 0, staleIfErrorMs: 0 });
    await Promise.all([h.lookup(), h.lookup(), h.lookup()]);
    expect(h.loads()).toBe(1);
    h.advance(1);
    await h.lookup();
    expect(h.loads()).toBe(2);
  });

  it('clear() during a load still answers its waiters but stores nothing', async () => {
    const h = harness([verdict('allow')]);
    const pending = Promise.all([h.lookup(), h.lookup()]);
    h.cache.clear();
    const results = await pending;
    expect(results.map((r) => r.kind)).toEqual(['fresh', 'fresh']);
    expect(h.cache.size).toBe(0);
  });

  it('clearPrefix() forgets the keys that start with the prefix, loads in flight included, and keeps every other', async () => {
    const h = harness([verdict('allow')]);
    const lookup = (key: string) => h.cache.lookup(key, () => REPORT);
    await lookup('1:a|one');
    await lookup('1:b|one');
    await lookup('2:ab|one');
    const inFlight = lookup('1:a|two');
    h.cache.clearPrefix('1:a|');
    // The load in flight still answers its waiters but is not stored.
    expect(await inFlight).toMatchObject({ kind: 'fresh', fetched: true });
    expect(h.cache.fresh('1:a|one')).toBeUndefined();
    expect(h.cache.fresh('1:a|two')).toBeUndefined();
    expect(h.cache.fresh('1:b|one')).toMatchObject({ decision: 'allow' });
    expect(h.cache.fresh('2:ab|one')).toMatchObject({ decision: 'allow' });
    expect(h.cache.size).toBe(2);
    expect(h.loads()).toBe(4);
    expect(await lookup('1:b|one')).toMatchObject({ kind: 'fresh', fetched: false });
  });

  it('turns an unexpected load error into KZP_ERR_DECIDER', async () => {
    const h = harness([new Error('bug')]);
    const result = await h.lookup();
    expect(result.kind === 'failed' && result.error.code).toBe('KZP_ERR_DECIDER');
  });
});
