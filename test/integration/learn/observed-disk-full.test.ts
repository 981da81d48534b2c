import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { fillUp, freeUp, onSmallTmpfs, seenBy } from '../../helpers/small-tmpfs.js';
import { cleanEnv, startServe, tempDir, writeFile, type ServeProcess } from '../reflex/cli-process.js';
import { eventually, viaProxy } from '../resilience/resilience-support.js';

/**
 * An observed record that could not be written (a full disk) was kept "to retry", but nothing
 * asked again: the next action found the agent already marked changed and armed no write, so the
 * record stayed as it was on disk until the proxy stopped (and a kill -9 lost every action since).
 * It is now tried again after the flush interval (at least a second apart), until it is written.
 */
let origin: Origin | null = null;
let serve: ServeProcess | null = null;

afterEach(async () => {
  await serve?.stop();
  await origin?.close();
  serve = null;
  origin = null;
});

describe('observed record on a full disk', () => {
  it('is written once the disk takes writes again, while the proxy runs', async () => {
    origin = await startOrigin();
    const dataDir = join(tempDir(), 'data');
    mkdirSync(dataDir);
    const config = writeFile(tempDir(), 'kaizen-proxy.yaml', ['admin: off', `data_dir: ${dataDir}`, 'observed: { flush_interval: 50ms }', 'network: { allow_private: [127.0.0.0/8] }'].join('\n'));
    serve = await startServe(['--listen', '127.0.0.1:0', '--config', config], cleanEnv(), tempDir(), onSmallTmpfs(dataDir, 256));
    const pid = serve.child.pid ?? 0;

    fillUp(pid, dataDir);
    expect((await viaProxy(serve.port, `${origin.url}/a`)).status).toBe(200);
    await serve.waitFor((line) => line['msg'] === 'cannot write the observed record; will retry');
    // A second action while the write keeps failing: the agent is already marked changed.
    expect((await viaProxy(serve.port, `${origin.url}/b`)).status).toBe(200);

    freeUp(pid, dataDir);
    await serve.waitFor((line) => line['msg'] === 'observed record written again', 5000);
    const file = join(seenBy(pid, dataDir), 'observed', 'egress-agent.json');
    const target = `127.0.0.1:${String(origin.port)}`;
    const countOf = (): number | undefined => {
      const record = JSON.parse(readFileSync(file, 'utf8')) as { destinations: { target: string; count: number }[] };
      return record.destinations.find((destination) => destination.target === target)?.count;
    };
    await eventually(() => Promise.resolve(countOf() === 2), 5000, 'both actions in the record');
    expect(await serve.stop()).toBe(0);
  });
});
