import { describe, expect, it } from 'vitest';
import type { Resolution } from '../../../src/contract/decision.js';
import { targetFromParts } from '../../../src/action/target-parse.js';
import type { Target } from '../../../src/contract/target.js';
import { createDnsCache, type DnsCacheOptions } from '../../../src/net/dns-cache.js';
import type { LookupResult } from '../../../src/net/resolve.js';

function target(host: string): Target {
  const parsed = targetFromParts(host, 443);
  if (!parsed.ok) throw new Error(`bad test host ${host}`);
  return parsed.value;
}

const FOUND: Resolution = { ok: true, addresses: ['203.0.113.7'] };
/** The resolver's answer: no such name (or no address records). */
const NOT_FOUND: LookupResult = { ok: false, code: 'KZP_ERR_DNS', message: 'lookup failed: ENOTFOUND', negative: true };
/** No answer had: the resolver failed or could not be reached. */
const UNAVAILABLE: LookupResult = { ok: false, code: 'KZP_ERR_DNS', message: 'lookup failed: EAI_AGAIN', negative: false };

/**
 * A cache on a fake clock whose resolver answers from a script, one answer per call, each only
 * when the test releases it (so lookups in flight can be observed).
 */
function harness(script: LookupResult[], changes: Partial<DnsCacheOptions> = {}) {
  let clock = 1_000;
  const asked: string[] = [];
  const waiting: (() => void)[] = [];
  const answerAll = async (): Promise<void> => {
    for (const release of waiting.splice(0)) release();
    await new Promise((resolve) => setImmediate(resolve));
  };
  const cache = createDnsCache({
    ttlMs: 100,
    negativeTtlMs: 10,
    maxEntries: 100,
    now: () => clock,
    lookup: (host) => {
      asked.push(host);
      const answer = script.length > 1 ? script.shift() : script[0];
      if (answer === undefined) return Promise.reject(new Error('script exhausted'));
      return new Promise((resolve) => {
        waiting.push(() => {
          resolve(answer);
        });
      });
    },
    ...changes,
  });
  return {
    cache,
    asked,
    advance: (ms: number) => (clock += ms),
    /** Answer every lookup in flight, then let their continuations run. */
    answer: answerAll,
    /** Resolve `host`, answering the lookup it starts (if any). */
    resolveNow: async (host: string): Promise<Resolution> => {
      const pending = cache.resolve(target(host));
      await answerAll();
      return pending;
    },
  };
}

describe('dns cache', () => {
  it('answers at once (resolveNow) for IP literals and held answers, never for a lookup not made or in flight', async () => {
    const h = harness([FOUND]);
    expect(h.cache.resolveNow(target('198.51.100.4'))).toEqual({ ok: true, addresses: ['198.51.100.4'] });
    expect(h.cache.resolveNow(target('[2001:db8::1]'))).toEqual({ ok: true, addresses: ['2001:db8::1'] });
    expect(h.cache.resolveNow(target('api.example.com'))).toBeUndefined();
    const pending = h.cache.resolve(target('api.example.com'));
    expect(h.cache.resolveNow(target('api.example.com'))).toBeUndefined();
    await h.answer();
    expect(await pending).toEqual(FOUND);
    const before = h.cache.counts.hits;
    expect(h.cache.resolveNow(target('api.example.com'))).toEqual(FOUND);
    expect(h.cache.counts).toMatchObject({ lookups: 1, hits: before + 1 });
    // Past its ttl the answer is not held any more: resolve() asks again.
    h.advance(101);
    expect(h.cache.resolveNow(target('api.example.com'))).toBeUndefined();
    expect(h.asked).toEqual(['api.example.com']);
  });

  it('shares one lookup among everyone who asks while it is in flight', async () => {
    const h = harness([FOUND]);
    const all = Promise.all(Array.from({ length: 1_000 }, () => h.cache.resolve(target('api.example.com'))));
    expect(h.cache.size).toBe(1);
    await h.answer();
    const answers = await all;
    expect(h.asked).toEqual(['api.example.com']);
    expect(answers.every((answer) => answer === FOUND)).toBe(true);
    expect(h.cache.counts).toEqual({ lookups: 1, hits: 999, stale: 0 });
  });

  it('reuses an answer for ttl, then looks the name up again', async () => {
    const h = harness([FOUND, { ok: true, addresses: ['203.0.113.8'] }]);
    expect(await h.resolveNow('api.example.com')).toEqual(FOUND);
    h.advance(99);
    expect(await h.cache.resolve(target('api.example.com'))).toEqual(FOUND);
    expect(h.asked).toHaveLength(1);
    h.advance(2);
    expect(await h.resolveNow('api.example.com')).toEqual({ ok: true, addresses: ['203.0.113.8'] });
    expect(h.asked).toHaveLength(2);
  });

  it('reuses a failure for negative_ttl only', async () => {
    const h = harness([NOT_FOUND, FOUND]);
    expect(await h.resolveNow('gone.example.com')).toEqual(NOT_FOUND);
    h.advance(9);
    expect(await h.cache.resolve(target('gone.example.com'))).toEqual(NOT_FOUND);
    expect(h.asked).toHaveLength(1);
    h.advance(2);
    expect(await h.resolveNow('gone.example.com')).toEqual(FOUND);
    expect(h.asked).toHaveLength(2);
  });

  it('while lookups fail, serves the last answer for stale_if_error past its ttl, asking again after negative_ttl', async () => {
    const h = harness([FOUND, UNAVAILABLE, UNAVAILABLE, UNAVAILABLE], { staleIfErrorMs: 1_000 });
    const resolveNow = (): Promise<Resolution> => h.resolveNow('api.example.com');
    expect(await resolveNow()).toEqual(FOUND);
    h.advance(101); // past ttl: the refresh fails, the last answer stands in
    expect(await resolveNow()).toEqual(FOUND);
    expect(h.cache.counts).toMatchObject({ lookups: 2, stale: 1 });
    h.advance(5); // inside negative_ttl: not asked again
    expect(await resolveNow()).toEqual(FOUND);
    expect(h.asked).toHaveLength(2);
    h.advance(6); // past negative_ttl: asked again, still failing, still stale
    expect(await resolveNow()).toEqual(FOUND);
    expect(h.asked).toHaveLength(3);
    h.advance(1_000); // past ttl + stale_if_error: the failure shows
    expect(await resolveNow()).toEqual(UNAVAILABLE);
    expect(h.cache.counts).toMatchObject({ lookups: 4, stale: 2 });
  });

  it('never serves a stale answer for a name that no longer exists: the negative answer replaces it, for negative_ttl', async () => {
    const h = harness([FOUND, NOT_FOUND, FOUND, UNAVAILABLE], { staleIfErrorMs: 1_000 });
    expect(await h.resolveNow('gone.example.com')).toEqual(FOUND);
    h.advance(101); // past ttl: the record was deleted
    expect(await h.resolveNow('gone.example.com')).toEqual(NOT_FOUND);
    expect(h.cache.counts.stale).toBe(0);
    h.advance(9); // inside negative_ttl: the negative answer is kept, not asked again
    expect(await h.cache.resolve(target('gone.example.com'))).toEqual(NOT_FOUND);
    expect(h.asked).toHaveLength(2);
    h.advance(2); // past negative_ttl: asked again, and the name is back
    expect(await h.resolveNow('gone.example.com')).toEqual(FOUND);
    h.advance(101); // the resolver fails now: the answer before the NXDOMAIN is gone, the new one serves
    expect(await h.resolveNow('gone.example.com')).toEqual(FOUND);
    expect(h.cache.counts).toMatchObject({ lookups: 4, stale: 1 });
  });

  it('after a negative answer, a resolver failure has no last answer to serve', async () => {
    const h = harness([FOUND, NOT_FOUND, UNAVAILABLE], { staleIfErrorMs: 1_000 });
    expect(await h.resolveNow('gone.example.com')).toEqual(FOUND);
    h.advance(101);
    expect(await h.resolveNow('gone.example.com')).toEqual(NOT_FOUND);
    h.advance(11); // past negative_ttl, well inside ttl + stale_if_error of the deleted answer
    expect(await h.resolveNow('gone.example.com')).toEqual(UNAVAILABLE);
    expect(h.cache.counts.stale).toBe(0);
  });

  it('fails a lookup that outlasts dns_timeout; its late answer is not kept', async () => {
    const h = harness([FOUND], { timeoutMs: 20 });
    expect(await h.cache.resolve(target('slow.example.com'))).toEqual({ ok: false, code: 'KZP_ERR_DNS', message: 'lookup timed out', negative: false });
    await h.answer(); // the resolver answers at last
    expect(await h.cache.resolve(target('slow.example.com'))).toMatchObject({ ok: false, message: 'lookup timed out' });
    expect(h.asked).toHaveLength(1);
  });

  it('a refresh that outlasts dns_timeout serves the stale answer', async () => {
    const h = harness([FOUND], { timeoutMs: 20, staleIfErrorMs: 1_000 });
    expect(await h.resolveNow('api.example.com')).toEqual(FOUND);
    h.advance(101);
    expect(await h.cache.resolve(target('api.example.com'))).toEqual(FOUND);
    expect(h.cache.counts).toMatchObject({ lookups: 2, stale: 1 });
  });

  it('without stale_if_error a failed refresh is a failure', async () => {
    const h = harness([FOUND, UNAVAILABLE]);
    expect(await h.resolveNow('api.example.com')).toEqual(FOUND);
    h.advance(101);
    expect(await h.resolveNow('api.example.com')).toEqual(UNAVAILABLE);
  });

  it('with a ttl of 0 keeps nothing once answered, but still shares a lookup in flight', async () => {
    const h = harness([FOUND], { ttlMs: 0, negativeTtlMs: 0 });
    const both = Promise.all([h.cache.resolve(target('a.example')), h.cache.resolve(target('a.example'))]);
    await h.answer();
    expect(await both).toEqual([FOUND, FOUND]);
    expect(h.cache.size).toBe(0);
    const later = h.cache.resolve(target('a.example'));
    await h.answer();
    await later;
    expect(h.asked).toEqual(['a.example', 'a.example']);
  });

  it('never looks up an IP literal', async () => {
    const h = harness([FOUND]);
    expect(await h.cache.resolve(target('192.0.2.1'))).toEqual({ ok: true, addresses: ['192.0.2.1'] });
    expect(await h.cache.resolve(target('[2001:db8::1]'))).toEqual({ ok: true, addresses: ['2001:db8::1'] });
    expect(h.asked).toEqual([]);
    expect(h.cache.size).toBe(0);
  });

  it('keeps at most max_entries names, dropping the least recently used', async () => {
    const h = harness([FOUND], { maxEntries: 2 });
    for (const host of ['a.example', 'b.example']) await h.resolveNow(host);
    await h.cache.resolve(target('a.example')); // a is now the more recent
    await h.resolveNow('c.example');
    expect(h.cache.size).toBe(2);
    await h.cache.resolve(target('a.example'));
    await h.resolveNow('b.example');
    expect(h.asked).toEqual(['a.example', 'b.example', 'c.example', 'b.example']);
  });

  it('answers the waiters of a lookup evicted while in flight, without keeping it', async () => {
    const h = harness([FOUND], { maxEntries: 1 });
    const first = h.cache.resolve(target('a.example'));
    const second = h.cache.resolve(target('b.example')); // evicts a while in flight
    await h.answer();
    expect(await first).toEqual(FOUND);
    expect(await second).toEqual(FOUND);
    await h.resolveNow('a.example');
    expect(h.asked).toEqual(['a.example', 'b.example', 'a.example']);
  });

  it('turns a resolver that rejects into a KZP_ERR_DNS resolution', async () => {
    const h = harness([], { lookup: () => Promise.reject(new TypeError('broken')) });
    expect(await h.cache.resolve(target('a.example'))).toEqual({ ok: false, code: 'KZP_ERR_DNS', message: 'lookup failed: TypeError', negative: false });
  });

  it('caches what the system resolver says about localhost', async () => {
    const cache = createDnsCache({ ttlMs: 60_000, negativeTtlMs: 5_000, maxEntries: 10 });
    const first = await cache.resolve(target('localhost'));
    const second = await cache.resolve(target('localhost'));
    expect(first.ok).toBe(true);
    expect(first.ok && first.addresses.length > 0).toBe(true);
    expect(second).toBe(first);
    expect(cache.counts).toEqual({ lookups: 1, hits: 1, stale: 0 });
  });
});
