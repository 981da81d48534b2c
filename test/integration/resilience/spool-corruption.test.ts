import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FRAME_HEADER_BYTES, scanRecords } from '../../../src/verdict/spool/record-frame.js';
import { SEGMENT_MAGIC } from '../../../src/verdict/spool/segment-file.js';
import { reply, startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { API_KEY, eventIdOf, eventually, resilienceConfig, scrape, startResilientProxy, tempDataDir, viaProxy, type RunningProxy } from './resilience-support.js';

/**
 * One record of the spool damaged on disk (a flipped bit in its payload) costs that record only:
 * the proxy that opens the spool again drops it, counted as unreadable, and replays every intact
 * record after it. It once read the damage as a torn tail and cut off the rest, counting nothing.
 */
let cp: FakeControlPlane;
let origin: Origin;
const proxies: RunningProxy[] = [];

beforeEach(async () => {
  cp = await startFakeControlPlane();
  cp.routeWith('/v1/policy', reply.policies([]));
  origin = await startOrigin();
});

afterEach(async () => {
  for (const running of proxies.splice(0)) {
    await running.proxy.close();
    expect(running.logs.text()).not.toContain(API_KEY);
  }
  await cp.close();
  await origin.close();
});

async function start(dataDir: string): Promise<RunningProxy> {
  const running = await startResilientProxy(resilienceConfig({ url: cp.url, dataDir }));
  proxies.push(running);
  return running;
}

async function segmentFiles(dataDir: string): Promise<string[]> {
  return (await readdir(dataDir, { recursive: true })).filter((entry) => entry.endsWith('.kzs')).map((entry) => join(dataDir, entry));
}

describe('a spool record damaged on disk', () => {
  it('is dropped and counted as unreadable at restart; every intact record after it is replayed', async () => {
    const dataDir = tempDataDir();
    const first = await start(dataDir);
    cp.respondWith(reply.status(503));
    for (let i = 0; i < 5; i += 1) expect((await viaProxy(first.port, `${origin.url}/n/${i}`)).status).toBe(503);
    await eventually(async () => (await scrape(first.proxy)).get('kaizen_proxy_spool_spooled_total') === 5, 10_000, '5 spooled');
    await first.proxy.close();
    proxies.splice(proxies.indexOf(first), 1);

    const [file, ...others] = await segmentFiles(dataDir);
    expect(others).toEqual([]);
    const bytes = await readFile(file ?? '');
    const records = scanRecords(bytes, SEGMENT_MAGIC.length).records;
    expect(records).toHaveLength(5);
    const ids = records.map((record) => eventIdOf(JSON.parse(record.payload.toString('utf8'))));
    const damaged = records[1];
    if (damaged === undefined) throw new Error('no second record');
    const at = damaged.start + FRAME_HEADER_BYTES + 30;
    bytes[at] = (bytes[at] ?? 0) ^ 0x10;
    await writeFile(file ?? '', bytes);

    cp.resetRequests();
    cp.respondWith(reply.allow());
    const second = await start(dataDir);
    const atStart = await scrape(second.proxy);
    expect(atStart.get('kaizen_proxy_spool_dropped_total{reason="unreadable"}')).toBe(1);
    expect(second.logs.lines()).toContainEqual(expect.objectContaining({ msg: 'spool recovered: spooled actions wait for the control plane', pending: 4 }));
    expect(second.logs.lines()).toContainEqual(expect.objectContaining({ level: 'warn', code: 'KZP_ERR_SPOOL', dropped: 1 }));

    await eventually(async () => (await scrape(second.proxy)).get('kaizen_proxy_spool_pending_entries') === 0, 15_000, 'the spool drained');
    const metrics = await scrape(second.proxy);
    expect(metrics.get('kaizen_proxy_spool_replayed_total')).toBe(4);
    expect(metrics.get('kaizen_proxy_spool_dropped_total{reason="unreadable"}')).toBe(1);
    const replayed = cp.requests.filter((seen) => seen.path === '/v1/verdicts').map((seen) => eventIdOf(seen.body));
    expect(replayed.sort()).toEqual(ids.filter((_, i) => i !== 1).sort());
  });
});
