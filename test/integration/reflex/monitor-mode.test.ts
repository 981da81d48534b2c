import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createProxy, type KaizenProxy } from '../../../src/app/create-proxy.js';
import { loadConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/observe/logger.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { CapturedLogs } from '../../helpers/start-proxy.js';
import { tempDir, writeFile } from './cli-process.js';

/**
 * The whole proxy (createProxy) with a policy whose ip rule covers what `localhost` resolves to,
 * driven by curl: enforce refuses with 403, monitor forwards and logs would_block with the reason.
 */
const run = promisify(execFile);
let origin: Origin;
let proxy: KaizenProxy | undefined;
let logs: CapturedLogs;
let file: string;

beforeAll(async () => {
  origin = await startOrigin();
  file = writeFile(
    tempDir(),
    'kaizen-proxy.yaml',
    ['admin: off', 'network: { allow_private: [127.0.0.0/8, "::1"] }', 'policies:', '  - name: no-local', '    mode: blocklist', '    rules: { ips: [127.0.0.0/8, "::1"] }'].join('\n'),
  );
});

afterAll(async () => {
  await origin.close();
});

afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

async function start(mode: 'enforce' | 'monitor'): Promise<string> {
  const loaded = loadConfig({ env: {}, flags: { config: file, listen: '127.0.0.1:0', mode } });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  logs = new CapturedLogs();
  proxy = await createProxy(loaded.config, { logger: createLogger({ level: 'info', destination: logs }) });
  return `http://127.0.0.1:${proxy.address.port}`;
}

async function curl(proxyUrl: string, ...args: string[]): Promise<{ status: string; headers: string; body: string }> {
  const { stdout } = await run('curl', ['-sS', '--noproxy', '', '-x', proxyUrl, '-D', '-', '-w', '\n%{http_code}', ...args]);
  const lines = stdout.split('\n');
  const status = lines.pop() ?? '';
  const text = lines.join('\n');
  const cut = text.lastIndexOf('\r\n\r\n');
  return { status, headers: text.slice(0, cut), body: text.slice(cut + 4) };
}

describe('enforce and monitor mode, end to end with curl', () => {
  it('enforce: a name resolving into the blocked range is refused with 403, the origin never sees it', async () => {
    const proxyUrl = await start('enforce');
    const before = origin.connections;
    const answer = await curl(proxyUrl, `http://localhost:${origin.port}/x`);
    expect(answer.status).toBe('403');
    expect(answer.headers).toMatch(/x-kaizen-decision: block/i);
    expect(answer.headers).toMatch(/x-kaizen-reason: blocked by local policy "no-local" \(ip\)/i);
    expect(JSON.parse(answer.body)).toMatchObject({ error: 'KZP_ERR_BLOCKED', reason: 'blocked by local policy "no-local" (ip)' });
    expect(origin.connections).toBe(before);
  });

  it('monitor: the same request and a CONNECT tunnel go through; each decision line says would_block with the reason', async () => {
    const proxyUrl = await start('monitor');
    const plain = await curl(proxyUrl, `http://localhost:${origin.port}/plain`);
    expect(plain.status).toBe('200');
    expect(JSON.parse(plain.body)).toMatchObject({ method: 'GET', url: '/plain' });
    const tunnelled = await curl(proxyUrl, '-p', `http://127.0.0.1:${origin.port}/tunnelled`);
    expect(tunnelled.status).toBe('200');

    const decisions = logs.lines.filter((line) => line.msg === 'decision');
    expect(decisions.map((line) => [line['kind'], line['target']])).toEqual([
      ['http', `localhost:${origin.port}`],
      ['connect', `127.0.0.1:${origin.port}`],
    ]);
    for (const line of decisions) {
      expect(line).toMatchObject({ decision: 'block', would_block: true, source: 'local', reason: 'blocked by local policy "no-local" (ip)' });
    }
    expect(logs.lines.some((line) => line.msg === 'monitor mode: blocked actions are forwarded and logged with would_block, not refused')).toBe(true);
  });

  it('monitor keeps the address guard: cloud metadata is still refused', async () => {
    const proxyUrl = await start('monitor');
    const answer = await curl(proxyUrl, '--max-time', '5', 'http://169.254.169.254/latest/');
    expect(answer.status).toBe('403');
    expect(answer.headers).toMatch(/x-kaizen-reason: destination 169\.254\.169\.254 is a cloud metadata address/i);
  });
});
