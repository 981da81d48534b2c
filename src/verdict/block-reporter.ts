import { KaizenProxyError } from '../errors/kaizen-error.js';
import type { Logger } from '../observe/logger.js';
import type { ControlPlaneResult, VerdictClient, VerdictReport } from './verdict-client.js';

/**
 * Reports blocks decided locally (guard, local policy) to the control plane, fire and forget: the
 * decision never waits for it, and its answer cannot change the block. Bounded: beyond
 * `maxInFlight` a report goes to `overflow` (the spool) instead of the network, and every answer
 * goes to `settled` (so a failed report can be spooled). Without those hooks an overflow is
 * dropped, counted and logged.
 */
export interface BlockReporter {
  report(report: VerdictReport): void;
  /** Resolves when every report in flight has finished (each has the client's deadline). */
  drain(): Promise<void>;
}

export interface BlockReporterOptions {
  readonly client: VerdictClient;
  readonly logger: Logger;
  readonly maxInFlight?: number;
  /** Told how each report ended (a failure included); must not throw. */
  readonly settled?: (report: VerdictReport, result: ControlPlaneResult) => void;
  /** Takes the reports beyond maxInFlight; they are dropped and logged without it. */
  readonly overflow?: (report: VerdictReport) => void;
}

export function createBlockReporter(options: BlockReporterOptions): BlockReporter {
  const maxInFlight = options.maxInFlight ?? 64;
  const inFlight = new Set<Promise<void>>();
  let dropped = 0;

  return {
    report(report) {
      if (inFlight.size >= maxInFlight) {
        if (options.overflow !== undefined) {
          options.overflow(report);
          return;
        }
        dropped += 1;
        if (dropped === 1 || dropped % 1000 === 0) {
          options.logger.warn({ dropped, target: report.action.target }, 'too many block reports in flight: dropping');
        }
        return;
      }
      // The client never rejects and logs its own failures; the catch guards against a programming error.
      const sending: Promise<void> = options.client
        .send(report, 'background')
        .then(
          (result) => {
            options.settled?.(report, result);
          },
          (error: unknown) => {
            options.logger.error({ err: error, target: report.action.target }, 'block report failed unexpectedly');
            options.settled?.(report, { ok: false, error: new KaizenProxyError('KZP_ERR_DECIDER', 'block report failed unexpectedly') });
          },
        )
        .finally(() => {
          inFlight.delete(sending);
        });
      inFlight.add(sending);
    },
    async drain() {
      await Promise.all(inFlight);
    },
  };
}
