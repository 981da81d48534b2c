import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxy } from '../../../src/app/create-proxy.js';
import { loadConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/observe/logger.js';
import { reply, startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { CapturedLogs } from '../../helpers/start-proxy.js';
import { cleanEnv, runCli, tempDir, writeFile } from '../reflex/cli-process.js';

/**
 * The observed record kept by a running proxy (data_dir/observed/<agent>.json, written atomically
 * on a short debounce and at close, merged across restarts), then `kaizen-proxy manifest` on it:
 * the manifest, --collapse, --policy (loadable as configuration), --push to a fake control plane
 * with the agent URL-encoded, and the exit codes.
 */
const run = promisify(execFile);
const AGENT = 'bot@team+ü';
let origin: Origin;
let cp: FakeControlPlane;
let dir: string;
let configFile: string;

beforeAll(async () => {
  [origin, cp] = await Promise.all([startOrigin(), startFakeControlPlane()]);
  dir = tempDir();
  configFile = writeFile(
    dir,
    'kaizen-proxy.yaml',
    [
      'admin: off',
      `agent: "${AGENT}"`,
      `data_dir: ${join(dir, 'data')}`,
      'observed: { flush_interval: 50ms }',
      'network: { allow_private: [127.0.0.0/8, "::1"] }',
      'policies:',
      '  - { name: no-localhost-names, mode: blocklist, rules: { domains: [localhost] } }',
    ].join('\n'),
  );
});

afterAll(async () => {
  await Promise.all([origin.close(), cp.close()]);
});

async function session(...urls: readonly string[][]): Promise<void> {
  const loaded = loadConfig({ env: {}, flags: { config: configFile, listen: '127.0.0.1:0' } });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  const proxy = await createProxy(loaded.config, { logger: createLogger({ level: 'warn', destination: new CapturedLogs() }) });
  try {
    for (const args of urls) {
      await run('curl', ['-sS', '-o', '/dev/null', '--noproxy', '', '-x', `http://127.0.0.1:${proxy.address.port}`, ...args]).catch(() => undefined);
    }
  } finally {
    await proxy.close();
  }
}

const recordFile = (): string => join(dir, 'data', 'observed', 'bot%40team%2B%C3%BC.json');
const manifest = (...args: string[]): ReturnType<typeof runCli> => runCli(['manifest', '--config', configFile, ...args], cleanEnv({ KAIZEN_API_URL: cp.url }));

describe('the observed record and kaizen-proxy manifest', () => {
  it('records what the agent did, per host:port, under a file name made safe from the agent name', async () => {
    await session([`http://127.0.0.1:${origin.port}/a`], ['-p', `http://127.0.0.1:${origin.port}/b`], [`http://localhost:${origin.port}/blocked`]);
    const record = JSON.parse(await readFile(recordFile(), 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({
      version: 1,
      agent: AGENT,
      dropped: { actions: 0, tools: 0 },
      destinations: [
        { target: `127.0.0.1:${origin.port}`, kinds: { http: 1, connect: 1 }, count: 2, decisions: { allow: 2, block: 0, would_block: 0 } },
        { target: `localhost:${origin.port}`, kinds: { http: 1 }, count: 1, decisions: { allow: 0, block: 1, would_block: 0 } },
      ],
    });
    // Written by rename: no temporary file is left beside it.
    expect(await readdir(join(dir, 'data', 'observed'))).toEqual(['bot%40team%2B%C3%BC.json']);
  });

  it('a restart adds to the record: counts grow, first_seen stays', async () => {
    const before = JSON.parse(await readFile(recordFile(), 'utf8')) as { destinations: { first_seen: string; count: number }[] };
    await session([`http://127.0.0.1:${origin.port}/again`]);
    const after = JSON.parse(await readFile(recordFile(), 'utf8')) as { destinations: { first_seen: string; count: number }[] };
    expect(after.destinations[0]?.count).toBe(3);
    expect(after.destinations[0]?.first_seen).toBe(before.destinations[0]?.first_seen);
  });

  it("prints Kaizen's manifest; refused-only destinations are left out with a note", async () => {
    const result = await manifest();
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ tools: [], destinations: [`127.0.0.1:${origin.port}`] });
    expect(result.stderr).toContain(`left out, every action refused: localhost:${origin.port}`);
    const collapsed = await manifest('--collapse', 'registrable');
    expect(JSON.parse(collapsed.stdout)).toEqual({ tools: [], destinations: [`127.0.0.1:${origin.port}`] });
  });

  it('--policy prints an allowlist the configuration accepts', async () => {
    const result = await manifest('--policy');
    expect(result.code).toBe(0);
    const file = writeFile(dir, 'learned.yaml', `admin: off\n${result.stdout}`);
    const loaded = loadConfig({ env: {}, flags: { config: file } });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    expect(loaded.config.policies).toMatchObject([{ name: `learned-${AGENT}`, mode: 'allowlist', rules: { domains: ['127.0.0.1'] } }]);
  });

  it('--push posts it to /v1/agents/{URL-encoded agent}/manifest with the API key and reports the answer', async () => {
    cp.routeWith('/v1/agents/bot%40team%2B%C3%BC/manifest', reply.json(200, { id: 'm-1', accepted: true }));
    const result = await runCli(['manifest', '--config', configFile, '--push'], cleanEnv({ KAIZEN_API_URL: cp.url, KAIZEN_API_KEY: 'kz_test_push' }));
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('pushed (200): {"id":"m-1","accepted":true}');
    const sent = cp.requests.find((r) => r.path.endsWith('/manifest'));
    expect(sent).toMatchObject({ method: 'POST', path: '/v1/agents/bot%40team%2B%C3%BC/manifest', body: { tools: [], destinations: [`127.0.0.1:${origin.port}`] } });
    expect(sent?.headers.authorization).toBe('Bearer kz_test_push');
  });

  it('exit codes: 5 when the control plane refuses, 1 without an API key, 4 for an agent never seen', async () => {
    cp.routeWith('/v1/agents/bot%40team%2B%C3%BC/manifest', reply.forbidden());
    const refused = await runCli(['manifest', '--config', configFile, '--push'], cleanEnv({ KAIZEN_API_URL: cp.url, KAIZEN_API_KEY: 'kz_test_push' }));
    expect(refused.code).toBe(5);
    expect(refused.stderr).toContain('KZP_ERR_CONTROL_PLANE_AUTH');
    expect((await manifest('--push')).code).toBe(1);
    const unknown = await manifest('--agent', 'never-seen');
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain('nothing observed for agent "never-seen"');
    expect((await manifest('--push', '--policy')).code).toBe(2);
  });
});
