import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { noSpoolMetrics } from '../../../src/contract/spool-metrics.js';
import { scanRecords } from '../../../src/verdict/spool/record-frame.js';
import { openReportSpool, type SpooledReport } from '../../../src/verdict/spool/report-spool.js';
import { SEGMENT_MAGIC } from '../../../src/verdict/spool/segment-file.js';
import { reply, startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { captureLogs } from '../verdict/support.js';
import { spawnProxy, type ProxyProcess } from './proxy-process.js';
import { API_KEY, deliveries, eventually, tempDataDir, viaProxy } from './resilience-support.js';
import { startSwitchableFront, type SwitchableFront } from './switchable-front.js';

const DIST = resolve('dist');

/**
 * Appends numbered reports as fast as the spool takes them (at most 20,000 ahead of the last flush,
 * so a slow disk cannot push the spool past its bound), printing how many were handed to the spool
 * before each flush completed.
 */
const WRITER = `
import { openReportSpool } from '${DIST}/verdict/spool/report-spool.js';
import { createLogger } from '${DIST}/observe/logger.js';
import { noSpoolMetrics } from '${DIST}/contract/spool-metrics.js';
const spool = await openReportSpool({ dir: process.argv[1], maxBytes: 1 << 30, flushIntervalMs: 5, logger: createLogger({ level: 'silent' }), metrics: noSpoolMetrics });
let n = 0;
let durable = 0;
const pad = 'p'.repeat(1500);
const report = (i) => ({ agent: 'a', action: { kind: 'http', target: 'h:443', metadata: { source: 'egress', path: '/' + pad, event_id: 'e-' + i } }, verdict: { decision: 'allow', reason: 'r', evidence: [] } });
(function burst() { if (n - durable < 20000) for (let i = 0; i < 200; i += 1) spool.append(report(++n)); setImmediate(burst); })();
(async function tick() { for (;;) { const upTo = n; await spool.flush(); durable = upTo; console.log('durable ' + upTo); } })();
`;

async function readAll(dir: string): Promise<SpooledReport[]> {
  const logs = captureLogs('info');
  const spool = await openReportSpool({ dir, maxBytes: 1 << 30, flushIntervalMs: 5, logger: logs.logger, metrics: noSpoolMetrics });
  const out: SpooledReport[] = [];
  for (let batch = await spool.readAfter(null, 1000); batch.length > 0; batch = await spool.readAfter(batch[batch.length - 1]?.position ?? null, 1000)) out.push(...batch);
  await spool.close();
  return out;
}

/** Intact records in every segment under `dataDir`, read without opening (or repairing) the spool. */
async function recordsOnDisk(dataDir: string): Promise<number> {
  let count = 0;
  for (const entry of await readdir(dataDir, { recursive: true })) {
    if (!entry.endsWith('.kzs')) continue;
    const buffer = await readFile(join(dataDir, entry)).catch(() => Buffer.alloc(0));
    if (buffer.length > SEGMENT_MAGIC.length) count += scanRecords(buffer, SEGMENT_MAGIC.length).records.length;
  }
  return count;
}

let cp: FakeControlPlane | null = null;
let front: SwitchableFront | null = null;
let origin: Origin | null = null;
const children: ProxyProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) await child.kill9();
  await front?.close();
  await cp?.close();
  await origin?.close();
});

describe('kill -9', () => {
  it('during appends: every record before the kill is intact and in order, a torn tail is skipped', async () => {
    const dir = tempDataDir();
    const writer = spawn(process.execPath, ['--input-type=module', '-e', WRITER, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    let durable = 0;
    createInterface({ input: writer.stdout }).on('line', (line) => {
      durable = Math.max(durable, Number(line.split(' ')[1]));
    });
    const exited = new Promise((done) => writer.once('exit', done));
    await eventually(() => durable >= 5_000, 30_000, 'five thousand durable appends');
    writer.kill('SIGKILL');
    await exited;

    const entries = await readAll(dir);
    rmSync(dir, { recursive: true, force: true });
    expect(entries.length).toBeGreaterThanOrEqual(durable);
    const ids = entries.map((entry) => entry.report?.action.metadata.event_id);
    // The first out-of-order entry, not a diff of two arrays of tens of thousands.
    const broken = ids.findIndex((id, i) => id !== `e-${i + 1}`);
    expect({ broken, id: ids[broken] }).toEqual({ broken: -1, id: undefined });
  });

  it('of the whole proxy: what it spooled while the control plane was down is replayed exactly once by the next one', async () => {
    cp = await startFakeControlPlane();
    front = await startSwitchableFront(Number(new URL(cp.url).port));
    origin = await startOrigin();
    const dataDir = tempDataDir();
    const yaml = [
      'listen: 127.0.0.1:0',
      'admin: off',
      `data_dir: ${dataDir}`,
      `control_plane: { url: "${front.url}", timeout: 300ms }`,
      'cache: { allow_ttl: 1ms, block_ttl: 1ms, stale_if_error: 0ms }',
      'network: { allow_private: [127.0.0.0/8] }',
      'spool: { fsync_interval: 20ms, replay_rate: 500 }',
    ].join('\n');
    const env = { KAIZEN_API_KEY: API_KEY };
    await front.down();
    const first = await spawnProxy({ yaml, env });
    children.push(first);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => viaProxy(first.port, `${origin?.url ?? ''}/k/${i}`)));
    expect(answers.every((answer) => answer.status === 503)).toBe(true);
    await eventually(async () => (await recordsOnDisk(dataDir)) >= 20, 10_000, 'twenty spooled records on disk');
    await first.kill9();

    await front.up();
    cp.respondWith(reply.allow());
    const second = await spawnProxy({ yaml, env });
    children.push(second);
    const fake = cp;
    await eventually(() => deliveries(fake).size >= 20, 20_000, 'twenty replays');
    await new Promise((done) => setTimeout(done, 300));
    const seen = deliveries(fake);
    expect(seen.size).toBe(20);
    expect([...seen.values()].every((entry) => entry.sent === 1 && entry.delivered === 1)).toBe(true);
    expect(second.lines).toContainEqual(expect.objectContaining({ msg: 'spool recovered: spooled actions wait for the control plane', pending: 20 }));
  });
});
