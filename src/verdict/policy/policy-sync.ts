import { performance } from 'node:perf_hooks';
import type { Logger } from '../../observe/logger.js';
import type { PolicyClient } from './policy-client.js';
import { pace } from '../../runtime/steps.js';
import { parsePolicyAnswerSteps } from './policy-answer.js';
import type { PolicySpec } from './policy-spec.js';
import { jitteredInterval } from './sync-jitter.js';

export interface PolicySyncOptions {
  readonly client: PolicyClient;
  readonly agent: string;
  /** The longest wait between two syncs; each wait is drawn from 90% to 100% of it (sync-jitter.ts). */
  readonly intervalMs: number;
  /** Deadline for one fetch. */
  readonly timeoutMs: number;
  /**
   * Puts a valid set in force; true when it differs from the one in force. It may take turns of
   * the event loop (compiling a large set a slice at a time); `stop` aborts when the sync stops,
   * and then nothing may be put in force.
   */
  readonly apply: (policies: readonly PolicySpec[], stop: AbortSignal) => boolean | Promise<boolean>;
  readonly logger: Logger;
  /** Clock for the error-log rate limit (ms); performance.now by default. */
  readonly now?: () => number;
  /** Draws in [0, 1) for the jitter of each wait; Math.random by default. */
  readonly random?: () => number;
}

/** How one sync ended; `stopped`: abandoned by stop() (nothing applied, nothing logged, status kept). */
export type SyncOutcome = 'updated' | 'unchanged' | 'not_modified' | 'failed' | 'stopped';

export interface PolicySync {
  /** Fetches now (joining a fetch in flight). Never rejects. */
  syncNow(): Promise<SyncOutcome>;
  /** The first sync at once, then one after each jittered interval (from the end of the one before) until stop(). */
  start(): Promise<SyncOutcome>;
  /** No more syncs; the fetch in flight is abandoned, so a hanging control plane cannot hold a shutdown. */
  stop(): void;
  /** pending until the first sync ends; then ok, or failing while the last sync failed (last good set in force). */
  readonly status: 'pending' | 'ok' | 'failing';
}

/** The same failure is logged at most this often (with the count held back). */
const ERROR_LOG_INTERVAL_MS = 10 * 60_000;

/**
 * The control plane's policies for one agent, kept in force beside the file's (its log lines name
 * the agent). Only a valid
 * answer replaces them; a failure, a timeout or a malformed answer keeps the last good set and
 * logs an error, so a sync can never silently turn into "allow everything". ETag/If-None-Match
 * makes an unchanged set a 304; the ETag is kept only with the set it came with.
 */
export function createPolicySync(options: PolicySyncOptions): PolicySync {
  const logger = options.logger.child({ component: 'policy_sync', agent: options.agent });
  const now = options.now ?? (() => performance.now());
  const random = options.random ?? Math.random;
  let loggedAt = Number.NEGATIVE_INFINITY;
  /** Repeats of `lastFailure` not logged since it last was. */
  let held = 0;
  let etag: string | null = null;
  let inForce = 0;
  /** The last failure (code and message): many share a code (every malformed answer), so both tell them apart. */
  let lastFailure: { readonly code: string; readonly message: string } | null = null;
  let inFlight: Promise<SyncOutcome> | null = null;
  let timer: NodeJS.Timeout | null = null;
  const stopping = new AbortController();
  /** Read afresh after each await (the sync may stop during one). */
  const stopped = (): boolean => stopping.signal.aborted;
  let status: PolicySync['status'] = 'pending';

  /** Repeats held back are logged with the failure they repeat, before another line takes over. */
  function releaseHeld(): void {
    if (lastFailure === null || held === 0) return;
    logger.error({ code: lastFailure.code, policies_in_force: inForce, suppressed: held }, `policy sync failed ${held} more time(s): ${lastFailure.message}`);
    held = 0;
  }

  /** A new failure is logged at once; the same one again at most every ERROR_LOG_INTERVAL_MS. */
  function failed(code: string, message: string): SyncOutcome {
    const at = now();
    const same = lastFailure !== null && lastFailure.code === code && lastFailure.message === message;
    if (!same) {
      releaseHeld();
      lastFailure = { code, message };
    }
    if (!same || at - loggedAt >= ERROR_LOG_INTERVAL_MS) {
      logger.error({ code, policies_in_force: inForce, suppressed: held }, `policy sync failed: ${message}; keeping the last good policies`);
      loggedAt = at;
      held = 0;
    } else {
      held += 1;
    }
    return 'failed';
  }

  function recovered(): void {
    releaseHeld();
    lastFailure = null;
  }

  async function once(): Promise<SyncOutcome> {
    const fetched = await options.client.fetchPolicies(options.agent, etag, options.timeoutMs, stopping.signal);
    if (stopping.signal.aborted) return 'stopped';
    if (!fetched.ok) return failed(fetched.error.code, fetched.error.message);
    if (fetched.kind === 'not_modified') {
      recovered();
      return 'not_modified';
    }
    // A slice at a time: an answer of 100,000 domains is 100-250 ms of work in one piece, which
    // every connection's next event would wait behind.
    const answer = await pace(parsePolicyAnswerSteps(fetched.body), undefined, stopping.signal);
    if (answer === undefined || stopped()) return 'stopped';
    if (!answer.ok) return failed('KZP_ERR_CONTROL_PLANE_ANSWER', answer.message);
    const wasFailing = lastFailure !== null;
    recovered();
    const changed = await options.apply(answer.policies, stopping.signal);
    if (stopped()) return 'stopped';
    etag = fetched.etag;
    inForce = answer.policies.length;
    if (wasFailing) logger.info({ policies: inForce }, 'policy sync recovered');
    if (changed) logger.info({ policies: inForce, etag }, 'synced policies updated');
    return changed ? 'updated' : 'unchanged';
  }

  function syncNow(): Promise<SyncOutcome> {
    inFlight ??= once()
      .catch((error: unknown) => failed('KZP_ERR_DECIDER', error instanceof Error ? error.message : 'unexpected error'))
      .then((outcome) => {
        if (outcome !== 'stopped') status = outcome === 'failed' ? 'failing' : 'ok';
        return outcome;
      })
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  }

  function schedule(): void {
    if (stopping.signal.aborted) return;
    timer = setTimeout(() => {
      timer = null;
      void syncNow().finally(schedule);
    }, jitteredInterval(options.intervalMs, random()));
    timer.unref();
  }

  return {
    syncNow,
    async start() {
      const outcome = await syncNow();
      schedule();
      return outcome;
    },
    stop() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      stopping.abort();
    },
    get status() {
      return status;
    },
  };
}
