import { performance } from 'node:perf_hooks';
import { LRUCache } from 'lru-cache';
import { isKaizenProxyError, KaizenProxyError } from '../errors/kaizen-error.js';
import type { ResolvedVerdict } from './resolved-verdict.js';
import type { VerdictReport } from './verdict-client.js';

export interface VerdictCacheOptions {
  readonly maxEntries: number;
  readonly allowTtlMs: number;
  readonly blockTtlMs: number;
  /** How long past its expiry a verdict may still serve while the control plane fails. */
  readonly staleIfErrorMs: number;
  /** Fetches the verdict for a key (the control-plane call); rejects with a KaizenProxyError on failure. */
  readonly load: (report: VerdictReport) => Promise<ResolvedVerdict>;
  /** Clock in ms (tests pass a fake one); performance.now by default. */
  readonly now?: () => number;
}

export type VerdictLookup =
  /** `fetched`: this lookup started or joined a control-plane call; otherwise a cache hit. */
  | { readonly kind: 'fresh'; readonly verdict: ResolvedVerdict; readonly fetched: boolean }
  /** The refresh failed and an expired verdict inside stale_if_error served instead. */
  | { readonly kind: 'stale'; readonly verdict: ResolvedVerdict; readonly error: KaizenProxyError }
  | { readonly kind: 'failed'; readonly error: KaizenProxyError };

export interface VerdictCache {
  /**
   * Never rejects. Concurrent lookups of one key that miss share one `load`. `report` is called only
   * when the control plane must be asked: a fresh hit builds nothing.
   */
  lookup(key: string, report: () => VerdictReport): Promise<VerdictLookup>;
  /** The verdict for a key when it is held and fresh (what lookup() would answer at once), else undefined. */
  fresh(key: string): ResolvedVerdict | undefined;
  /** Forget every verdict (hot reload). A call in flight still answers its waiters but is not stored. */
  clear(): void;
  /** Forget the verdicts whose keys start with `prefix` (one agent's), as clear() does, and keep every other. */
  clearPrefix(prefix: string): void;
  readonly size: number;
}

interface Entry {
  readonly verdict: ResolvedVerdict;
  /** Logical expiry (allow_ttl or block_ttl after the answer); lru-cache keeps the entry stale_if_error longer. */
  readonly expiresAt: number;
}

/**
 * The verdict cache on lru-cache's `fetch`: concurrent misses for one key coalesce into one load;
 * each entry lives in lru-cache for its TTL plus stale_if_error, and this module tracks the logical
 * expiry itself, forcing a refresh once it has passed and falling back to the old entry (bounded by
 * stale_if_error) when the refresh fails. Failures are never stored.
 */
export function createVerdictCache(options: VerdictCacheOptions): VerdictCache {
  const now = options.now ?? (() => performance.now());
  const stale = Math.max(0, options.staleIfErrorMs);
  const ttlFor = (verdict: ResolvedVerdict): number => (verdict.decision === 'block' ? options.blockTtlMs : options.allowTtlMs);
  // lru-cache reads ttl 0 as "forever": every stored lifetime is at least 1 ms.
  const lifetime = (ttl: number): number => Math.max(1, Math.ceil(ttl + stale));

  /**
   * Keys with a call in flight, counted (one deleted mid-call may start another before the first
   * ends): lru-cache's keys() leaves them out, and clearPrefix() must not let them be stored.
   */
  const loading = new Map<string, number>();

  const lru = new LRUCache<string, Entry, VerdictReport>({
    max: options.maxEntries,
    ttl: lifetime(Math.max(options.allowTtlMs, options.blockTtlMs)),
    ttlResolution: 0,
    perf: { now },
    // The stale fallback is chosen below and bounded by stale_if_error, so lru-cache never serves stale itself.
    allowStale: false,
    allowStaleOnFetchRejection: false,
    allowStaleOnFetchAbort: false,
    // A failed refresh puts the old entry back (it must stay for the next stale check) instead of deleting it;
    // a failed first fetch still leaves nothing behind, so a failure is never cached.
    noDeleteOnFetchRejection: true,
    // Eviction or clear() during a call must not fail the callers waiting on it; the call has its own deadline.
    ignoreFetchAbort: true,
    fetchMethod: async (key, _previous, { options: setOptions, context }) => {
      loading.set(key, (loading.get(key) ?? 0) + 1);
      try {
        const verdict = await options.load(context);
        const ttl = ttlFor(verdict);
        setOptions.ttl = lifetime(ttl);
        return { verdict, expiresAt: now() + ttl };
      } finally {
        const left = (loading.get(key) ?? 1) - 1;
        if (left === 0) loading.delete(key);
        else loading.set(key, left);
      }
    },
  });

  /** The entry's verdict while its logical TTL runs, else undefined. */
  const freshVerdict = (entry: Entry | undefined): ResolvedVerdict | undefined => (entry !== undefined && entry.expiresAt > now() ? entry.verdict : undefined);

  return {
    fresh(key) {
      // get, not peek: a hit counts as use for the LRU order.
      return freshVerdict(lru.get(key));
    },
    async lookup(key, report) {
      // get, not peek: a hit counts as use for the LRU order.
      const current = lru.get(key);
      const verdict = freshVerdict(current);
      if (verdict !== undefined) return { kind: 'fresh', verdict, fetched: false };
      const forceRefresh = current !== undefined;
      const status: LRUCache.Status<string, Entry, VerdictReport> = {};
      try {
        const entry = await lru.fetch(key, { context: report(), forceRefresh, status });
        if (entry === undefined) throw new KaizenProxyError('KZP_ERR_DECIDER', 'verdict cache fetch returned nothing');
        return { kind: 'fresh', verdict: entry.verdict, fetched: status.fetch !== 'hit' };
      } catch (error) {
        const failure = isKaizenProxyError(error) ? error : new KaizenProxyError('KZP_ERR_DECIDER', 'verdict cache fetch failed', { cause: error });
        const kept = lru.peek(key);
        const at = now();
        if (kept === undefined || at >= kept.expiresAt + stale) return { kind: 'failed', error: failure };
        // Another lookup may have refreshed the entry meanwhile: then it is simply fresh.
        if (at < kept.expiresAt) return { kind: 'fresh', verdict: kept.verdict, fetched: false };
        return { kind: 'stale', verdict: kept.verdict, error: failure };
      }
    },
    clear() {
      lru.clear();
    },
    clearPrefix(prefix) {
      // Collected first: deleting while lru-cache iterates would skip entries.
      const doomed = [...lru.keys(), ...loading.keys()].filter((key) => key.startsWith(prefix));
      for (const key of doomed) lru.delete(key);
    },
    get size() {
      return lru.size;
    },
  };
}
