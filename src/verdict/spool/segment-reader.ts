import { open } from 'node:fs/promises';
import type { VerdictReport } from '../verdict-client.js';
import { scanRecords } from './record-frame.js';
import { segmentPath } from './segment-file.js';
import { HEADER_BYTES, type SegmentState, type SegmentTable, type SpoolPosition } from './segment-table.js';
import { decodeEntry } from './spool-entry.js';

/** An entry read back for replay; `report` is null when its bytes no longer decode. */
export interface SpooledReport {
  readonly position: SpoolPosition;
  readonly report: VerdictReport | null;
}

/** Up to `max` written records of `segment` that end after `offset`, decoded. */
export async function readSegment(dir: string, segment: SegmentState, offset: number, max: number): Promise<SpooledReport[]> {
  const ends = segment.ends.filter((end) => end > offset && end <= segment.written).slice(0, max);
  const last = ends[ends.length - 1];
  if (last === undefined) return [];
  const buffer = Buffer.alloc(last - offset);
  let handle;
  try {
    handle = await open(segmentPath(dir, segment.id), 'r');
  } catch {
    // Deleted meanwhile (acknowledged, or dropped for the size bound): nothing left to replay there.
    return [];
  }
  try {
    await handle.read(buffer, 0, buffer.length, offset);
  } finally {
    await handle.close();
  }
  // By end: a record after one skipped at recovery starts past its entry's start.
  const intact = new Map(scanRecords(buffer, 0, offset).records.map((record) => [record.end, record.payload]));
  let start = offset;
  return ends.map((end) => {
    const payload = intact.get(end);
    const entry: SpooledReport = { position: { segment: segment.id, start, end }, report: payload === undefined ? null : (decodeEntry(payload) ?? null) };
    start = end;
    return entry;
  });
}

/** Written, unacknowledged entries of the spool in `dir` after `after` (from the ack cursor when null), oldest first. */
export async function readPending(dir: string, table: SegmentTable, after: SpoolPosition | null, max: number): Promise<SpooledReport[]> {
  const out: SpooledReport[] = [];
  const cursor = table.cursor;
  const from = after !== null && table.isPending(after) ? after : null;
  for (const segment of table.segments) {
    if (out.length >= max) break;
    if (segment.id < (from?.segment ?? cursor.segment)) continue;
    const offset = from !== null && segment.id === from.segment ? from.end : segment.id === cursor.segment ? cursor.offset : HEADER_BYTES;
    out.push(...(await readSegment(dir, segment, offset, max - out.length)));
  }
  return out;
}
