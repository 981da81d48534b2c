import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reply, startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { cleanEnv, startServe, tempDir, type ServeProcess } from '../reflex/cli-process.js';
import { API_KEY, deliveredSends, eventIdOf, eventually, segmentsUnder, spoolingConfigFile, viaProxy } from './resilience-support.js';

/**
 * The segment the spool appends to, deleted under the running proxy (by hand, a disk cleaner):
 * the proxy went on appending to the open, nameless file, replay never read it, and every action
 * spooled there, and every block report queued behind them, was lost. The entries are still in the
 * open file: they are read back from it and written to a new segment, then replayed.
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

describe('report spool segment deleted while in use', () => {
  it('moves its entries, and those appended after, to a new segment and replays every one', async () => {
    cp = await startFakeControlPlane();
    origin = await startOrigin();
    cp.respondWith(reply.status(500)); // the control plane is down: every action is spooled
    const dataDir = join(tempDir(), 'data');
    const config = spoolingConfigFile(cp.url, dataDir);
    serve = await startServe(['--listen', '127.0.0.1:0', '--config', config], cleanEnv({ KAIZEN_API_KEY: API_KEY }), tempDir());
    const spool = join(dataDir, 'spool');

    for (const path of ['/a', '/b', '/c']) expect((await viaProxy(serve.port, `${origin.url}${path}`)).status).toBe(503);
    await eventually(() => segmentsUnder(spool).length > 0, 10_000, 'a spooled segment');
    for (const segment of segmentsUnder(spool)) rmSync(join(spool, segment));
    for (const path of ['/d', '/e', '/f']) expect((await viaProxy(serve.port, `${origin.url}${path}`)).status).toBe(503);

    await serve.waitFor((line) => line['msg'] === 'spool segment was deleted while in use: its spooled actions are written to a new one', 10_000);
    await eventually(() => segmentsUnder(spool).length > 0, 10_000, 'a new segment');

    cp.respondWith(reply.recorded());
    const spooled = new Set(cp.requests.map((seen) => eventIdOf(seen.body)).filter((id) => id !== undefined));
    expect(spooled.size).toBe(6);
    await eventually(() => new Set(deliveredSends(cp as FakeControlPlane).map((seen) => eventIdOf(seen.body))).size === 6, 30_000, 'all six actions replayed');
    expect(await serve.stop()).toBe(0);
  });
});
