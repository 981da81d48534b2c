import { mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { writeAckCursor } from './ack-cursor.js';
import { OWNER_ONLY_DIR, OWNER_ONLY_FILE } from './owner-only.js';
import { encodeRecord } from './record-frame.js';
import { SEGMENT_MAGIC, segmentPath } from './segment-file.js';
import { rescueLost } from './lost-segment.js';
import { segmentBytesFor, type ReportSpool, type ReportSpoolOptions } from './report-spool-contract.js';
import { startOver } from './start-over.js';
import { readPending } from './segment-reader.js';
import { encodeEntry } from './spool-entry.js';
import { recoverSpool } from './spool-recovery.js';
import { HEADER_BYTES, type SegmentState } from './segment-table.js';
import { createWriteErrorLog } from './write-error-log.js';

export type { SpoolPosition } from './segment-table.js';
export type { SpooledReport } from './segment-reader.js';
export { segmentBytesFor, type ReportSpool, type ReportSpoolOptions } from './report-spool-contract.js';

/** A failed write (full or read-only disk) is retried after this long: at once, it kept a core busy. */
const WRITE_RETRY_MS = 1000;

/**
 * The durable report spool of one slot directory: append-only segment files of framed records,
 * written and fsynced in batches, bounded by max_bytes (the oldest segment is dropped, counted and
 * logged), acknowledged through a cursor file, compacted by deleting segments once acknowledged.
 * Opening it recovers what is on disk: a damaged record is skipped and a torn last record cut off
 * (each counted as dropped `unreadable`), every intact record kept.
 */
export async function openReportSpool(options: ReportSpoolOptions): Promise<ReportSpool> {
  const { logger, metrics } = options;
  let dir = options.dir;
  await mkdir(dir, { recursive: true, mode: OWNER_ONLY_DIR });
  const table = await recoverSpool(dir, logger, metrics);
  const segmentBytes = segmentBytesFor(options.maxBytes);
  const handles = new Map<number, FileHandle>();
  const doomed: number[] = [];
  const mustTruncate = new Set<number>();
  const listeners = new Set<() => void>();
  const writeErrors = createWriteErrorLog(logger);
  const dirty = new Set<FileHandle>();
  let cursorDirty = false;
  let chain: Promise<void> = Promise.resolve();
  let writeQueued = false;
  let syncTimer: NodeJS.Timeout | null = null;
  /** Armed after a failed write: appends meanwhile wait for it rather than fail again at once. */
  let retryTimer: NodeJS.Timeout | null = null;
  let syncQueued = false;
  let closed = false;
  /** The slot directory is new (see options.hold): the next write or sync starts over there first. */
  let startOverDue = false;
  let generation = 0;

  if (table.pending > 0) logger.info({ pending: table.pending, bytes: table.bytes }, 'spool recovered: spooled actions wait for the control plane');

  const serial = (step: () => Promise<void>): Promise<void> => {
    chain = chain.then(step);
    return chain;
  };
  const flush = (): Promise<void> => serial(async () => {
    await writeQueuedFrames();
    await syncAndCompact();
  });

  /**
   * Appends of one event-loop turn are written together at once (so a killed proxy loses none it
   * accepted); fsync, the cursor and deletions follow every flushIntervalMs (a crashed machine
   * loses at most that much).
   */
  function schedule(): void {
    if (closed) return;
    if (!writeQueued && retryTimer === null) {
      writeQueued = true;
      // One write waits in the chain at a time: appends made meanwhile join it, so a flush queued
      // behind a busy disk waits for two writes, not for one per event-loop turn.
      setImmediate(() => {
        void serial(() => {
          writeQueued = false;
          return writeQueuedFrames();
        });
      });
    }
    scheduleSync();
  }

  /** Arms the sync timer unless a sync is armed or already waiting in the chain (that one covers this). */
  function scheduleSync(): void {
    if (closed || syncTimer !== null || syncQueued) return;
    syncTimer = setTimeout(() => {
      syncTimer = null;
      syncQueued = true;
      void serial(() => {
        syncQueued = false;
        return syncAndCompact();
      });
    }, options.flushIntervalMs);
    syncTimer.unref();
  }

  async function handleFor(segment: SegmentState): Promise<FileHandle> {
    const open_ = handles.get(segment.id);
    if (open_ !== undefined) return open_;
    const handle = await open(segmentPath(dir, segment.id), 'a+', OWNER_ONLY_FILE); // a+: read back if deleted
    handles.set(segment.id, handle);
    return handle;
  }

  /** Asks options.hold whether the slot is still ours; made again or moved, the spool must start over there. */
  async function checkSlot(): Promise<void> {
    if (options.hold === undefined) return;
    const held = await options.hold();
    dir = held.dir;
    // Once per new directory, however many callers waited for the same answer.
    if (held.generation !== generation) startOverDue = true;
    generation = held.generation;
  }

  /** checkSlot, then the start over it called for (in the chain only: never beside a write). */
  async function ensureSlot(): Promise<void> {
    await checkSlot();
    if (!startOverDue) return;
    startOverDue = false;
    for (const handle of handles.values()) dirty.delete(handle);
    doomed.length = 0; // files of the old directory: not ours to delete (another process may hold it)
    mustTruncate.clear();
    cursorDirty = true;
    await startOver(table, handles, segmentBytes, logger, metrics);
  }

  async function writeQueuedFrames(): Promise<void> {
    try {
      await rescue(true); // appends must land where the spool will read them back
      // A file to open: first make sure the directory is still this proxy's slot.
      if (startOverDue || table.segments.some((segment) => segment.queued.length > 0 && !handles.has(segment.id))) await ensureSlot();
    } catch (error) {
      writeErrors.failed(error, 'write');
      retryLater();
      return;
    }
    let entries = 0;
    for (const segment of [...table.segments]) {
      if (segment.queued.length === 0) continue;
      const frames = segment.queued.splice(0);
      try {
        const handle = await handleFor(segment);
        if (mustTruncate.has(segment.id)) await handle.truncate(segment.written);
        mustTruncate.delete(segment.id);
        await handle.writev(segment.written === 0 ? [SEGMENT_MAGIC, ...frames] : frames);
        segment.written = segment.size - segment.queued.reduce((sum, frame) => sum + frame.length, 0);
        entries += frames.length;
        dirty.add(handle);
      } catch (error) {
        // Kept for the next write (a partial one is cut off first); later segments wait, so order holds.
        segment.queued.unshift(...frames);
        mustTruncate.add(segment.id);
        writeErrors.failed(error, 'write');
        retryLater();
        break;
      }
    }
    if (entries > 0) {
      scheduleSync(); // a sync that ran while this write waited in the chain did not cover it
      writeErrors.recovered();
      for (const listener of listeners) listener();
    }
  }

  /** Segments deleted or cut short under us go to new files (rescueLost); their old files are deleted. */
  async function rescue(queuedOnly: boolean): Promise<void> {
    const moved = await rescueLost(table, handles, { dir, segmentBytes, logger, metrics, queuedOnly });
    if (moved.length === 0) return;
    for (const id of moved) mustTruncate.delete(id);
    doomed.push(...moved);
    cursorDirty = true;
    enforceBound();
    schedule();
  }

  function retryLater(): void {
    if (closed || retryTimer !== null) return;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      schedule();
    }, WRITE_RETRY_MS);
    retryTimer.unref();
  }

  async function syncAndCompact(): Promise<void> {
    for (const handle of dirty) {
      await handle.datasync().catch((error: unknown) => {
        writeErrors.failed(error, 'fsync');
      });
    }
    dirty.clear();
    await rescue(false);
    if (cursorDirty || doomed.length > 0 || startOverDue) {
      try {
        await ensureSlot();
      } catch (error) {
        writeErrors.failed(error, 'ack cursor');
        return;
      }
    }
    const last = table.segments[table.segments.length - 1];
    for (const [id, handle] of handles) {
      if (id === last?.id && !doomed.includes(id)) continue;
      handles.delete(id);
      await handle.close().catch(() => undefined);
    }
    if (cursorDirty) {
      cursorDirty = false;
      await writeAckCursor(dir, table.cursor).catch((error: unknown) => {
        cursorDirty = true;
        writeErrors.failed(error, 'ack cursor');
      });
    }
    for (const id of doomed.splice(0)) await unlink(segmentPath(dir, id)).catch(() => undefined);
  }

  function retire(segments: readonly SegmentState[]): void {
    for (const segment of segments) {
      segment.queued.length = 0;
      doomed.push(segment.id);
    }
    if (segments.length > 0) schedule();
  }

  function enforceBound(): void {
    while (table.bytes > options.maxBytes) {
      const dropped = table.dropOldest();
      if (dropped === null) return;
      cursorDirty = true;
      retire([dropped.segment]);
      metrics.dropped('overflow', dropped.entries);
      logger.warn(
        { code: 'KZP_ERR_SPOOL', dropped: dropped.entries, max_bytes: options.maxBytes, pending: table.pending },
        'spool full: dropped the oldest spooled actions',
      );
    }
  }

  return {
    append(report) {
      if (closed) {
        metrics.dropped('unavailable', 1);
        logger.warn({ code: 'KZP_ERR_SPOOL', target: report.action.target }, 'spool closed: action not spooled');
        return;
      }
      const frame = encodeRecord(encodeEntry(report));
      if (frame.length > segmentBytes - HEADER_BYTES) {
        metrics.dropped('too_large', 1);
        logger.warn({ code: 'KZP_ERR_SPOOL', bytes: frame.length, target: report.action.target }, 'action too large for the spool: dropped');
        return;
      }
      table.append(frame, segmentBytes);
      metrics.spooled();
      enforceBound();
      schedule();
    },
    async readAfter(after, max) {
      // Never read another process's files; once the spool must start over, read after it did.
      await checkSlot();
      if (startOverDue) {
        schedule();
        return [];
      }
      return readPending(dir, table, after, max);
    },
    isPending: (position) => table.isPending(position),
    ackThrough(position) {
      const { acked, retired } = table.ackThrough(position);
      if (acked === 0 && retired.length === 0) return;
      cursorDirty = true;
      retire(retired);
      schedule();
    },
    get pending() {
      return table.pending;
    },
    get bytes() {
      return table.bytes;
    },
    flush,
    onWritten(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      if (syncTimer !== null) clearTimeout(syncTimer);
      if (retryTimer !== null) clearTimeout(retryTimer);
      await flush();
      for (const handle of handles.values()) await handle.close().catch(() => undefined);
      handles.clear();
      listeners.clear();
    },
  };
}
