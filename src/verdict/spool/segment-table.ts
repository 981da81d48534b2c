import type { AckCursor } from './ack-cursor.js';
import { SEGMENT_MAGIC } from './segment-file.js';

/** One entry's place in the spool: its segment and the byte range of its frame. */
export interface SpoolPosition {
  readonly segment: number;
  readonly start: number;
  readonly end: number;
}

/** What the spool knows of one segment file, written or still to be written. */
export interface SegmentState {
  readonly id: number;
  /**
   * End offset of every record, in order, including records not yet written. An entry spans from
   * the previous end (or the header) to its own: a damaged record skipped at recovery lies inside
   * the span of the entry after it.
   */
  readonly ends: number[];
  /** Bytes of the file once everything queued is written (header included). */
  size: number;
  /** Bytes already written to the file: readers never look past this. */
  written: number;
  /** Frames waiting for the next batched write. */
  readonly queued: Buffer[];
}

export const HEADER_BYTES = SEGMENT_MAGIC.length;

/**
 * The spool's bookkeeping, without I/O: segments in order, the ack cursor, and counts of what is
 * still unacknowledged. The last segment takes appends; a full one is sealed and a new one begins.
 */
export class SegmentTable {
  readonly segments: SegmentState[] = [];
  #cursor: AckCursor;
  #nextId: number;

  constructor(segments: readonly SegmentState[], cursor: AckCursor) {
    this.segments.push(...segments);
    const last = segments[segments.length - 1];
    this.#nextId = Math.max(cursor.segment, last === undefined ? 1 : last.id + 1);
    this.#cursor = cursor;
  }

  get cursor(): AckCursor {
    return this.#cursor;
  }

  /** Bytes the spool holds on disk (or will once written): what spool.max_bytes bounds. */
  get bytes(): number {
    let total = 0;
    for (const segment of this.segments) total += segment.size;
    return total;
  }

  /** Entries not yet acknowledged. */
  get pending(): number {
    let total = 0;
    for (const segment of this.segments) total += this.pendingIn(segment);
    return total;
  }

  pendingIn(segment: SegmentState): number {
    if (segment.id < this.#cursor.segment) return 0;
    if (segment.id > this.#cursor.segment) return segment.ends.length;
    return segment.ends.length - firstAfter(segment.ends, this.#cursor.offset);
  }

  find(id: number): SegmentState | undefined {
    return this.segments.find((segment) => segment.id === id);
  }

  /** Queues a frame on the last segment, opening a new one when it would pass `segmentBytes`. */
  append(frame: Buffer, segmentBytes: number): SpoolPosition {
    let last = this.segments[this.segments.length - 1];
    if (last === undefined || (last.ends.length > 0 && last.size + frame.length > segmentBytes)) {
      last = { id: this.#nextId, ends: [], size: HEADER_BYTES, written: 0, queued: [] };
      this.#nextId += 1;
      this.segments.push(last);
    }
    const start = last.size;
    last.size += frame.length;
    last.ends.push(last.size);
    last.queued.push(frame);
    return { segment: last.id, start, end: last.size };
  }

  /** Removes a segment whose file is gone (its pending entries appended again elsewhere); the cursor moves past it. */
  forget(id: number): void {
    const index = this.segments.findIndex((segment) => segment.id === id);
    if (index < 0) return;
    this.segments.splice(index, 1);
    if (this.#cursor.segment === id) this.#cursor = { segment: this.segments[index]?.id ?? this.#nextId, offset: HEADER_BYTES };
  }

  /** Removes the oldest segment (never the only one) for the size bound: how many unacked entries it held. */
  dropOldest(): { readonly segment: SegmentState; readonly entries: number } | null {
    const oldest = this.segments[0];
    const next = this.segments[1];
    if (oldest === undefined || next === undefined) return null;
    const entries = this.pendingIn(oldest);
    this.segments.shift();
    if (this.#cursor.segment <= oldest.id) this.#cursor = { segment: next.id, offset: HEADER_BYTES };
    return { segment: oldest, entries };
  }

  /** True while the entry is neither acknowledged nor dropped. */
  isPending(position: SpoolPosition): boolean {
    if (this.find(position.segment) === undefined) return false;
    return position.segment > this.#cursor.segment || (position.segment === this.#cursor.segment && position.end > this.#cursor.offset);
  }

  /**
   * Moves the cursor past `position`; returns how many entries that acknowledged and the
   * segments now entirely acknowledged (to delete). A fully acknowledged last segment is retired
   * too, so the next append starts a fresh file.
   */
  ackThrough(position: SpoolPosition): { readonly acked: number; readonly retired: SegmentState[] } {
    if (!this.isPending(position)) return { acked: 0, retired: [] };
    let acked = 0;
    for (const segment of this.segments) {
      if (segment.id > position.segment) break;
      const from = segment.id === this.#cursor.segment ? this.#cursor.offset : 0;
      const to = segment.id === position.segment ? position.end : Number.POSITIVE_INFINITY;
      if (segment.id >= this.#cursor.segment) acked += firstAfter(segment.ends, to) - firstAfter(segment.ends, from);
    }
    this.#cursor = { segment: position.segment, offset: position.end };
    const retired: SegmentState[] = [];
    while (this.segments[0] !== undefined && this.segments[0].id < this.#cursor.segment) retired.push(this.segments.shift() as SegmentState);
    const only = this.segments[0];
    if (only !== undefined && this.segments.length === 1 && only.id === this.#cursor.segment && this.#cursor.offset >= only.size && only.queued.length === 0) {
      this.segments.shift();
      retired.push(only);
      this.#cursor = { segment: this.#nextId, offset: HEADER_BYTES };
    }
    return { acked, retired };
  }
}

/** Index of the first record whose end lies past `offset` (records before it are at or before it). */
function firstAfter(ends: readonly number[], offset: number): number {
  let low = 0;
  let high = ends.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((ends[mid] ?? 0) <= offset) low = mid + 1;
    else high = mid;
  }
  return low;
}
