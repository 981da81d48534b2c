import { appendFileSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FRAME_HEADER_BYTES } from '../../../../src/verdict/spool/record-frame.js';
import { openReportSpool, segmentBytesFor, type ReportSpool, type SpooledReport } from '../../../../src/verdict/spool/report-spool.js';
import { captureLogs } from '../../../integration/verdict/support.js';
import { countingMetrics, eventId, report, tempDir, type CountingMetrics } from './spool-fixtures.js';

const logs = captureLogs('info');

async function open(dir: string, maxBytes = 64 * 1024 * 1024, metrics: CountingMetrics = countingMetrics()): Promise<ReportSpool> {
  return openReportSpool({ dir, maxBytes, flushIntervalMs: 5, logger: logs.logger, metrics });
}

async function readAll(spool: ReportSpool): Promise<SpooledReport[]> {
  const out: SpooledReport[] = [];
  for (let batch = await spool.readAfter(null, 100); batch.length > 0; batch = await spool.readAfter(batch[batch.length - 1]?.position ?? null, 100)) {
    out.push(...batch);
  }
  return out;
}

const segments = (dir: string): string[] => readdirSync(dir).filter((name) => name.endsWith('.kzs')).sort();

describe('report spool', () => {
  it('keeps appends across a restart, in order, until acknowledged', async () => {
    const dir = tempDir();
    const spool = await open(dir);
    for (let n = 1; n <= 5; n += 1) spool.append(report(n));
    expect(spool.pending).toBe(5);
    await spool.flush();
    const read = await readAll(spool);
    expect(read.map((entry) => eventId(entry.report))).toEqual(['e-1', 'e-2', 'e-3', 'e-4', 'e-5']);
    const second = read[1];
    if (second === undefined) throw new Error('nothing read');
    spool.ackThrough(second.position);
    expect(spool.pending).toBe(3);
    await spool.close();

    const again = await open(dir);
    expect(again.pending).toBe(3);
    expect((await readAll(again)).map((entry) => eventId(entry.report))).toEqual(['e-3', 'e-4', 'e-5']);
    await again.close();
  });

  it('readers see nothing before it is written; the batch lands within the interval', async () => {
    const dir = tempDir();
    const spool = await open(dir);
    let wakes = 0;
    spool.onWritten(() => (wakes += 1));
    spool.append(report(1));
    expect(await spool.readAfter(null, 10)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(wakes).toBe(1);
    expect(await spool.readAfter(null, 10)).toHaveLength(1);
    await spool.close();
  });

  it('a flush behind a producer that never pauses waits for a bounded number of writes', async () => {
    const spool = await open(tempDir(), 1 << 30);
    let writes = 0;
    spool.onWritten(() => (writes += 1));
    let n = 0;
    const stop = new AbortController();
    (function burst(): void {
      if (stop.signal.aborted) return;
      for (let i = 0; i < 200; i += 1) spool.append(report((n += 1), 1500));
      setImmediate(burst);
    })();
    const seen: number[] = [];
    for (let round = 0; round < 5; round += 1) {
      const before = writes;
      await spool.flush();
      seen.push(writes - before);
    }
    stop.abort();
    // The write under way, the one waiting in the chain, and the flush's own: one per event-loop
    // turn instead lets the backlog outgrow the disk and the flush never catch up.
    expect(Math.max(...seen)).toBeLessThanOrEqual(3);
    await spool.close();
  });

  it('a torn last record (kill -9 mid-append) is cut off; the records before it are kept and appends continue', async () => {
    const dir = tempDir();
    const spool = await open(dir);
    for (let n = 1; n <= 3; n += 1) spool.append(report(n));
    await spool.close();
    const [file] = segments(dir);
    const path = join(dir, file ?? '');
    truncateSync(path, statSync(path).size - 5);
    const warn = captureLogs('info');
    const metrics = countingMetrics();
    const recovered = await openReportSpool({ dir, maxBytes: 1 << 26, flushIntervalMs: 5, logger: warn.logger, metrics });
    expect(recovered.pending).toBe(2);
    expect(warn.lines()).toContainEqual(expect.objectContaining({ level: 'warn', kept: 2, code: 'KZP_ERR_SPOOL' }));
    // The record cut short is lost, and counted.
    expect(metrics.counts.dropped).toEqual({ unreadable: 1 });
    recovered.append(report(4));
    await recovered.flush();
    expect((await readAll(recovered)).map((entry) => eventId(entry.report))).toEqual(['e-1', 'e-2', 'e-4']);
    await recovered.close();
    // Garbage after intact records (zeros left by the file system) is skipped the same way.
    appendFileSync(path, Buffer.alloc(100));
    const third = await open(dir);
    expect((await readAll(third)).map((entry) => eventId(entry.report))).toEqual(['e-1', 'e-2', 'e-4']);
    await third.close();
  });

  it('a record that fails its checksum mid-segment is dropped and counted; the records after it are kept', async () => {
    const dir = tempDir();
    const spool = await open(dir);
    for (let n = 1; n <= 5; n += 1) spool.append(report(n));
    await spool.flush();
    const second = (await readAll(spool))[1]?.position;
    await spool.close();
    if (second === undefined) throw new Error('nothing read');
    // One flipped bit in the second record's payload, as a bad sector or a stray write would leave it.
    const path = join(dir, segments(dir)[0] ?? '');
    const bytes = readFileSync(path);
    const at = second.start + FRAME_HEADER_BYTES + 20;
    bytes[at] = (bytes[at] ?? 0) ^ 0x04;
    writeFileSync(path, bytes);

    const warn = captureLogs('info');
    const metrics = countingMetrics();
    const recovered = await openReportSpool({ dir, maxBytes: 1 << 26, flushIntervalMs: 5, logger: warn.logger, metrics });
    expect(recovered.pending).toBe(4);
    expect(metrics.counts.dropped).toEqual({ unreadable: 1 });
    expect(warn.lines()).toContainEqual(expect.objectContaining({ level: 'warn', code: 'KZP_ERR_SPOOL', dropped: 1 }));
    const read = await readAll(recovered);
    expect(read.map((entry) => eventId(entry.report))).toEqual(['e-1', 'e-3', 'e-4', 'e-5']);
    // Nothing cut from the file: appends go after the last record, and acknowledgements move past the bad one.
    expect(statSync(path).size).toBe(bytes.length);
    const third = read[1];
    if (third === undefined) throw new Error('nothing read');
    recovered.ackThrough(third.position);
    expect(recovered.pending).toBe(2);
    recovered.append(report(6));
    await recovered.close();

    const again = await open(dir);
    expect((await readAll(again)).map((entry) => eventId(entry.report))).toEqual(['e-4', 'e-5', 'e-6']);
    await again.close();
  });

  it('past max_bytes drops the oldest segments, counts every entry dropped, and logs it', async () => {
    const dir = tempDir();
    const metrics = countingMetrics();
    const maxBytes = 64 * 1024;
    const spool = await open(dir, maxBytes, metrics);
    const total = 1000;
    for (let n = 1; n <= total; n += 1) spool.append(report(n, 100));
    await spool.flush();
    expect(spool.bytes).toBeLessThanOrEqual(maxBytes);
    const kept = await readAll(spool);
    const dropped = metrics.counts.dropped.overflow ?? 0;
    expect(dropped).toBeGreaterThan(0);
    expect(kept.length + dropped).toBe(total);
    // The newest survive, in order, as one unbroken run.
    expect(eventId(kept[kept.length - 1]?.report ?? null)).toBe(`e-${total}`);
    expect(eventId(kept[0]?.report ?? null)).toBe(`e-${dropped + 1}`);
    expect(logs.lines()).toContainEqual(expect.objectContaining({ msg: 'spool full: dropped the oldest spooled actions', code: 'KZP_ERR_SPOOL' }));
    const onDisk = segments(dir).reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
    expect(onDisk).toBeLessThanOrEqual(maxBytes);
    await spool.close();
  });

  it('deletes segments once acknowledged, and remembers the cursor across a restart', async () => {
    const dir = tempDir();
    const spool = await open(dir, 256 * 1024);
    expect(segmentBytesFor(256 * 1024)).toBe(32 * 1024);
    for (let n = 1; n <= 200; n += 1) spool.append(report(n));
    await spool.flush();
    const before = segments(dir).length;
    expect(before).toBeGreaterThan(2);
    const read = await readAll(spool);
    const upTo = read[149];
    if (upTo === undefined) throw new Error('too few read');
    spool.ackThrough(upTo.position);
    await spool.flush();
    expect(segments(dir).length).toBeLessThan(before);
    await spool.close();
    const again = await open(dir, 256 * 1024);
    expect((await readAll(again)).map((entry) => eventId(entry.report))).toEqual(Array.from({ length: 50 }, (_, i) => `e-${151 + i}`));
    const rest = await readAll(again);
    const last = rest[rest.length - 1];
    if (last === undefined) throw new Error('nothing left');
    again.ackThrough(last.position);
    expect(again.pending).toBe(0);
    await again.close();
    expect(segments(dir)).toEqual([]);
    const empty = await open(dir, 256 * 1024);
    expect(empty.pending).toBe(0);
    empty.append(report(999));
    await empty.flush();
    expect((await readAll(empty)).map((entry) => eventId(entry.report))).toEqual(['e-999']);
    await empty.close();
  });

  it('refuses a report larger than a segment, counted, and says it is closed after close', async () => {
    const metrics = countingMetrics();
    const spool = await open(tempDir(), 32 * 1024, metrics);
    spool.append(report(1, 10_000));
    expect(metrics.counts.dropped.too_large).toBe(1);
    await spool.close();
    spool.append(report(2));
    expect(metrics.counts.dropped.unavailable).toBe(1);
    expect(spool.pending).toBe(0);
  });
});
