import { rm, rmdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { SpoolMetrics } from '../../contract/spool-metrics.js';
import type { Logger } from '../../observe/logger.js';
import { ownerOnlyDir, type OwnerOnlyDir } from './owner-only.js';
import { openReportSpool, type ReportSpool, type SpoolPosition } from './report-spool.js';
import { listSegmentIds } from './segment-file.js';
import { keepSlot, type SlotKeeper } from './slot-keeper.js';
import { acquireSlot, claimAbandoned, partitionDir } from './spool-slot.js';

export interface OpenSpoolOptions {
  readonly dataDir: string;
  readonly controlPlaneUrl: string;
  readonly apiKey: string;
  readonly maxBytes: number;
  readonly flushIntervalMs: number;
  readonly logger: Logger;
  readonly metrics: SpoolMetrics;
}

/** Entries moved per read when adopting an abandoned slot. */
const ADOPT_BATCH = 512;

/**
 * Opens this proxy's spool under data_dir: its partition (control plane + API key), a slot of its
 * own, what a previous run left there, and the entries of slots whose owner is gone (moved into
 * ours, then their directory removed). Never rejects: when data_dir cannot hold a spool the
 * reason is logged with KZP_ERR_SPOOL and the result is null (undelivered actions are then
 * counted as dropped). Closing the spool releases the slot.
 */
export async function openSpool(options: OpenSpoolOptions): Promise<ReportSpool | null> {
  const logger = options.logger.child({ component: 'spool' });
  const dataDir = resolve(options.dataDir);
  try {
    const partition = partitionDir(dataDir, options.controlPlaneUrl, options.apiKey);
    const modes = new Map<string, OwnerOnlyDir>();
    for (const dir of [dirname(partition), partition]) modes.set(dir, await ownerOnlyDir(dir));
    const lock = await acquireSlot(partition);
    let spool: ReportSpool;
    let keeper: SlotKeeper;
    try {
      modes.set(lock.dir, await ownerOnlyDir(lock.dir));
      logModes(modes, logger);
      keeper = await keepSlot(lock, logger);
      const held = keeper;
      spool = await openReportSpool({ dir: lock.dir, maxBytes: options.maxBytes, flushIntervalMs: options.flushIntervalMs, logger, metrics: options.metrics, hold: () => held.hold() });
    } catch (error) {
      await lock.release();
      throw error;
    }
    await adoptAbandoned(partition, keeper.dir, spool, logger, options.metrics);
    logger.info({ dir: lock.dir, pending: spool.pending, max_bytes: options.maxBytes }, 'report spool open');
    return releasingOnClose(spool, keeper);
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : error instanceof Error ? error.message : 'unknown';
    logger.error(
      { code: 'KZP_ERR_SPOOL', data_dir: dataDir, reason },
      'report spool unavailable: actions the control plane does not get are dropped (counted) until data_dir is writable and the proxy restarts',
    );
    return null;
  }
}

/** Directories an older version made 0755 (under umask 022) are said once, tightened or not. */
function logModes(modes: ReadonlyMap<string, OwnerOnlyDir>, logger: Logger): void {
  const having = (mode: OwnerOnlyDir): string[] => [...modes].filter(([, m]) => m === mode).map(([dir]) => dir);
  const tightened = having('tightened');
  const open = having('open');
  if (tightened.length > 0) logger.info({ dirs: tightened }, 'spool directory was open to other users (made by an older version): now 0700');
  if (open.length > 0) logger.warn({ code: 'KZP_ERR_SPOOL', dirs: open }, 'spool directory is open to other users and this process cannot make it 0700 (another owner, or chmod refused)');
}

/** Moves the entries of abandoned slots into ours; what no longer reads there is counted as dropped `unreadable`. */
async function adoptAbandoned(partition: string, own: string, spool: ReportSpool, logger: Logger, metrics: SpoolMetrics): Promise<void> {
  for (const lock of await claimAbandoned(partition, own)) {
    try {
      // Never appended to, nor bounded: only its recovery counts (records damaged or torn there).
      const orphan = await openReportSpool({ dir: lock.dir, maxBytes: Number.MAX_SAFE_INTEGER, flushIntervalMs: 1000, logger, metrics });
      let moved = 0;
      let after: SpoolPosition | null = null;
      for (;;) {
        const batch = await orphan.readAfter(after, ADOPT_BATCH);
        if (batch.length === 0) break;
        for (const entry of batch) {
          after = entry.position;
          if (entry.report === null) {
            metrics.dropped('unreadable', 1);
            logger.warn({ code: 'KZP_ERR_SPOOL', from: lock.dir }, 'spooled action of an abandoned slot no longer decodes: dropped');
            continue;
          }
          spool.append(entry.report);
          moved += 1;
        }
      }
      await orphan.close();
      // Written in ours before theirs is removed: a crash in between replays them twice, never zero times.
      await spool.flush();
      await rm(lock.dir, { recursive: true, force: true });
      if (moved > 0) logger.info({ adopted: moved, from: lock.dir }, 'adopted the spool of a proxy that is gone');
    } catch (error) {
      logger.warn({ code: 'KZP_ERR_SPOOL', err: error, from: lock.dir }, 'could not adopt an abandoned spool; left in place');
    } finally {
      await lock.release();
    }
  }
}

function releasingOnClose(spool: ReportSpool, lock: SlotKeeper): ReportSpool {
  return {
    append: (report) => {
      spool.append(report);
    },
    readAfter: (after, max) => spool.readAfter(after, max),
    isPending: (position) => spool.isPending(position),
    ackThrough: (position) => {
      spool.ackThrough(position);
    },
    get pending() {
      return spool.pending;
    },
    get bytes() {
      return spool.bytes;
    },
    flush: () => spool.flush(),
    onWritten: (listener) => spool.onWritten(listener),
    async close() {
      await spool.close();
      // No entry waits and no segment is left (an acknowledged one not yet deleted still needs the cursor).
      // A slot lost with data_dir (another process may hold it now) is not ours to clean.
      const empty = spool.pending === 0 && (await lock.held()) && (await listSegmentIds(lock.dir).catch(() => [0])).length === 0;
      if (empty) await rm(join(lock.dir, 'ack'), { force: true });
      await lock.release();
      // Nothing left to replay: leave no directory behind (a slot or partition still in use is not empty).
      if (empty) {
        await rmdir(lock.dir).catch(() => undefined);
        await rmdir(dirname(lock.dir)).catch(() => undefined);
      }
    },
  };
}
