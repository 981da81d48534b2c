import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { cleanEnv, runCli, startServe, tempDir, writeFile } from '../reflex/cli-process.js';

/**
 * A tool whose every call was refused (a skill_patterns block) on a destination the agent also used
 * on an allow was declared in the learned manifest all the same: the record kept the tools of every
 * action, refused or not, and the manifest took every tool of a kept destination. The declaration
 * then legitimised the one thing the policy refused. Such tools are now kept apart in the record
 * (tools_not_allowed), left out of the manifest and named on stderr.
 */
const run = promisify(execFile);
const AGENT = 'tool-bot';
let origin: Origin;

beforeAll(async () => {
  origin = await startOrigin();
});

afterAll(async () => {
  await origin.close();
});

describe('kaizen-proxy manifest after a refused tool call', () => {
  it('declares the destination and the allowed tool, not the tool whose calls were all refused', async () => {
    const dir = tempDir();
    const config = writeFile(
      dir,
      'kaizen-proxy.yaml',
      [
        'admin: off',
        `agent: ${AGENT}`,
        `data_dir: ${join(dir, 'data')}`,
        'network: { allow_private: [127.0.0.0/8] }',
        'tools:',
        '  - {match: "POST 127.0.0.1/v1/refunds", tool: issue_refund}',
        '  - {match: "GET 127.0.0.1/v1/customers/*", tool: read_customer}',
        'policies:',
        '  - { name: no-refunds, mode: blocklist, rules: { skill_patterns: [issue_refund] } }',
      ].join('\n'),
    );
    const env = cleanEnv();
    const serve = await startServe(['--config', config, '--listen', '127.0.0.1:0'], env);
    const target = `127.0.0.1:${String(origin.port)}`;
    const curl = (...args: string[]): Promise<string> =>
      run('curl', ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--noproxy', '', '-x', `http://127.0.0.1:${String(serve.port)}`, ...args]).then((r) => r.stdout);
    try {
      expect(await curl(`${origin.url}/v1/customers/c1`)).toBe('200');
      expect(await curl('-X', 'POST', '-d', 'amount=1', `${origin.url}/v1/refunds`)).toBe('403');
    } finally {
      // SIGTERM: the record is written at close.
      expect(await serve.stop()).toBe(0);
    }

    const result = await runCli(['manifest', '--config', config], env);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ tools: ['read_customer'], destinations: [target] });
    expect(result.stderr).toContain('issue_refund');

    const record = JSON.parse(await readFile(join(dir, 'data', 'observed', `${AGENT}.json`), 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ destinations: [{ target, tools: ['read_customer'], decisions: { allow: 1, block: 1 } }] });
  });
});
