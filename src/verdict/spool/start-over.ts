import type { FileHandle } from 'node:fs/promises';
import type { SpoolMetrics } from '../../contract/spool-metrics.js';
import type { Logger } from '../../observe/logger.js';
import { framesThrough } from './lost-segment.js';
import { HEADER_BYTES, type SegmentTable } from './segment-table.js';

/**
 * The spool's directory is new (made again after data_dir was removed, or another slot): nothing
 * the spool wrote is in it. Every pending entry that can still be had, read back through a segment
 * file still open (the one taking appends) or still queued, is appended again, to new segments
 * written there; the entries of files already closed went with the directory and are counted as
 * dropped `unreadable`. Closes every handle (they point into the old directory).
 */
export async function startOver(table: SegmentTable, handles: Map<number, FileHandle>, segmentBytes: number, logger: Logger, metrics: SpoolMetrics): Promise<void> {
  const frames: Buffer[] = [];
  let lost = 0;
  for (const segment of [...table.segments]) {
    const pending = table.pendingIn(segment);
    const handle = handles.get(segment.id);
    const from = table.cursor.segment === segment.id ? table.cursor.offset : HEADER_BYTES;
    const kept = handle === undefined ? [...segment.queued] : await framesThrough(handle, segment, from).catch(() => [...segment.queued]);
    lost += Math.max(0, pending - kept.length);
    frames.push(...kept);
    table.forget(segment.id);
  }
  // Appended again before any other await, so an append meanwhile stays behind them.
  for (const frame of frames) table.append(frame, segmentBytes);
  const open = [...handles.values()];
  handles.clear();
  for (const handle of open) await handle.close().catch(() => undefined);
  if (lost > 0) {
    metrics.dropped('unreadable', lost);
    logger.warn({ code: 'KZP_ERR_SPOOL', dropped: lost, kept: frames.length }, 'spooled actions lost with the removed spool directory: dropped them, kept the rest');
  }
}
