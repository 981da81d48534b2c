import type { FailedLookup, LookupResult } from './resolve.js';

/**
 * A name lookup (resolve.ts) that may be told, through `deadline`, that its time is up: it then
 * answers at once with the addresses it already has, if any (one family answered, the other not).
 */
export type NameLookup = (host: string, deadline?: AbortSignal) => Promise<LookupResult>;

/** No answer within the deadline: a resolver failure, so the last answer may serve (dns-cache.ts). */
export const TIMED_OUT: FailedLookup = { ok: false, code: 'KZP_ERR_DNS', message: 'lookup timed out', negative: false };

/**
 * `lookup(host)` within `timeoutMs` (0: the resolver's own timing only). At the deadline the
 * lookup is told, and one that has an address answers with it: a resolver that drops AAAA
 * queries costs the deadline, not the name (Squid and glibc use the A answer once AAAA times out).
 * One with nothing in hand is TIMED_OUT; it runs on, and its late answer is dropped.
 */
export function lookupWithin(lookup: NameLookup, host: string, timeoutMs: number): Promise<LookupResult> {
  if (timeoutMs <= 0) return lookup(host);
  const deadline = new AbortController();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      deadline.abort();
      // A lookup answering on the signal settles in promise jobs, before the next turn's checks.
      setImmediate(() => {
        resolve(TIMED_OUT);
      });
    }, timeoutMs);
    timer.unref();
    lookup(host, deadline.signal).then(
      (resolution) => {
        clearTimeout(timer);
        resolve(resolution);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error('lookup failed'));
      },
    );
  });
}
