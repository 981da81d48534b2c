import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { cleanEnv, runCli, startServe, tempDir, writeFile } from '../reflex/cli-process.js';

/**
 * A record that reached observed.max_destinations counts the actions on destinations it cannot
 * hold (`dropped.actions`), but `kaizen-proxy manifest` printed the manifest of what it held and
 * said nothing: enforcing it refused destinations the agent used. It now says the manifest is
 * incomplete, and by how many actions.
 */
const run = promisify(execFile);
let first: Origin;
let second: Origin;

beforeAll(async () => {
  [first, second] = await Promise.all([startOrigin(), startOrigin()]);
});

afterAll(async () => {
  await Promise.all([first.close(), second.close()]);
});

describe('kaizen-proxy manifest from a full record', () => {
  it('says which part is missing instead of printing it as the whole', async () => {
    const dir = tempDir();
    const config = writeFile(
      dir,
      'kaizen-proxy.yaml',
      ['admin: off', 'agent: full-bot', `data_dir: ${join(dir, 'data')}`, 'network: { allow_private: [127.0.0.0/8] }', 'observed: { max_destinations: 1 }'].join('\n'),
    );
    const env = cleanEnv();
    const serve = await startServe(['--config', config, '--listen', '127.0.0.1:0'], env);
    try {
      for (const url of [first.url, second.url, second.url]) {
        const { stdout } = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--noproxy', '', '-x', `http://127.0.0.1:${String(serve.port)}`, `${url}/x`]);
        expect(stdout).toBe('200');
      }
    } finally {
      expect(await serve.stop()).toBe(0);
    }

    const result = await runCli(['manifest', '--config', config], env);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ tools: [], destinations: [`127.0.0.1:${String(first.port)}`] });
    expect(result.stderr).toContain('kaizen-proxy: note: incomplete: the record was full: 2 actions on destinations it could not hold are not in this manifest');
  });
});
