import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reply, startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { rawExchange } from '../../helpers/raw-client.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { cleanEnv, runCli, startServe, tempDir } from '../reflex/cli-process.js';

/**
 * A destination let through only by fail: open never got a verdict: the control plane said nothing
 * about it. The learned manifest declared it all the same, silently. It is now counted apart in the
 * observed record (decisions.fail_open), left out of the declaration and named on stderr.
 */
const AGENT = 'fail-open-bot';
let origin: Origin;
let cp: FakeControlPlane;

beforeAll(async () => {
  [origin, cp] = await Promise.all([startOrigin(), startFakeControlPlane()]);
});

afterAll(async () => {
  await Promise.all([origin.close(), cp.close()]);
});

describe('kaizen-proxy manifest after allows without a verdict', () => {
  it.each([
    { what: 'under fail: open', flags: ['--fail', 'open'], decided: { source: 'fail_open' } },
    { what: 'in monitor mode under fail: closed (a would-block for want of a verdict)', flags: ['--fail', 'closed', '--mode', 'monitor'], decided: { source: 'fail_closed', would_block: true } },
  ])('$what: leaves out a destination no verdict ever allowed, and names it on stderr', async ({ flags, decided }) => {
    cp.respondWith(reply.status(500));
    const dataDir = join(tempDir(), 'data');
    const env = cleanEnv({ KAIZEN_API_KEY: 'kz_test_fail_open', KAIZEN_API_URL: cp.url, KAIZEN_PROXY_DATA_DIR: dataDir });
    const serve = await startServe(['--listen', '127.0.0.1:0', '--admin', 'off', ...flags, '--agent', AGENT, '--allow-private', '127.0.0.0/8'], env);
    const target = `127.0.0.1:${String(origin.port)}`;
    try {
      const answer = await rawExchange(serve.port, `GET ${origin.url}/x HTTP/1.1\r\nHost: ${target}\r\nConnection: close\r\n\r\n`);
      expect(answer).toMatch(/^HTTP\/1\.1 200 /);
      const decision = await serve.waitFor((line) => line['msg'] === 'decision' && line['target'] === target);
      expect(decision).toMatchObject(decided);
    } finally {
      // SIGTERM: the record is written at close.
      expect(await serve.stop()).toBe(0);
    }

    const result = await runCli(['manifest', '--agent', AGENT], env);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ tools: [], destinations: [] });
    expect(result.stderr).toContain(`kaizen-proxy: note: left out, forwarded only without a verdict (fail open, or monitor mode): ${target}`);
    expect(result.stderr).not.toContain('enforce mode would block');

    const record = JSON.parse(await readFile(join(dataDir, 'observed', `${AGENT}.json`), 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ destinations: [{ target, count: 1, decisions: { allow: 0, block: 0, would_block: 0, fail_open: 1 } }] });
  });
});
