import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { reply, startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { cleanEnv, startServe, tempDir, type ServeProcess } from '../reflex/cli-process.js';
import { API_KEY, deliveries, eventIdOf, eventually, segmentsUnder, spoolingConfigFile, viaProxy } from './resilience-support.js';

/**
 * The segment the spool appends to, truncated under the running proxy (a disk cleaner, `truncate`):
 * the spool went on appending where the file now ended while its table still placed every entry
 * after the old end, so replay read each action spooled after the cut at the wrong offset and
 * dropped it (one warning each). The cut is now found before the next write (and at each sync):
 * the entries still whole in the file, and every one spooled after, go to a new segment.
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

const pathOf = (body: unknown): string | undefined => (body as { action?: { metadata?: { path?: string } } } | undefined)?.action?.metadata?.path;

async function spoolThenCut(size: (bytes: number) => number): Promise<{ delivered: Map<string, number>; serve: ServeProcess & { config: string } }> {
  cp = await startFakeControlPlane();
  origin = await startOrigin();
  cp.respondWith(reply.status(500)); // the control plane is down: every action is spooled
  const dataDir = join(tempDir(), 'data');
  const config = spoolingConfigFile(cp.url, dataDir);
  serve = await startServe(['--listen', '127.0.0.1:0', '--config', config], cleanEnv({ KAIZEN_API_KEY: API_KEY }), tempDir());
  const spool = join(dataDir, 'spool');

  for (const path of ['/a', '/b', '/c', '/d']) expect((await viaProxy(serve.port, `${origin.url}${path}`)).status).toBe(503);
  await eventually(() => segmentsUnder(spool).some((segment) => readFileSync(join(spool, segment), 'latin1').includes('"/d"')), 10_000, 'four spooled actions');
  const [segment = ''] = segmentsUnder(spool);
  const file = join(spool, segment);
  execFileSync('truncate', ['-s', String(size(statSync(file).size)), file]);
  for (const path of ['/e', '/f', '/g']) expect((await viaProxy(serve.port, `${origin.url}${path}`)).status).toBe(503);

  cp.respondWith(reply.recorded());
  const delivered = (): Map<string, number> => {
    const paths = new Map<string, string>();
    for (const seen of cp?.requests ?? []) {
      const id = eventIdOf(seen.body);
      const path = pathOf(seen.body);
      if (id !== undefined && path !== undefined) paths.set(id, path);
    }
    const out = new Map<string, number>();
    for (const [id, seen] of deliveries(cp as FakeControlPlane)) if (seen.delivered > 0) out.set(paths.get(id) ?? id, seen.delivered);
    return out;
  };
  await eventually(() => ['/e', '/f', '/g'].every((path) => delivered().has(path)), 20_000, 'the actions spooled after the cut replayed');
  return { delivered: delivered(), serve: Object.assign(serve, { config }) };
}

describe('report spool segment truncated while in use', () => {
  it('cut to nothing: every action spooled after the cut is replayed, once', async () => {
    const { delivered, serve: running } = await spoolThenCut(() => 0);
    for (const count of delivered.values()) expect(count).toBe(1);
    for (const path of ['/e', '/f', '/g']) expect(delivered.get(path)).toBe(1);
    expect(running.lines.some((line) => String(line['msg']).startsWith('spooled action no longer decodes'))).toBe(false);
    // What the cut took is said once, and counted.
    const cut = running.lines.filter((line) => String(line['msg']).startsWith('spool segment was cut short while in use'));
    expect(cut).toHaveLength(1);
    expect(cut[0]?.['dropped']).toBe(4);
    expect(await running.stop()).toBe(0);
  });

  it('cut in half: the whole entries before the cut and every one after are replayed, once', async () => {
    const { delivered, serve: running } = await spoolThenCut((bytes) => Math.floor(bytes / 2));
    for (const path of ['/a', '/e', '/f', '/g']) expect(delivered.get(path)).toBe(1);
    for (const count of delivered.values()) expect(count).toBe(1);
    expect(running.lines.some((line) => String(line['msg']).startsWith('spooled action no longer decodes'))).toBe(false);
    expect(await running.stop()).toBe(0);
    // The cut file went once its entries were moved: a restart finds nothing to replay again.
    serve = await startServe(['--listen', '127.0.0.1:0', '--config', running.config], cleanEnv({ KAIZEN_API_KEY: API_KEY }), tempDir());
    expect((await serve.waitFor((line) => line['msg'] === 'report spool open'))['pending']).toBe(0);
  });
});
