import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reply, startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { cleanEnv, runCli, tempDir, writeFile } from './cli-process.js';

/**
 * Agent names `.` and `..` through the built CLI: the name goes into the manifest endpoint's path
 * (/v1/agents/{agent}/manifest), where encodeURIComponent leaves dots and `..` climbs a segment, so
 * they are refused wherever a name is read (flag, environment, file, gateway credentials), and the
 * path percent-encodes dots besides.
 */
const HEADLINE = 'kaizen-proxy: KZP_ERR_CONFIG_INVALID: invalid configuration\n';
const DIGEST = 'a'.repeat(64);
let cp: FakeControlPlane;
let dir: string;

/** An observed record (data_dir/observed/<file>.json) with one allowed destination, as the proxy writes it. */
function writeRecord(dataDir: string, fileName: string, agent: string): void {
  const observed = join(dataDir, 'observed');
  mkdirSync(observed, { recursive: true });
  const at = new Date().toISOString();
  const destination = { target: 'api.example.com:443', kinds: { connect: 1 }, tools: [], count: 1, decisions: { allow: 1, block: 0, would_block: 0 }, first_seen: at, last_seen: at };
  writeFile(observed, fileName, JSON.stringify({ version: 1, agent, updated_at: at, dropped: { actions: 0, tools: 0 }, destinations: [destination] }));
}

beforeAll(async () => {
  cp = await startFakeControlPlane();
  dir = tempDir();
});

afterAll(async () => {
  await cp.close();
});

describe('agent names . and ..', () => {
  it('are refused from the flag, the environment and the file, naming where, exit 1', async () => {
    const plain = writeFile(dir, 'plain.yaml', 'admin: off\n');
    const dotted = writeFile(dir, 'dotted.yaml', 'admin: off\nagent: "."\n');
    for (const [args, env, where, name] of [
      [['check-config', plain, '--agent', '..'], cleanEnv(), 'flag --agent', '..'],
      [['check-config', plain, '--agent', '.'], cleanEnv(), 'flag --agent', '.'],
      [['check-config', plain], cleanEnv({ KAIZEN_AGENT: '..' }), 'env KAIZEN_AGENT', '..'],
      [['check-config', dotted], cleanEnv(), `${dotted}:2`, '.'],
    ] as const) {
      const result = await runCli(args, env);
      expect(result.code, `${where} ${name}`).toBe(1);
      expect(result.stderr, `${where} ${name}`).toBe(`${HEADLINE}${where}: agent: expected an agent name other than . or .., got ${JSON.stringify(name)}\n`);
    }
  });

  it('are refused in gateway credentials, naming the file and line', async () => {
    const credentials = writeFile(dir, 'credentials', `ci-bot:${DIGEST}\n..:${DIGEST}\n`);
    const file = writeFile(dir, 'gateway.yaml', `admin: off\ngateway: { credentials_file: ${JSON.stringify(credentials)} }\n`);
    const result = await runCli(['check-config', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`${HEADLINE}${credentials}:2: gateway.credentials_file: expected agent:sha256hex, with an agent name other than . or ..\n`);
  });

  it('manifest --push --agent .. stops at the configuration: nothing is sent', async () => {
    const dataDir = join(dir, 'data-dots');
    writeRecord(dataDir, '%2E..json', '..');
    const file = writeFile(dir, 'push-dots.yaml', `admin: off\ndata_dir: ${JSON.stringify(dataDir)}\n`);
    cp.resetRequests();
    const result = await runCli(['manifest', '--config', file, '--agent', '..', '--push'], cleanEnv({ KAIZEN_API_URL: cp.url, KAIZEN_API_KEY: 'kz_test_dots' }));
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`${HEADLINE}flag --agent: agent: expected an agent name other than . or .., got ".."\n`);
    expect(cp.requests).toEqual([]);
  });

  it('a name with dots is pushed as one segment, dots as they are (as the SDKs send it)', async () => {
    const dataDir = join(dir, 'data-dotted');
    writeRecord(dataDir, 'release.bot.json', 'release.bot');
    const file = writeFile(dir, 'push-dotted.yaml', `admin: off\nagent: release.bot\ndata_dir: ${JSON.stringify(dataDir)}\n`);
    cp.resetRequests();
    cp.routeWith('/v1/agents/release.bot/manifest', reply.json(200, { id: 'm-dots' }));
    const result = await runCli(['manifest', '--config', file, '--push'], cleanEnv({ KAIZEN_API_URL: cp.url, KAIZEN_API_KEY: 'kz_test_dots' }));
    expect(result.code).toBe(0);
    expect(cp.requests.map((request) => `${request.method} ${request.path}`)).toEqual(['POST /v1/agents/release.bot/manifest']);
  });
});
