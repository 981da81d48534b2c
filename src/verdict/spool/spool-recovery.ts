import { rename, truncate, unlink } from 'node:fs/promises';
import type { SpoolMetrics } from '../../contract/spool-metrics.js';
import type { Logger } from '../../observe/logger.js';
import { readAckCursor, type AckCursor } from './ack-cursor.js';
import { listSegmentIds, loadSegment, segmentPath } from './segment-file.js';
import { HEADER_BYTES, SegmentTable, type SegmentState } from './segment-table.js';

/**
 * Reads every segment and the cursor: damaged records skipped, torn tails cut off (both counted as
 * `unreadable`: a torn tail as one record, all that can be told of it), acknowledged segments deleted.
 */
export async function recoverSpool(dir: string, logger: Logger, metrics: SpoolMetrics): Promise<SegmentTable> {
  const segments: SegmentState[] = [];
  const ids = await listSegmentIds(dir);
  for (const [index, id] of ids.entries()) {
    const loaded = await loadSegment(dir, id);
    const path = segmentPath(dir, id);
    if (loaded.foreign) {
      logger.error({ code: 'KZP_ERR_SPOOL', segment: path }, 'spool segment in an unknown format: set aside as .unreadable');
      await rename(path, `${path}.unreadable`);
      continue;
    }
    if (loaded.skipped > 0) {
      metrics.dropped('unreadable', loaded.skipped);
      logger.warn({ code: 'KZP_ERR_SPOOL', segment: path, dropped: loaded.skipped, kept: loaded.ends.length }, 'spool segment holds records that fail their checksum: dropped them, kept the intact records around them');
    }
    if (loaded.tornBytes > 0) {
      metrics.dropped('unreadable', 1);
      logger.warn({ code: 'KZP_ERR_SPOOL', segment: path, kept: loaded.ends.length, torn_bytes: loaded.tornBytes, dropped: 1 }, 'spool segment ends in a torn record: dropped it, kept the records before it');
    }
    if (loaded.ends.length === 0) {
      await unlink(path);
      continue;
    }
    if (index === ids.length - 1 && loaded.tornBytes > 0) await truncate(path, loaded.validEnd);
    segments.push({ id, ends: loaded.ends, size: loaded.validEnd, written: loaded.validEnd, queued: [] });
  }
  const cursor = normalCursor(await readAckCursor(dir), segments);
  while (segments[0] !== undefined && segments[0].id < cursor.segment) {
    const acked = segments.shift() as SegmentState;
    await unlink(segmentPath(dir, acked.id));
  }
  return new SegmentTable(segments, cursor);
}

function normalCursor(saved: AckCursor | null, segments: readonly SegmentState[]): AckCursor {
  const first = segments[0];
  if (saved === null) return { segment: first?.id ?? 1, offset: HEADER_BYTES };
  const at = segments.find((segment) => segment.id === saved.segment);
  if (at !== undefined) return { segment: at.id, offset: Math.min(Math.max(saved.offset, HEADER_BYTES), at.size) };
  const next = segments.find((segment) => segment.id > saved.segment);
  if (next !== undefined) return { segment: next.id, offset: HEADER_BYTES };
  const last = segments[segments.length - 1];
  return { segment: Math.max(saved.segment, (last?.id ?? 0) + 1), offset: HEADER_BYTES };
}
