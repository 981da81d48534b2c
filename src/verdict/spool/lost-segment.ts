import type { FileHandle } from 'node:fs/promises';
import type { SpoolMetrics } from '../../contract/spool-metrics.js';
import type { Logger } from '../../observe/logger.js';
import { encodeRecord, scanRecords } from './record-frame.js';
import { segmentPath } from './segment-file.js';
import { HEADER_BYTES, type SegmentState, type SegmentTable } from './segment-table.js';

/**
 * The segment file the spool appends to, changed under the running proxy (by hand, a disk
 * cleaner), while it stays open here:
 * - deleted: new entries went on into an inode no name reaches, replay could not read them, and a
 *   restart lost them, while every block report queued behind them waited for ever;
 * - cut short (truncated): appends went where the file now ends while the spool placed them after
 *   the old end, so replay read every entry spooled after the cut at the wrong offset and dropped it.
 * Found by its link count or its size (below what the spool wrote), before the next append and at
 * each sync: its entries still pending (from `from` on) and whole in the file are read back through
 * the handle, with those still queued, as frames to append again to a new file. Null otherwise.
 */
export async function framesOfLost(handle: FileHandle, segment: SegmentState, from: number): Promise<{ readonly frames: Buffer[]; readonly cut: boolean } | null> {
  const stats = await handle.stat().catch(() => null);
  if (stats === null) return null;
  const cut = stats.nlink > 0 && stats.size < segment.written;
  if (stats.nlink > 0 && !cut) return null;
  const frames = await framesThrough(handle, segment, from).catch(() => null);
  return frames === null ? null : { frames, cut };
}

/** The segment's entries from `from` on, written (read back through `handle`, as far as they are whole) or queued, as frames. */
export async function framesThrough(handle: FileHandle, segment: SegmentState, from: number): Promise<Buffer[]> {
  const frames: Buffer[] = [];
  if (segment.written > from) {
    const buffer = Buffer.alloc(segment.written - from);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, from);
    for (const record of scanRecords(buffer.subarray(0, bytesRead)).records) frames.push(encodeRecord(record.payload));
  }
  return [...frames, ...segment.queued];
}

/**
 * Moves the entries of every open segment found deleted or cut short (framesOfLost) to new
 * segments, closing its handle; what a cut took is counted as dropped `unreadable`. Only segments
 * with queued frames when `queuedOnly` (before a write: one stat). Returns the ids moved, whose
 * files are to be deleted (a cut one still holds entries now appended again).
 */
export async function rescueLost(
  table: SegmentTable,
  handles: Map<number, FileHandle>,
  context: { readonly dir: string; readonly segmentBytes: number; readonly logger: Logger; readonly metrics: SpoolMetrics; readonly queuedOnly: boolean },
): Promise<number[]> {
  const moved: number[] = [];
  for (const [id, handle] of handles) {
    const segment = table.find(id);
    if (segment === undefined || (context.queuedOnly && segment.queued.length === 0)) continue;
    const from = table.cursor.segment === id ? table.cursor.offset : HEADER_BYTES;
    const lost = await framesOfLost(handle, segment, from);
    if (lost === null) continue;
    const dropped = Math.max(0, table.pendingIn(segment) - lost.frames.length);
    // Before any other await: an append meanwhile would be queued on the segment being forgotten.
    handles.delete(id);
    table.forget(id);
    for (const frame of lost.frames) table.append(frame, context.segmentBytes);
    await handle.close().catch(() => undefined);
    moved.push(id);
    const fields = { code: 'KZP_ERR_SPOOL', segment: segmentPath(context.dir, id), moved: lost.frames.length, dropped };
    if (!lost.cut) context.logger.error(fields, 'spool segment was deleted while in use: its spooled actions are written to a new one');
    else context.logger.error(fields, 'spool segment was cut short while in use: its whole spooled actions, and those after, are written to a new one');
    if (dropped > 0) context.metrics.dropped('unreadable', dropped);
  }
  return moved;
}
