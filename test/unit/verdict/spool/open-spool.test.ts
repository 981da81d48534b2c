import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSpool, type OpenSpoolOptions } from '../../../../src/verdict/spool/open-spool.js';
import { FRAME_HEADER_BYTES, scanRecords } from '../../../../src/verdict/spool/record-frame.js';
import type { ReportSpool, SpooledReport } from '../../../../src/verdict/spool/report-spool.js';
import { SEGMENT_MAGIC } from '../../../../src/verdict/spool/segment-file.js';
import { captureLogs } from '../../../integration/verdict/support.js';
import { countingMetrics, eventId, report, tempDir, type CountingMetrics } from './spool-fixtures.js';

function options(dataDir: string, logs = captureLogs('info')): OpenSpoolOptions {
  return { dataDir, controlPlaneUrl: 'https://cp.example', apiKey: 'kz_live_x', maxBytes: 1 << 20, flushIntervalMs: 5, logger: logs.logger, metrics: countingMetrics() };
}

async function must(opened: Promise<ReportSpool | null>): Promise<ReportSpool> {
  const spool = await opened;
  if (spool === null) throw new Error('no spool');
  return spool;
}

async function readAll(spool: ReportSpool): Promise<SpooledReport[]> {
  const out: SpooledReport[] = [];
  for (let batch = await spool.readAfter(null, 100); batch.length > 0; batch = await spool.readAfter(batch[batch.length - 1]?.position ?? null, 100)) out.push(...batch);
  return out;
}

const slots = (dataDir: string): string[] => {
  const spoolDir = join(dataDir, 'spool');
  if (!existsSync(spoolDir)) return [];
  return readdirSync(spoolDir).flatMap((partition) => readdirSync(join(spoolDir, partition)).map((slot) => `${partition}/${slot}`));
};

describe('openSpool', () => {
  it('gives two proxies of one data_dir their own slots, and leaves no directory behind when empty', async () => {
    const dataDir = tempDir();
    const first = await must(openSpool(options(dataDir)));
    const second = await must(openSpool(options(dataDir)));
    expect(slots(dataDir)).toHaveLength(2);
    first.append(report(1));
    await first.close();
    await second.close();
    expect(slots(dataDir)).toHaveLength(1);
    const again = await must(openSpool(options(dataDir)));
    expect((await readAll(again)).map((entry) => eventId(entry.report))).toEqual(['e-1']);
    const [entry] = await readAll(again);
    if (entry === undefined) throw new Error('nothing read');
    again.ackThrough(entry.position);
    await again.close();
    expect(slots(dataDir)).toEqual([]);
  });

  it('takes over a slot whose owner is gone and adopts the entries of any other abandoned slot', async () => {
    const dataDir = tempDir();
    const dead = await must(openSpool(options(dataDir)));
    const live = await must(openSpool(options(dataDir)));
    dead.append(report(1));
    dead.append(report(2));
    live.append(report(3));
    await dead.close();
    // What a kill -9 leaves: the lock of a process that no longer exists.
    const [partition] = readdirSync(join(dataDir, 'spool'));
    writeFileSync(join(dataDir, 'spool', partition ?? '', 'slot-0', 'lock'), '2147483646 - gone\n');
    await live.close();
    const logs = captureLogs('info');
    const next = await must(openSpool(options(dataDir, logs)));
    const ids = (await readAll(next)).map((entry) => eventId(entry.report)).sort();
    expect(ids).toEqual(['e-1', 'e-2', 'e-3']);
    // slot-0 (dead owner) becomes its own; slot-1 (closed, entries left) is adopted and removed.
    expect(logs.lines()).toContainEqual(expect.objectContaining({ msg: 'adopted the spool of a proxy that is gone', adopted: 1 }));
    await next.close();
    expect(slots(dataDir)).toHaveLength(1);
  });

  it('adopting an abandoned slot counts a damaged record there as unreadable, and moves every other', async () => {
    const dataDir = tempDir();
    const mine = await must(openSpool(options(dataDir)));
    const gone = await must(openSpool(options(dataDir)));
    for (let n = 1; n <= 3; n += 1) gone.append(report(n));
    await gone.close();
    await mine.close();
    const [file, ...more] = (readdirSync(dataDir, { recursive: true }) as string[]).filter((name) => name.endsWith('.kzs'));
    expect(more).toEqual([]);
    const path = join(dataDir, file ?? '');
    const bytes = readFileSync(path);
    const second = scanRecords(bytes, SEGMENT_MAGIC.length).records[1];
    if (second === undefined) throw new Error('no second record');
    const at = second.start + FRAME_HEADER_BYTES + 12;
    bytes[at] = (bytes[at] ?? 0) ^ 0x01;
    writeFileSync(path, bytes);

    const logs = captureLogs('info');
    const opened = options(dataDir, logs);
    const next = await must(openSpool(opened));
    expect((await readAll(next)).map((entry) => eventId(entry.report))).toEqual(['e-1', 'e-3']);
    expect((opened.metrics as CountingMetrics).counts.dropped).toEqual({ unreadable: 1 });
    expect(logs.lines()).toContainEqual(expect.objectContaining({ msg: 'adopted the spool of a proxy that is gone', adopted: 2 }));
    await next.close();
  });

  it('is null, with KZP_ERR_SPOOL logged, when data_dir cannot be written', async () => {
    const file = join(tempDir(), 'a-file');
    writeFileSync(file, '');
    const logs = captureLogs('info');
    expect(await openSpool(options(join(file, 'below'), logs))).toBeNull();
    expect(logs.lines()).toContainEqual(expect.objectContaining({ level: 'error', code: 'KZP_ERR_SPOOL' }));
  });
});
