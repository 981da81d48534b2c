import { resolve } from 'node:path';
import type { ProxyConfig } from '../config/types.js';
import { createObservedRecorder, type ObservedRecorder } from '../learn/observed-recorder.js';
import type { Logger } from '../observe/logger.js';

/**
 * The observed-egress record under data_dir/observed/, or null when observed.enabled is false or the
 * caller opts out. data_dir is resolved now, as the spool resolves it: relative to a working
 * directory removed later, Node's recursive mkdir alternated between the folder and its parent for
 * ever (test/integration/learn/observed-cwd.test.ts).
 */
export function createObservedRecord(config: ProxyConfig, logger: Logger, wanted: boolean): ObservedRecorder | null {
  if (!wanted || !config.observed.enabled) return null;
  return createObservedRecorder({
    dataDir: resolve(config.dataDir),
    maxDestinations: config.observed.maxDestinations,
    flushIntervalMs: config.observed.flushIntervalMs,
    logger,
  });
}
