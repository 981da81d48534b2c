import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SpoolMetrics } from '../../contract/spool-metrics.js';
import type { Logger } from '../../observe/logger.js';
import type { VerdictClient, VerdictReport } from '../verdict-client.js';
import { createReplayBackoff } from './replay-backoff.js';
import { createReplayPacer } from './replay-pacer.js';
import type { ReportSpool, SpoolPosition } from './report-spool.js';

export interface SpoolReplayerOptions {
  readonly spool: ReportSpool;
  readonly client: VerdictClient;
  readonly ratePerSecond: number;
  readonly logger: Logger;
  readonly metrics: SpoolMetrics;
  /** Replays in flight at once (a few, so the round trip does not cap the rate). */
  readonly concurrency?: number;
  /** Wait before probing again after a failed replay: doubling from min to max. */
  readonly backoff?: { readonly minMs: number; readonly maxMs: number };
  /** The longest Retry-After the replay waits out (tests shorten it); 10 minutes by default. */
  readonly maxRetryAfterMs?: number;
}

export interface SpoolReplayer {
  /** A live call just succeeded: the control plane is back, probe now instead of after the backoff. */
  kick(): void;
  /**
   * A live call failed (not refused for good): replay pauses as after a failed replay, so an entry
   * spooled for that failure waits for the next probe instead of going out at once, and nothing is
   * sent before the failure's Retry-After.
   */
  failed(code: string, retryAfterMs: number | undefined): void;
  /** Stops sending and waits for replays in flight (each bounded by the client's deadline). */
  stop(): Promise<void>;
}

interface Slot {
  readonly position: SpoolPosition;
  state: 'sending' | 'done' | 'failed';
}

const key = (position: SpoolPosition): string => `${position.segment}:${position.start}`;

/**
 * Retry-After is honoured up to this. A rate limit asks for seconds or minutes; hours are more
 * likely a broken server than a plan, and while replay waits the backlog grows toward
 * spool.max_bytes, past which the oldest entries are dropped.
 */
const MAX_RETRY_AFTER_MS = 10 * 60_000;

/**
 * Replays the spool to the control plane, oldest first, paced to `ratePerSecond`, a few at a time.
 * The ack cursor only moves over a contiguous run of acknowledged entries, so a crash replays at
 * worst a few entries twice (the control plane drops them by event_id). When a replay fails the
 * replayer stops, lets the replays in flight finish (remembering those that succeeded so they are
 * not sent again), waits (backoff, or a kick from a live success) and probes with the oldest entry.
 * A live call that fails pauses it the same way. A Retry-After from any call, live or replayed,
 * holds every replay until it has passed: a kick does not cut that short, since the control plane
 * named the time itself and a backlog is exactly the load it asked to be spared.
 * Any 2xx acknowledges an entry, whatever its body (the client cannot read a verdict from a
 * malformed or oversized one, but the control plane has the report, and a replay's answer changes
 * nothing), so one odd answer cannot hold the spool back.
 * An entry the control plane refuses for good (400, 409, 413, 415, 422: its body, or a duplicate event_id) is dropped, counted
 * and logged, so one bad entry cannot hold the whole spool back; any other failure (a 404 from a
 * missing route included) holds the spool as an outage does.
 */
export function startSpoolReplayer(options: SpoolReplayerOptions): SpoolReplayer {
  const { spool, client, logger, metrics } = options;
  const concurrency = options.concurrency ?? 4;
  const backoff = createReplayBackoff(options.backoff?.minMs ?? 1000, options.backoff?.maxMs ?? 30_000);
  const maxRetryAfterMs = options.maxRetryAfterMs ?? MAX_RETRY_AFTER_MS;
  const pacer = createReplayPacer(options.ratePerSecond);
  const controller = new AbortController();
  const { signal } = controller;
  const window: Slot[] = [];
  const doneAhead = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  let lastRead: SpoolPosition | null = null;
  let failure: string | null = null;
  let outage = false;
  /** recoverFromFailure is running: a live failure then only extends the Retry-After hold. */
  let recovering = false;
  /** No replay before this (performance.now() ms): the latest Retry-After, capped. */
  let notBefore = 0;
  let replayedInRun = 0;
  let wakeWork: (() => void) | null = null;
  let wakeKick: (() => void) | null = null;

  let written = 0;
  const unsubscribe = spool.onWritten(() => {
    written += 1;
    wakeWork?.();
  });

  /** Re-read after each await: a replay in flight may have failed meanwhile. */
  const failing = (): boolean => failure !== null;

  function holdFor(retryAfterMs: number | undefined): void {
    if (retryAfterMs === undefined || retryAfterMs <= 0) return;
    notBefore = Math.max(notBefore, performance.now() + Math.min(retryAfterMs, maxRetryAfterMs));
  }

  function settle(): void {
    while (window[0]?.state === 'done') {
      const slot = window.shift() as Slot;
      spool.ackThrough(slot.position);
      doneAhead.delete(key(slot.position));
    }
    if (window.length === 0 && spool.pending === 0 && replayedInRun > 0) {
      logger.info({ replayed: replayedInRun }, 'spool replayed: every spooled action reached the control plane');
      replayedInRun = 0;
    }
  }

  async function replay(slot: Slot, report: VerdictReport): Promise<void> {
    const result = await client.send(report, 'background').catch(() => null);
    // Any 2xx acknowledges the entry: its body, readable or not, changes nothing for a past action.
    if (result?.ok === true || result?.delivered === true) {
      slot.state = 'done';
      metrics.replayed();
      replayedInRun += 1;
      backoff.reset();
      if (outage) {
        outage = false;
        logger.info({ pending: spool.pending }, 'control plane answers again: replaying the spool');
      }
    } else if (result?.ok === false && result.rejected === true) {
      slot.state = 'done';
      metrics.dropped('rejected', 1);
      logger.warn({ code: 'KZP_ERR_SPOOL', error: result.error.code, target: report.action.target, event_id: report.action.metadata.event_id }, `control plane refused a spooled action for good (${result.error.message}): dropped`);
    } else {
      slot.state = 'failed';
      failure = result?.error.code ?? 'KZP_ERR_DECIDER';
      if (result?.ok === false) holdFor(result.retryAfterMs);
    }
    settle();
  }

  /** Resolves on a kick, on new entries when `work` is true, after `ms` when given, or on stop. */
  function pause(ms: number | null, work: boolean): Promise<void> {
    // Stopped while the caller awaited (a slow spool read): no 'abort' is coming to end the pause.
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        if (timer !== null) clearTimeout(timer);
        signal.removeEventListener('abort', done);
        wakeKick = null;
        if (work) wakeWork = null;
        resolve();
      };
      const timer = ms === null ? null : setTimeout(done, ms);
      signal.addEventListener('abort', done);
      wakeKick = done;
      if (work) wakeWork = done;
    });
  }

  async function recoverFromFailure(): Promise<void> {
    recovering = true;
    await Promise.all(inFlight);
    for (const slot of window) if (slot.state === 'done') doneAhead.add(key(slot.position));
    window.length = 0;
    lastRead = null;
    const wait = backoff.next();
    if (!outage) {
      outage = true;
      logger.warn({ code: failure, pending: spool.pending, retry_in_ms: Math.max(wait, Math.ceil(notBefore - performance.now())) }, 'spool replay paused: the control plane is failing');
    }
    failure = null;
    await pause(wait, false);
    // Re-read each turn: a live failure may have pushed the hold further meanwhile.
    for (let left = notBefore - performance.now(); left > 0 && !signal.aborted; left = notBefore - performance.now()) {
      await sleep(left, undefined, { signal }).catch(() => undefined);
    }
    recovering = false;
  }

  async function dispatch(): Promise<void> {
    const seen = written;
    const batch = await spool.readAfter(lastRead, concurrency - inFlight.size).catch(() => null);
    if (batch === null) {
      failure = 'KZP_ERR_SPOOL';
      return;
    }
    if (batch.length === 0) {
      // Entries written while reading would not wake a pause that starts after them: read again.
      if (written !== seen) return;
      // Nor would a replay that failed while reading (nothing in flight is left to wake it): recover.
      if (failing()) return;
      await (inFlight.size > 0 ? Promise.race(inFlight) : pause(null, true));
      return;
    }
    for (const entry of batch) {
      if (failure !== null || signal.aborted) return;
      lastRead = entry.position;
      const slot: Slot = { position: entry.position, state: 'done' };
      window.push(slot);
      if (doneAhead.has(key(entry.position)) || !spool.isPending(entry.position)) continue;
      if (entry.report === null) {
        metrics.dropped('unreadable', 1);
        logger.warn({ code: 'KZP_ERR_SPOOL', segment: entry.position.segment }, 'spooled action no longer decodes: dropped');
        continue;
      }
      slot.state = 'sending';
      try {
        await pacer.take(signal);
      } catch {
        return;
      }
      // Another replay failed while this one waited its turn: it is sent again after the probe.
      if (failing()) return;
      const sending: Promise<void> = replay(slot, entry.report).finally(() => inFlight.delete(sending));
      inFlight.add(sending);
    }
    settle();
  }

  async function loop(): Promise<void> {
    while (!signal.aborted) {
      if (failure !== null) await recoverFromFailure();
      else if (inFlight.size >= concurrency) await Promise.race(inFlight);
      else await dispatch();
    }
    await Promise.all(inFlight);
  }

  const running = loop().catch((error: unknown) => {
    logger.error({ err: error, code: 'KZP_ERR_SPOOL' }, 'spool replay stopped unexpectedly');
  });

  return {
    kick() {
      wakeKick?.();
    },
    failed(code, retryAfterMs) {
      holdFor(retryAfterMs);
      if (recovering || failure !== null) return;
      // As after a failed replay: sending stops, and an idle replayer wakes only to start its pause,
      // so the entry spooled for this failure waits for the next probe.
      failure = code;
      wakeWork?.();
    },
    async stop() {
      controller.abort();
      unsubscribe();
      await running;
    },
  };
}
