import { performance } from 'node:perf_hooks';
import type { SpoolMetrics } from '../../contract/spool-metrics.js';
import type { Logger } from '../../observe/logger.js';
import { createBlockReporter } from '../block-reporter.js';
import { createRateGate } from '../rate-gate.js';
import type { ControlPlaneFailure, VerdictClient, VerdictReport } from '../verdict-client.js';
import type { ReportSpool } from './report-spool.js';
import { startSpoolReplayer } from './spool-replayer.js';

/**
 * Everything the decider reports beside its live verdict calls: locally decided blocks (sent in
 * the background), and actions the control plane did not get when they happened (its call failed:
 * fail mode, stale verdicts). Whatever cannot be delivered goes to the spool, which is replayed
 * once the control plane answers again. Without a spool (data_dir unusable) such actions are
 * counted as dropped and logged, never lost silently.
 */
export interface ReportOutbox {
  /** A local block (or a would-block in monitor mode): sent now, spooled if that fails. */
  report(report: VerdictReport): void;
  /** An action whose verdict call failed: straight to the spool. */
  undelivered(report: VerdictReport): void;
  /** A live verdict call was answered 2xx (a verdict or not): replay can start at once (unless a Retry-After still holds it). */
  answered(): void;
  /** A live verdict call failed: replay waits for its next probe, and past the failure's Retry-After. Call it before spooling the action. */
  failed(result: ControlPlaneFailure): void;
  /**
   * An action whose live verdict call the control plane refused for good (the report itself: a
   * replay would be refused the same): not spooled, counted as dropped `rejected` (the client logged it).
   */
  refused(): void;
  /**
   * Replay stops: no new probe, the one in flight finished. The spool stays open for what still
   * fails. A shutdown calls it first, so that no probe starts while it waits for verdict calls.
   */
  stopReplay(): Promise<void>;
  /** Background reports finish (failures spooled), replay stops, the spool is written and closed. */
  close(): Promise<void>;
}

export interface ReportOutboxOptions {
  readonly client: VerdictClient;
  readonly spool: ReportSpool | null;
  readonly ratePerSecond: number;
  readonly logger: Logger;
  readonly metrics: SpoolMetrics;
  /** Replay probing backoff (tests shorten it). */
  readonly backoff?: { readonly minMs: number; readonly maxMs: number };
}

const UNAVAILABLE_LOG_INTERVAL_MS = 60_000;

export function createReportOutbox(options: ReportOutboxOptions): ReportOutbox {
  const { client, spool, logger, metrics } = options;
  const unavailableGate = createRateGate(UNAVAILABLE_LOG_INTERVAL_MS, () => performance.now());
  const replayer =
    spool === null
      ? null
      : startSpoolReplayer({
          spool,
          client,
          ratePerSecond: options.ratePerSecond,
          logger,
          metrics,
          ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
        });

  function undelivered(report: VerdictReport): void {
    if (spool !== null) {
      spool.append(report);
      return;
    }
    metrics.dropped('unavailable', 1);
    const gate = unavailableGate.pass();
    if (gate.open) {
      logger.warn({ code: 'KZP_ERR_SPOOL', target: report.action.target, suppressed: gate.suppressed }, 'no spool: an action the control plane did not get is dropped');
    }
  }

  function failed(result: ControlPlaneFailure): void {
    if (result.rejected !== true) replayer?.failed(result.error.code, result.retryAfterMs);
  }

  const reporter = createBlockReporter({
    client,
    logger,
    overflow: undelivered,
    settled(report, result) {
      // A complete 2xx, readable or not: the control plane has the report (the client logged an unreadable one).
      if (result.ok || result.delivered === true) {
        replayer?.kick();
        return;
      }
      if (result.rejected === true) {
        metrics.dropped('rejected', 1);
        logger.warn({ code: 'KZP_ERR_SPOOL', error: result.error.code, target: report.action.target }, 'control plane refused a block report for good: dropped');
        return;
      }
      failed(result);
      undelivered(report);
    },
  });

  return {
    report(report) {
      // Behind a backlog, a new report waits its turn in the spool: order holds, and a control
      // plane that is still failing is not asked again.
      if (spool !== null && spool.pending > 0) spool.append(report);
      else reporter.report(report);
    },
    undelivered,
    answered() {
      replayer?.kick();
    },
    failed,
    refused() {
      metrics.dropped('rejected', 1);
    },
    async stopReplay() {
      await replayer?.stop();
    },
    async close() {
      await reporter.drain();
      await replayer?.stop();
      await spool?.close();
    },
  };
}
