import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxy, type KaizenProxy } from '../../../src/app/create-proxy.js';
import { loadConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/observe/logger.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { CapturedLogs } from '../../helpers/start-proxy.js';
import { tempDir, writeFile } from './cli-process.js';
import { EMBEDDING_127_0_0_1 } from './loopback-rule-proxy.js';

const run = promisify(execFile);

/**
 * A tool route on an IPv4 host is the tool of every IPv6 literal that reaches that IPv4 (the forms
 * the address guard and `domains` rules read it out of): `http://[::ffff:127.0.0.1]:PORT/v1/refunds`
 * reaches 127.0.0.1 through a dual-stack socket, so a blocked issue_refund must stay blocked there.
 */
describe('a tool route on an IPv4 host names the IPv6 literals that carry it', () => {
  let origin: Origin;
  let proxy: KaizenProxy;

  beforeAll(async () => {
    origin = await startOrigin();
    const file = writeFile(
      tempDir(),
      'kaizen-proxy.yaml',
      [
        'admin: off',
        // Only the IPv4-mapped form reaches the origin on a test machine: bound the others' dials.
        'network: { allow_private: [127.0.0.0/8], connect_timeout: 1s }',
        'tools:',
        '  - {match: "POST 127.0.0.1/v1/refunds", tool: issue_refund}',
        '  - {match: "POST [::ffff:127.0.0.2]/v1/refunds", tool: issue_refund}',
        'policies:',
        '  - name: no-refunds',
        '    mode: blocklist',
        '    rules: { skill_patterns: [issue_refund] }',
      ].join('\n'),
    );
    const loaded = loadConfig({ env: {}, flags: { config: file, listen: '127.0.0.1:0' } });
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    proxy = await createProxy(loaded.config, { logger: createLogger({ level: 'info', destination: new CapturedLogs() }) });
  });

  afterAll(async () => {
    await proxy.close();
    await origin.close();
  });

  async function post(host: string): Promise<{ readonly status: string; readonly headers: string }> {
    const { stdout } = await run('curl', [
      '-sS', '--noproxy', '', '-x', `http://127.0.0.1:${proxy.address.port}`, '-g', '-d', 'amount=100',
      '-D', '-', '-o', '/dev/null', '-w', '\n%{http_code}', `http://${host}:${origin.port}/v1/refunds`,
    ]);
    const lines = stdout.split('\n');
    return { status: lines.pop() ?? '', headers: lines.join('\n') };
  }

  it('blocks the route through IPv4-mapped, NAT64, 6to4, translated, compatible and Teredo literals', async () => {
    for (const host of ['127.0.0.1', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', ...EMBEDDING_127_0_0_1.map((address) => `[${address}]`)]) {
      const answer = await post(host);
      expect(answer.status, host).toBe('403');
      expect(answer.headers, host).toMatch(/x-kaizen-reason: .*skill_patterns/i);
    }
    expect(origin.requests).toHaveLength(0);
  });

  it('reads a route written on an IPv4-mapped host as that IPv4', async () => {
    const answer = await post('127.0.0.2');
    expect(answer.status).toBe('403');
    expect(answer.headers).toMatch(/x-kaizen-reason: .*skill_patterns/i);
  });
});
