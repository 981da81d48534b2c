import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scanRecords } from './record-frame.js';

/**
 * Segment files: `seg-<16 digits>.kzs`, append-only, each starting with an 8-byte magic that names
 * the format, then framed records. Ids only grow, so name order is append order.
 */
export const SEGMENT_MAGIC = Buffer.from('KZSPOOL1', 'latin1');
const NAME_RE = /^seg-(\d{16})\.kzs$/;

export function segmentName(id: number): string {
  return `seg-${String(id).padStart(16, '0')}.kzs`;
}

export function segmentPath(dir: string, id: number): string {
  return join(dir, segmentName(id));
}

/** Segment ids in `dir`, oldest first. */
export async function listSegmentIds(dir: string): Promise<number[]> {
  const names = await readdir(dir);
  const ids: number[] = [];
  for (const name of names) {
    const match = NAME_RE.exec(name);
    if (match?.[1] !== undefined) ids.push(Number(match[1]));
  }
  return ids.sort((a, b) => a - b);
}

export interface LoadedSegment {
  readonly id: number;
  /** End offset of every intact record, in order (record i spans ends[i-1] (or the header) to ends[i]). */
  readonly ends: number[];
  /** Where the intact part ends: a torn tail starts here. */
  readonly validEnd: number;
  readonly tornBytes: number;
  /** Records before validEnd skipped for a failing checksum (see scanRecords): in no entry's `ends`. */
  readonly skipped: number;
  /** The file does not start with the magic: not a segment this version can read. */
  readonly foreign: boolean;
}

/** Reads and checks a whole segment (at most a few MiB): which records are intact, where it was torn. */
export async function loadSegment(dir: string, id: number): Promise<LoadedSegment> {
  const buffer = await readFile(segmentPath(dir, id));
  if (buffer.length < SEGMENT_MAGIC.length) {
    // A crash while the file was first written: no record in it is whole.
    return { id, ends: [], validEnd: SEGMENT_MAGIC.length, tornBytes: buffer.length, skipped: 0, foreign: false };
  }
  if (!buffer.subarray(0, SEGMENT_MAGIC.length).equals(SEGMENT_MAGIC)) {
    return { id, ends: [], validEnd: 0, tornBytes: buffer.length, skipped: 0, foreign: true };
  }
  const scan = scanRecords(buffer, SEGMENT_MAGIC.length);
  return { id, ends: scan.records.map((record) => record.end), validEnd: scan.validEnd, tornBytes: scan.tornBytes, skipped: scan.skipped, foreign: false };
}
