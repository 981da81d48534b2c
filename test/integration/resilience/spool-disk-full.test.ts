import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { reply, startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { cpuSeconds, fillUp, freeUp, onSmallTmpfs } from '../../helpers/small-tmpfs.js';
import { cleanEnv, startServe, tempDir, type ServeProcess } from '../reflex/cli-process.js';
import { API_KEY, spoolingConfigFile, deliveredSends, eventually, viaProxy } from './resilience-support.js';

/**
 * A spool write that failed (ENOSPC on a full disk, EROFS) was tried again on the very next
 * event-loop turn, and again, for as long as the disk stayed full: a proxy with one action waiting
 * to be spooled kept a core busy doing nothing but failing writes. It now tries again once a second,
 * and writes what it held as soon as the disk takes it.
 */
let cp: FakeControlPlane | null = null;
let origin: Origin | null = null;
let serve: ServeProcess | null = null;

afterEach(async () => {
  await serve?.stop();
  await cp?.close();
  await origin?.close();
  serve = null;
  cp = null;
  origin = null;
});

const isSpoolWriteFailure = (line: Record<string, unknown>): boolean => line['code'] === 'KZP_ERR_SPOOL' && String(line['msg']).startsWith('spool write failed');

describe('report spool on a full disk', () => {
  it('retries a failed write at a walking pace, says so once, and writes the action once the disk takes it', async () => {
    cp = await startFakeControlPlane();
    origin = await startOrigin();
    cp.respondWith(reply.status(500)); // the control plane is down: every action is spooled
    const dataDir = join(tempDir(), 'data');
    mkdirSync(dataDir);
    const config = spoolingConfigFile(cp.url, dataDir);
    serve = await startServe(['--listen', '127.0.0.1:0', '--config', config], cleanEnv({ KAIZEN_API_KEY: API_KEY }), tempDir(), onSmallTmpfs(dataDir, 256));
    const pid = serve.child.pid ?? 0;
    await serve.waitFor((line) => line['msg'] === 'report spool open');

    fillUp(pid, dataDir);
    expect((await viaProxy(serve.port, `${origin.url}/a`)).status).toBe(503);
    await serve.waitFor(isSpoolWriteFailure);

    // One action waits for the disk. Idle otherwise, the proxy should be too.
    const before = cpuSeconds(pid);
    await sleep(2000);
    const used = cpuSeconds(pid) - before;
    expect(used).toBeLessThan(0.3);
    expect(serve.lines.filter(isSpoolWriteFailure)).toHaveLength(1);

    // The disk takes writes again: the action is written, then replayed once the control plane answers.
    freeUp(pid, dataDir);
    await serve.waitFor((line) => line['msg'] === 'spool writes work again', 5000);
    cp.respondWith(reply.recorded());
    await eventually(() => Promise.resolve(deliveredSends(cp as FakeControlPlane).length >= 1), 20_000, 'the spooled action replayed');
    expect(await serve.stop()).toBe(0);
  });
});
