import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { cleanEnv, runCli, startServe, tempDir, writeFile } from '../reflex/cli-process.js';

/**
 * `kaizen-proxy manifest --policy` on a record where nothing was forwarded on a verdict printed an
 * allowlist with `domains: []` and exited 0: a policy the configuration refuses (an empty list would
 * refuse everything), found only when the file it was merged into no longer loaded. It now prints
 * nothing and exits 4, as --push does with nothing to declare.
 */
const run = promisify(execFile);
let origin: Origin;

beforeAll(async () => {
  origin = await startOrigin();
});

afterAll(async () => {
  await origin.close();
});

describe('kaizen-proxy manifest --policy with nothing to allow', () => {
  it('exits 4 and prints no policy the configuration would refuse', async () => {
    const dir = tempDir();
    const config = writeFile(
      dir,
      'kaizen-proxy.yaml',
      [
        'admin: off',
        'agent: refused-bot',
        `data_dir: ${join(dir, 'data')}`,
        'network: { allow_private: [127.0.0.0/8] }',
        'policies:',
        '  - { name: no-loopback, mode: blocklist, rules: { ips: [127.0.0.0/8] } }',
      ].join('\n'),
    );
    const env = cleanEnv();
    const serve = await startServe(['--config', config, '--listen', '127.0.0.1:0'], env);
    try {
      const { stdout } = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--noproxy', '', '-x', `http://127.0.0.1:${String(serve.port)}`, `${origin.url}/x`]);
      expect(stdout).toBe('403');
    } finally {
      expect(await serve.stop()).toBe(0);
    }

    const result = await runCli(['manifest', '--config', config, '--policy'], env);
    expect(result.stdout).toBe('');
    expect(result.code).toBe(4);
    expect(result.stderr).toContain(`left out, every action refused: 127.0.0.1:${String(origin.port)}`);
    expect(result.stderr).toContain('no destination to allow');
  });
});
