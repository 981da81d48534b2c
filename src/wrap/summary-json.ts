import { writeFile } from 'node:fs/promises';
import type { ChildOutcome } from './child-outcome.js';
import type { DestinationRow, RefusalRow } from './egress-tally.js';

/** The --summary-json document: the table's rows with exact numbers, plus how the child ended. */
export interface SummaryDocument {
  readonly agent: string;
  readonly exit_code: number;
  /** The signal that killed the child, or null. */
  readonly signal: string | null;
  readonly destinations: readonly {
    readonly kind: string;
    readonly target: string;
    readonly decision: DestinationRow['decision'];
    readonly count: number;
    readonly allowed: number;
    readonly blocked: number;
    readonly would_block: number;
    readonly reason: string | null;
    readonly bytes_up: number;
    readonly bytes_down: number;
  }[];
  /** Clients refused before any action existed (limits, credentials), per reason. */
  readonly refused: readonly RefusalRow[];
}

export function summaryDocument(
  agent: string,
  outcome: ChildOutcome,
  exitCode: number,
  rows: readonly DestinationRow[],
  refused: readonly RefusalRow[],
): SummaryDocument {
  return {
    agent,
    exit_code: exitCode,
    signal: outcome.kind === 'signalled' ? outcome.signal : null,
    destinations: rows.map((row) => ({
      kind: row.kind,
      target: row.target,
      decision: row.decision,
      count: row.count,
      allowed: row.allowed,
      blocked: row.blocked,
      would_block: row.wouldBlock,
      reason: row.reason,
      bytes_up: row.bytesUp,
      bytes_down: row.bytesDown,
    })),
    refused,
  };
}

export async function writeSummaryJson(file: string, document: SummaryDocument): Promise<void> {
  await writeFile(file, `${JSON.stringify(document, null, 2)}\n`);
}
