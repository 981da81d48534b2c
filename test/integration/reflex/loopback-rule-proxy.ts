import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { createProxy, type KaizenProxy } from '../../../src/app/create-proxy.js';
import { loadConfig } from '../../../src/config/load.js';
import { createLogger } from '../../../src/observe/logger.js';
import { CapturedLogs } from '../../helpers/start-proxy.js';
import { tempDir, writeFile } from './cli-process.js';

/**
 * The whole proxy (createProxy) from a file holding one policy, "loopback-rule", with 127.0.0.0/8
 * opened to the guard so the rule is what answers, and the two clients the embedded-IPv4 tests
 * reach it with: curl for plain HTTP, a raw socket for CONNECT.
 */
const run = promisify(execFile);

/** Each spelling carries 127.0.0.1 (Teredo's client is stored inverted: ~7f00:0001 = 80ff:fffe). */
export const EMBEDDING_127_0_0_1 = [
  '64:ff9b::7f00:1', // NAT64, well-known prefix (RFC 6052)
  '64:ff9b::127.0.0.1',
  '2002:7f00:1::', // 6to4 (RFC 3056)
  '2002:7f00:1:abcd::1', // 6to4: any subnet and interface id behind the same IPv4
  '::ffff:0:7f00:1', // IPv4-translated (SIIT)
  '::7f00:1', // IPv4-compatible
  '2001:0:7f00:2::80ff:fffe', // Teredo: server 127.0.0.2, client 127.0.0.1
  '2001:0:7f00:1::80ff:fffd', // Teredo: server 127.0.0.1, client 127.0.0.2
];

/** `mode` and `rules` (YAML flow text) of the one policy. */
export function startLoopbackRuleProxy(mode: 'blocklist' | 'allowlist', rules: string): Promise<KaizenProxy> {
  return startProxyFromLines([
    // A dial the rule lets through goes nowhere on a test machine: bound it.
    'network: { allow_private: [127.0.0.0/8], connect_timeout: 1s }',
    'policies:',
    '  - name: loopback-rule',
    `    mode: ${mode}`,
    `    rules: ${rules}`,
  ]);
}

/** The whole proxy from a configuration file of these lines (and `admin: off`), on 127.0.0.1:0. */
export async function startProxyFromLines(lines: readonly string[]): Promise<KaizenProxy> {
  const file = writeFile(tempDir(), 'kaizen-proxy.yaml', ['admin: off', ...lines].join('\n'));
  const loaded = loadConfig({ env: {}, flags: { config: file, listen: '127.0.0.1:0' } });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  return createProxy(loaded.config, { logger: createLogger({ level: 'info', destination: new CapturedLogs() }) });
}

export interface Answer {
  readonly status: string;
  readonly headers: string;
}

/** curl through the proxy: its status and response head (`args`: more of curl's options, e.g. a method or a body). */
export async function curl(proxy: KaizenProxy, url: string, args: readonly string[] = []): Promise<Answer> {
  const proxyUrl = `http://127.0.0.1:${proxy.address.port}`;
  const { stdout } = await run('curl', ['-sS', '--noproxy', '', '-x', proxyUrl, ...args, '-D', '-', '-o', '/dev/null', '-w', '\n%{http_code}', '-g', url]);
  const lines = stdout.split('\n');
  return { status: lines.pop() ?? '', headers: lines.join('\n') };
}

/** The proxy's answer to one CONNECT line, up to the end of its head. */
export function rawConnect(proxy: KaizenProxy, target: string): Promise<Answer> {
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
      resolve({ status: head.slice(9, 12), headers: head });
    });
    socket.on('error', reject);
  });
}
