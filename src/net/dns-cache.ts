import { LRUCache } from 'lru-cache';
import type { Resolution } from '../contract/decision.js';
import type { Target } from '../contract/target.js';
import { lookupWithin, type NameLookup } from './lookup-deadline.js';
import { lookupAll, type LookupResult } from './resolve.js';

export interface DnsCacheOptions {
  /** How long an answer with addresses is reused; 0 turns the cache off (lookups still coalesce). */
  readonly ttlMs: number;
  /** How long a failed lookup (no such name, no answer) is reused before the resolver is asked again. */
  readonly negativeTtlMs: number;
  /**
   * How long past `ttlMs` a name's last answer may still serve when a new lookup gets no answer
   * (the resolver is down, failing or slow to answer: RFC 8767's serve-stale); 0 never serves a
   * stale answer. A negative answer (no such name, no address record) is never covered: it
   * replaces the last answer at once and is kept for `negativeTtlMs`.
   */
  readonly staleIfErrorMs?: number;
  /**
   * A lookup not answered within this fails (`lookup timed out`, then stale like any failure to
   * get an answer), unless one address family has answered: those addresses are the answer
   * (lookup-deadline.ts). The resolver's own timing (c-ares, resolve.ts) gives up after about
   * 6 s. 0: no deadline but the resolver's.
   */
  readonly timeoutMs?: number;
  /** Names kept at most; the least recently used goes first. */
  readonly maxEntries: number;
  /** The system resolver by default (resolve.ts: /etc/hosts, then DNS for the name as written); must never reject. */
  readonly lookup?: NameLookup;
  /** Clock in ms for the TTLs (tests pass a fake one); performance.now by default. */
  readonly now?: () => number;
}

export interface DnsCache {
  /** The addresses of a target: an IP literal as it is, a name from the cache or from one lookup shared by all who ask meanwhile. Never rejects. */
  resolve(target: Target): Promise<Resolution>;
  /**
   * What resolve() would answer at once, without a promise: an IP literal, or a name whose answer
   * is held; undefined when a lookup is needed or in flight (then call resolve()).
   */
  resolveNow(target: Target): Resolution | undefined;
  /** Names held now (answers and lookups in flight). */
  readonly size: number;
  /** Lookups that went to the resolver, resolutions answered from the cache or a shared lookup, and failed lookups answered with a stale answer. */
  readonly counts: { readonly lookups: number; readonly hits: number; readonly stale: number };
}

/**
 * A bounded cache of name lookups in front of the system resolver (resolve.ts): without it every
 * tunnel and request to a name costs a lookup, and 1,000 clients connecting to one new name send
 * 1,000 of them. Concurrent lookups of one name share one call; an answer is reused for `ttlMs`
 * (one fixed lifetime whatever the record's TTL, as Java's resolver cache keeps), a failure for
 * `negativeTtlMs`.
 * When a refresh gets no answer, the name's last answer serves for up to `staleIfErrorMs` past its
 * expiry (asked again after `negativeTtlMs`), so a resolver outage does not turn into 502s at once;
 * an answer that the name has no address (a deleted record) drops it, as RFC 8767 keeps serve-stale
 * for resolvers that cannot answer, not for names that are gone.
 * Every use still goes through the address guard, on the addresses that will be dialled, so a
 * reused answer is checked like a fresh one; between refreshes a name cannot be rebound.
 */
export function createDnsCache(options: DnsCacheOptions): DnsCache {
  const lookup = options.lookup ?? lookupAll;
  const now = options.now ?? (() => performance.now());
  const entries = new LRUCache<string, Promise<Resolution>>({ max: Math.max(1, options.maxEntries), ttlResolution: 0, perf: { now } });
  const staleMs = Math.max(0, options.staleIfErrorMs ?? 0);
  // The last answer with addresses per name, kept ttl + staleIfError, for a refresh that fails.
  const lastGood = new LRUCache<string, Resolution>({ max: Math.max(1, options.maxEntries), ttlResolution: 0, perf: { now } });
  // The answer each settled lookup gave, for resolveNow (a promise's value cannot be read).
  const answers = new WeakMap<Promise<Resolution>, Resolution>();
  let lookups = 0;
  let hits = 0;
  let stale = 0;

  /**
   * What a finished lookup answers: its own result, or the name's last good answer when it got no
   * answer and one is kept. A negative answer is the name's answer now: the last good one goes.
   */
  const answerOf = (host: string, resolution: LookupResult): Resolution => {
    if (resolution.ok) {
      if (staleMs > 0) lastGood.set(host, resolution, { ttl: Math.max(1, Math.ceil(options.ttlMs + staleMs)) });
      return resolution;
    }
    if (resolution.negative) {
      lastGood.delete(host);
      return resolution;
    }
    const kept = staleMs > 0 ? lastGood.get(host) : undefined;
    if (kept === undefined) return resolution;
    stale += 1;
    return kept;
  };

  const settle = (host: string, pending: Promise<Resolution>, resolution: Resolution, servedStale: boolean): void => {
    // Evicted or cleared meanwhile: the answer still goes to its waiters but is not kept.
    if (entries.peek(host) !== pending) return;
    // A stale answer stands in for a failure: the resolver is asked again after negative_ttl.
    const ttl = resolution.ok && !servedStale ? options.ttlMs : options.negativeTtlMs;
    if (ttl > 0) entries.set(host, pending, { ttl: Math.max(1, Math.ceil(ttl)) });
    else entries.delete(host);
  };

  return {
    resolve(target) {
      if (target.hostType !== 'dns') return Promise.resolve({ ok: true, addresses: [target.host] });
      const host = target.host;
      const held = entries.get(host);
      if (held !== undefined) {
        hits += 1;
        return held;
      }
      lookups += 1;
      const finish = (resolution: LookupResult): Resolution => {
        const answer = answerOf(host, resolution);
        answers.set(pending, answer);
        settle(host, pending, answer, answer !== resolution);
        return answer;
      };
      const pending = lookupWithin(lookup, host, options.timeoutMs ?? 0).then(finish, (error: unknown) =>
        finish({ ok: false, code: 'KZP_ERR_DNS', message: `lookup failed: ${error instanceof Error ? error.name : 'unknown'}`, negative: false }),
      );
      // In flight it has no lifetime: every caller until it settles shares it.
      entries.set(host, pending, { ttl: 0 });
      return pending;
    },
    resolveNow(target) {
      if (target.hostType !== 'dns') return { ok: true, addresses: [target.host] };
      const held = entries.get(target.host);
      const answer = held === undefined ? undefined : answers.get(held);
      if (answer !== undefined) hits += 1;
      return answer;
    },
    get size() {
      return entries.size;
    },
    get counts() {
      return { lookups, hits, stale };
    },
  };
}
