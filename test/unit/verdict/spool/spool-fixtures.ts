import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SpoolDropReason, SpoolMetrics } from '../../../../src/contract/spool-metrics.js';
import type { VerdictReport } from '../../../../src/verdict/verdict-client.js';

/** Shared by the spool unit tests: reports with numbered event ids, and counting metrics. */
export function report(n: number, pad = 0): VerdictReport {
  return {
    agent: 'agent-1',
    action: {
      kind: 'http',
      target: `host-${n}.example:443`,
      metadata: { source: 'egress', method: 'GET', path: `/${'p'.repeat(pad)}`, event_id: `e-${n}`, observed_at: '2025-01-01T00:00:00.000Z' },
    },
    verdict: { decision: 'allow', reason: 'Kaizen control plane could not be reached; allowed because fail mode is open', evidence: [] },
  };
}

export const eventId = (entry: VerdictReport | null): string | undefined => entry?.action.metadata.event_id;

export interface CountingMetrics extends SpoolMetrics {
  readonly counts: { spooled: number; replayed: number; dropped: Partial<Record<SpoolDropReason, number>> };
}

export function countingMetrics(): CountingMetrics {
  const counts: CountingMetrics['counts'] = { spooled: 0, replayed: 0, dropped: {} };
  return {
    counts,
    spooled: () => {
      counts.spooled += 1;
    },
    replayed: () => {
      counts.replayed += 1;
    },
    dropped: (reason, count) => {
      counts.dropped[reason] = (counts.dropped[reason] ?? 0) + count;
    },
  };
}

export const tempDir = (): string => mkdtempSync(join(tmpdir(), 'kzp-spool-'));
