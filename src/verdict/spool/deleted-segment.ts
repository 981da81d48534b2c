import type { FileHandle } from 'node:fs/promises';
import { encodeRecord, scanRecords } from './record-frame.js';
import type { SegmentState } from './segment-table.js';

/**
 * A segment file deleted under the running proxy (by hand, a disk cleaner) is still open here, as
 * the spool's last segment: new entries went on into an inode no name reaches, replay could not
 * read them, and a restart lost them, while every block report queued behind them waited for
 * ever. Found by its link count, its entries still pending (from `from` on, written or queued) are
 * read back through the open handle, as frames to append again to a new file. Null while the file
 * is still linked.
 */
export async function framesOfDeleted(handle: FileHandle, segment: SegmentState, from: number): Promise<Buffer[] | null> {
  const stats = await handle.stat().catch(() => null);
  if (stats === null || stats.nlink > 0) return null;
  return framesThrough(handle, segment, from);
}

/** The segment's entries from `from` on, written (read back through `handle`) or queued, as frames. */
export async function framesThrough(handle: FileHandle, segment: SegmentState, from: number): Promise<Buffer[]> {
  const frames: Buffer[] = [];
  if (segment.written > from) {
    const buffer = Buffer.alloc(segment.written - from);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, from);
    for (const record of scanRecords(buffer.subarray(0, bytesRead)).records) frames.push(encodeRecord(record.payload));
  }
  return [...frames, ...segment.queued];
}
