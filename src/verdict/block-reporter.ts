import type { Logger } from '../observe/logger.js';
import type { VerdictClient, VerdictReport } from './verdict-client.js';

/**
 * Reports blocks decided locally (guard, local policy) to the control plane, fire and forget: the
 * decision never waits for it, and its answer cannot change the block. Bounded: beyond `maxInFlight`
 * reports are dropped and counted (the spooled report queue of a later issue replaces this).
 */
export interface BlockReporter {
  report(report: VerdictReport): void;
  /** Resolves when every report in flight has finished (each has the client's deadline). */
  drain(): Promise<void>;
}

export function createBlockReporter(options: { client: VerdictClient; logger: Logger; maxInFlight?: number }): BlockReporter {
  const maxInFlight = options.maxInFlight ?? 64;
  const inFlight = new Set<Promise<void>>();
  let dropped = 0;

  return {
    report(report) {
      if (inFlight.size >= maxInFlight) {
        dropped += 1;
        if (dropped === 1 || dropped % 1000 === 0) {
          options.logger.warn({ dropped, target: report.action.target }, 'too many block reports in flight: dropping');
        }
        return;
      }
      // The client never rejects and logs its own failures; the catch guards against a programming error.
      const sending: Promise<void> = options.client
        .send(report)
        .then(() => undefined)
        .catch((error: unknown) => {
          options.logger.error({ err: error, target: report.action.target }, 'block report failed unexpectedly');
        })
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
