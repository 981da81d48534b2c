/**
 * Why spooled actions were dropped: `overflow` the spool reached spool.max_bytes (oldest first),
 * `rejected` the control plane refused the entry for good (400, 409, 413, 415 or 422: its body),
 * on replay or on its live call (then it was never spooled),
 * `unreadable` a record damaged or torn on disk (found when the spool is opened) or an entry that
 * no longer decodes, `too_large` one report larger than a
 * segment, `unavailable` no spool could be opened (data_dir not writable) or it was closed.
 */
export const SPOOL_DROP_REASONS = ['overflow', 'rejected', 'unreadable', 'too_large', 'unavailable'] as const;
export type SpoolDropReason = (typeof SPOOL_DROP_REASONS)[number];

/** What the report spool tells metrics. Must be cheap and never throw. */
export interface SpoolMetrics {
  /** One action written to the spool because the control plane did not get it when it happened. */
  spooled(): void;
  /** One spooled action acknowledged by the control plane on replay. */
  replayed(): void;
  dropped(reason: SpoolDropReason, count: number): void;
}

export const noSpoolMetrics: SpoolMetrics = Object.freeze({
  spooled: () => undefined,
  replayed: () => undefined,
  dropped: () => undefined,
});
