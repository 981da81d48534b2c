import type { ErrorCode } from '../errors/codes.js';

/** How one verdict-cache lookup ended: `hit` served from cache, `miss` asked the control plane. */
export type CacheOutcome = 'hit' | 'miss' | 'stale' | 'failed';

/**
 * What the decision pipeline tells metrics, beside the per-action events the transport sends:
 * control-plane calls (latency, errors) and verdict-cache lookups. Must be cheap and never throw.
 */
export interface DeciderMetrics {
  /** One verdict exchange with the control plane, its one retry included; `error` null on success. */
  controlPlaneCall(seconds: number, error: ErrorCode | null): void;
  cacheLookup(outcome: CacheOutcome): void;
}
