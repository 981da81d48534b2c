import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxy, type KaizenProxy } from '../../../src/app/create-proxy.js';
import { loadConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/observe/logger.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { CapturedLogs } from '../../helpers/start-proxy.js';
import { tempDir, writeFile } from './cli-process.js';

/**
 * An IPv4 written in a policy's `domains` is one host with its IPv4-mapped IPv6 form: the dial to
 * `[::ffff:127.0.0.1]` reaches 127.0.0.1, so each spelling must be refused before the origin sees
 * a connection. The whole proxy (createProxy), curl for plain HTTP and CONNECT, a raw socket for a
 * CONNECT line curl would rewrite.
 */
const run = promisify(execFile);
let origin: Origin;
let proxy: KaizenProxy;
let proxyUrl: string;

beforeAll(async () => {
  origin = await startOrigin();
  const file = writeFile(
    tempDir(),
    'kaizen-proxy.yaml',
    ['admin: off', 'network: { allow_private: [127.0.0.0/8] }', 'policies:', '  - name: no-loopback', '    mode: blocklist', '    rules: { domains: ["127.0.0.1"] }'].join('\n'),
  );
  const loaded = loadConfig({ env: {}, flags: { config: file, listen: '127.0.0.1:0' } });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  proxy = await createProxy(loaded.config, { logger: createLogger({ level: 'info', destination: new CapturedLogs() }) });
  proxyUrl = `http://127.0.0.1:${proxy.address.port}`;
});

afterAll(async () => {
  await proxy.close();
  await origin.close();
});

async function curl(...args: string[]): Promise<{ status: string; headers: string }> {
  const { stdout } = await run('curl', ['-sS', '--noproxy', '', '-x', proxyUrl, '-D', '-', '-o', '/dev/null', '-w', '\n%{http_code}', ...args]);
  const lines = stdout.split('\n');
  return { status: lines.pop() ?? '', headers: lines.join('\n') };
}

/** The proxy's answer to one CONNECT line, up to the end of its head. */
function rawConnect(target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(proxy.address.port, '127.0.0.1', () => {
      socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
    });
    let head = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      head += chunk;
      if (!head.includes('\r\n\r\n')) return;
      socket.destroy();
      resolve(head);
    });
    socket.on('error', reject);
  });
}

describe('an IPv4 in domains also refuses its IPv4-mapped IPv6 spellings', () => {
  it('plain HTTP: the IPv4 and each mapped spelling get 403 from the domains rule; the origin sees nothing', async () => {
    const before = origin.connections;
    for (const host of ['127.0.0.1', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[0:0:0:0:0:ffff:7f00:0001]']) {
      const answer = await curl('-g', `http://${host}:${origin.port}/b`);
      expect(answer.status, host).toBe('403');
      expect(answer.headers, host).toMatch(/x-kaizen-reason: blocked by local policy "no-loopback" \(domains\)/i);
    }
    expect(origin.connections).toBe(before);
  });

  it('CONNECT: curl\'s tunnel and a raw CONNECT to the mapped form are refused with 403; the origin sees nothing', async () => {
    const before = origin.connections;
    // curl exits 56 when the tunnel is refused, naming the proxy's status.
    const tunnelled = await run('curl', ['-sS', '--noproxy', '', '-x', proxyUrl, '-g', '-p', '-o', '/dev/null', `http://[::ffff:127.0.0.1]:${origin.port}/c`]).then(
      () => 'tunnel opened',
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    expect(tunnelled).toContain('CONNECT tunnel failed, response 403');
    const raw = await rawConnect(`[::ffff:7f00:1]:${origin.port}`);
    expect(raw).toMatch(/^HTTP\/1\.1 403 /);
    expect(raw).toMatch(/x-kaizen-reason: blocked by local policy "no-loopback" \(domains\)/i);
    expect(origin.connections).toBe(before);
  });
});
