import { performance } from 'node:perf_hooks';
import type { Logger } from '../../observe/logger.js';
import { createRateGate } from '../rate-gate.js';

/** Spool write failures (a full or read-only disk): one error line a minute, and one line when writes work again. */
export interface WriteErrorLog {
  failed(error: unknown, what: string): void;
  recovered(): void;
}

const INTERVAL_MS = 60_000;

export function createWriteErrorLog(logger: Logger): WriteErrorLog {
  const gate = createRateGate(INTERVAL_MS, () => performance.now());
  let failing = false;
  return {
    failed(error, what) {
      failing = true;
      const pass = gate.pass();
      if (!pass.open) return;
      const reason = error instanceof Error && 'code' in error ? String(error.code) : 'unknown';
      logger.error({ code: 'KZP_ERR_SPOOL', reason, suppressed: pass.suppressed }, `spool ${what} failed: spooled actions are kept in memory and retried`);
    },
    recovered() {
      if (!failing) return;
      failing = false;
      logger.info('spool writes work again');
    },
  };
}
