import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reply, startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { cleanEnv, startServe, tempDir, type ServeProcess } from '../reflex/cli-process.js';
import { API_KEY, deliveries, eventually, segmentsUnder, spoolingConfigFile, viaProxy } from './resilience-support.js';

/**
 * A data_dir removed under a running proxy (rm -rf, a volume wiped) took its slot lock with it.
 * The proxy made its spool directories again to write, but not the lock: a second proxy started on
 * that data_dir took the same slot, and both wrote (and replayed) the same files. The lock is now
 * taken again before the directories are written to; a slot another process took meanwhile is left
 * to it (logged with KZP_ERR_SPOOL_SLOT_TAKEN) and the first proxy spools in a new slot of its own.
 */
let cp: FakeControlPlane | null = null;
let origin: Origin | null = null;
const serves: ServeProcess[] = [];

afterEach(async () => {
  for (const serve of serves.splice(0)) await serve.stop();
  await cp?.close();
  await origin?.close();
  cp = null;
  origin = null;
});

function segmentsIn(dir: string): string[] {
  try {
    return readdirSync(dir).filter((name) => /^seg-\d+\.kzs$/.test(name));
  } catch {
    return [];
  }
}

const spoolOpen = (line: Record<string, unknown>): boolean => line['msg'] === 'report spool open';

/**
 * A first proxy on a fresh data_dir with the control plane down spools /a, which is replayed once
 * the control plane answers (nothing left pending); the control plane fails again and the whole
 * data_dir is removed under the running proxy.
 */
async function firstProxySpooledThenRemoved() {
  const control = await startFakeControlPlane();
  const destination = await startOrigin();
  cp = control;
  origin = destination;
  control.respondWith(reply.status(500)); // the control plane is down: every action is spooled
  const dataDir = join(tempDir(), 'data');
  const config = spoolingConfigFile(control.url, dataDir, ['listen: 127.0.0.1:0']);
  const env = cleanEnv({ KAIZEN_API_KEY: API_KEY });

  const first = await startServe(['--config', config], env, tempDir());
  serves.push(first);
  const firstSlot = String((await first.waitFor(spoolOpen))['dir']);
  expect((await viaProxy(first.port, `${destination.url}/a`)).status).toBe(503);
  await eventually(() => segmentsIn(firstSlot).length > 0, 10_000, 'a spooled segment');
  // Replayed: nothing left pending, so the first proxy does not touch its slot until its next action.
  control.respondWith(reply.recorded());
  await eventually(() => deliveries(control).size === 1 && segmentsIn(firstSlot).length === 0, 20_000, '/a replayed');
  control.respondWith(reply.status(500));

  rmSync(dataDir, { recursive: true, force: true });
  return { cp: control, origin: destination, dataDir, config, env, first, firstSlot };
}

describe('report spool when data_dir is removed under the running proxy', () => {
  it('takes its slot lock again, leaves a slot another proxy took, and every action is delivered once', async () => {
    const { cp, origin, dataDir, config, env, first, firstSlot } = await firstProxySpooledThenRemoved();
    // A second proxy on the same data_dir takes a slot before the first one writes again.
    const second = await startServe(['--config', config], env, tempDir());
    serves.push(second);
    const secondSlot = String((await second.waitFor(spoolOpen))['dir']);
    expect(secondSlot).toBe(firstSlot);
    expect((await viaProxy(second.port, `${origin.url}/c`)).status).toBe(503);
    await eventually(() => segmentsIn(secondSlot).length > 0, 10_000, 'the second proxy spooled');
    const secondsOwn = segmentsIn(secondSlot);

    // The first proxy spools again: never into the second's slot (nor its ack cursor).
    expect((await viaProxy(first.port, `${origin.url}/b`)).status).toBe(503);
    const spooledUnder = (): number => segmentsUnder(dataDir).length;
    await eventually(() => spooledUnder() > secondsOwn.length, 10_000, 'the first proxy spooled again');
    expect(segmentsIn(secondSlot)).toEqual(secondsOwn);
    const taken = await first.waitFor((line) => line['code'] === 'KZP_ERR_SPOOL_SLOT_TAKEN', 10_000);
    expect(taken['slot']).toBe(secondSlot);
    expect(taken['dir']).not.toBe(secondSlot);

    // The control plane is back: each proxy replays its own actions, each one is delivered once.
    cp.respondWith(reply.recorded());
    await eventually(() => [...deliveries(cp).values()].filter((seen) => seen.delivered > 0).length >= 3, 30_000, 'a, b and c delivered');
    for (const serve of serves.splice(0)) expect(await serve.stop()).toBe(0);
    // A later proxy on that data_dir finds nothing left to replay twice.
    const third = await startServe(['--config', config], env, tempDir());
    serves.push(third);
    await third.waitFor(spoolOpen);
    expect((await viaProxy(third.port, `${origin.url}/e`)).status).toBe(200);
    expect(await third.stop()).toBe(0);
    serves.length = 0;
    const delivered = [...deliveries(cp).values()].filter((seen) => seen.delivered > 0);
    expect(delivered.map((seen) => seen.delivered)).toEqual([1, 1, 1, 1]);
  });

  it('makes its slot again and locks it before writing, so a proxy started later takes another slot', async () => {
    const { cp, origin, config, env, first, firstSlot } = await firstProxySpooledThenRemoved();
    expect((await viaProxy(first.port, `${origin.url}/b`)).status).toBe(503);
    // Its slot is made again, locked, and written: /a (still in the open file) and /b.
    await eventually(() => segmentsIn(firstSlot).length > 0 && existsSync(join(firstSlot, 'lock')), 10_000, 'the slot made again, with its lock');

    const second = await startServe(['--config', config], env, tempDir());
    serves.push(second);
    const secondSlot = String((await second.waitFor(spoolOpen))['dir']);
    expect(secondSlot).not.toBe(firstSlot);
    expect((await viaProxy(second.port, `${origin.url}/c`)).status).toBe(503);
    await eventually(() => segmentsIn(secondSlot).length > 0, 10_000, 'the second proxy spooled');

    cp.respondWith(reply.recorded());
    await eventually(() => [...deliveries(cp).values()].filter((seen) => seen.delivered > 0).length >= 3, 30_000, 'a, b and c delivered');
    for (const serve of serves.splice(0)) expect(await serve.stop()).toBe(0);
    expect([...deliveries(cp).values()].filter((seen) => seen.delivered > 0).map((seen) => seen.delivered)).toEqual([1, 1, 1]);
    expect(first.lines.some((line) => line['code'] === 'KZP_ERR_SPOOL_SLOT_TAKEN')).toBe(false);
  });
});
