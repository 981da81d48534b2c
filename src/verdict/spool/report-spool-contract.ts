import type { SpoolMetrics } from '../../contract/spool-metrics.js';
import type { Logger } from '../../observe/logger.js';
import type { VerdictReport } from '../verdict-client.js';
import type { SpooledReport } from './segment-reader.js';
import type { SpoolPosition } from './segment-table.js';
import type { HeldSlot } from './slot-keeper.js';

/** What openReportSpool takes and gives (report-spool.ts); the spool's users depend on this alone. */
export interface ReportSpoolOptions {
  /** The slot directory, locked by the caller. */
  readonly dir: string;
  readonly maxBytes: number;
  /** Appends are written at once (one write per event-loop turn) and fsynced at least this often. */
  readonly flushIntervalMs: number;
  readonly logger: Logger;
  readonly metrics: SpoolMetrics;
  /**
   * Asked before a file is opened, the cursor written, a segment deleted or read (see SlotKeeper):
   * the slot directory to use, its generation grown when nothing this spool wrote is in it any more.
   */
  readonly hold?: () => Promise<HeldSlot>;
}

export interface ReportSpool {
  /** Queues a report for the next batched write. Never throws, never waits. */
  append(report: VerdictReport): void;
  /** Written, unacknowledged entries after `after` (from the ack cursor when null), oldest first. */
  readAfter(after: SpoolPosition | null, max: number): Promise<SpooledReport[]>;
  /** False once the entry was acknowledged or dropped for the size bound. */
  isPending(position: SpoolPosition): boolean;
  /** The control plane has everything up to and including this entry. */
  ackThrough(position: SpoolPosition): void;
  /** Entries not acknowledged yet (written or queued). */
  readonly pending: number;
  readonly bytes: number;
  /** Resolves once everything appended before the call is written and synced. */
  flush(): Promise<void>;
  /** `listener` runs after each write that added entries; returns the unsubscribe. */
  onWritten(listener: () => void): () => void;
  close(): Promise<void>;
}

/** Segments: an eighth of the bound (so dropping the oldest frees little), between 4 KiB and 8 MiB. */
export function segmentBytesFor(maxBytes: number): number {
  return Math.max(4096, Math.min(8 * 1024 * 1024, Math.floor(maxBytes / 8)));
}
