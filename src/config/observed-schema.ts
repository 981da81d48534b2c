import { z } from 'zod';
import { duration } from './duration.js';

/** The observed-egress record (data_dir/observed/<agent>.json) that `kaizen-proxy manifest` reads. */
export const observedSchema = z.strictObject({
  enabled: z.boolean().describe('Keep a record of what each agent did, for kaizen-proxy manifest.').default(true),
  max_destinations: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .describe('Destinations (host:port) kept per agent; beyond it new ones are only counted.')
    .default(1000),
  flush_interval: duration('How long changes may wait before the record is rewritten (atomically).', { min: 10, max: 600_000 }).prefault('5s'),
});
