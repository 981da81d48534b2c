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
 * An IPv4 range in a policy's `ip`/`ips` also holds every IPv6 target the address guard reads an
 * IPv4 of that range out of (src/net/embedded-ipv4.ts): NAT64 64:ff9b::/96, 6to4 2002::/16,
 * IPv4-translated, IPv4-compatible and Teredo (server or client). Through a NAT64 translator or a
 * 6to4 relay such a target reaches that IPv4, so the blocklist refuses it, in a CONNECT target and
 * in a plain-HTTP URL host alike, with a short list (scanned) and a long one (bucketed by prefix).
 * The whole proxy (createProxy), curl for plain HTTP, a raw socket for CONNECT. The guard opens
 * 127.0.0.0/8 so that the ip rule is what answers.
 */
const run = promisify(execFile);
let origin: Origin;
let scanned: KaizenProxy;
let bucketed: KaizenProxy;

/** Each spelling carries 127.0.0.1 (Teredo's client is stored inverted: ~7f00:0001 = 80ff:fffe). */
const EMBEDDING_127_0_0_1 = [
  '64:ff9b::7f00:1', // NAT64, well-known prefix (RFC 6052)
  '64:ff9b::127.0.0.1',
  '2002:7f00:1::', // 6to4 (RFC 3056)
  '2002:7f00:1:abcd::1', // 6to4: any subnet and interface id behind the same IPv4
  '::ffff:0:7f00:1', // IPv4-translated (SIIT)
  '::7f00:1', // IPv4-compatible
  '2001:0:7f00:2::80ff:fffe', // Teredo: server 127.0.0.2, client 127.0.0.1
  '2001:0:7f00:1::80ff:fffd', // Teredo: server 127.0.0.1, client 127.0.0.2
];

/** More than the 16 entries a linear scan handles: documentation ranges of several prefix lengths, then the loopback host. */
const LONG_LIST = [...Array.from({ length: 10 }, (_, i) => `203.0.113.${i * 16}/28`), ...Array.from({ length: 10 }, (_, i) => `198.51.100.${i}`), '2001:db8::/32', '127.0.0.1'];

async function startPolicyProxy(ips: readonly string[]): Promise<KaizenProxy> {
  const file = writeFile(
    tempDir(),
    'kaizen-proxy.yaml',
    [
      'admin: off',
      // A dial the rule lets through goes nowhere on a test machine: bound it.
      'network: { allow_private: [127.0.0.0/8], connect_timeout: 1s }',
      'policies:',
      '  - name: loopback-rule',
      '    mode: blocklist',
      `    rules: { ips: ${JSON.stringify(ips)} }`,
    ].join('\n'),
  );
  const loaded = loadConfig({ env: {}, flags: { config: file, listen: '127.0.0.1:0' } });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
  return createProxy(loaded.config, { logger: createLogger({ level: 'info', destination: new CapturedLogs() }) });
}

beforeAll(async () => {
  origin = await startOrigin();
  scanned = await startPolicyProxy(['127.0.0.1']);
  bucketed = await startPolicyProxy(LONG_LIST);
});

afterAll(async () => {
  await scanned.close();
  await bucketed.close();
  await origin.close();
});

interface Answer {
  readonly status: string;
  readonly headers: string;
}

async function curl(proxy: KaizenProxy, url: string): Promise<Answer> {
  const proxyUrl = `http://127.0.0.1:${proxy.address.port}`;
  const { stdout } = await run('curl', ['-sS', '--noproxy', '', '-x', proxyUrl, '-D', '-', '-o', '/dev/null', '-w', '\n%{http_code}', '-g', url]);
  const lines = stdout.split('\n');
  return { status: lines.pop() ?? '', headers: lines.join('\n') };
}

/** The proxy's answer to one CONNECT line, up to the end of its head. */
function rawConnect(proxy: KaizenProxy, target: string): Promise<Answer> {
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

const IP_BLOCK = /x-kaizen-reason: blocked by local policy "loopback-rule" \(ip\)/i;
/** Let through by the policy, then the dial fails (no translator here): 502 or 504, never a block. */
const DIAL_FAILED = /x-kaizen-error: KZP_ERR_UPSTREAM_(CONNECT|TIMEOUT)/i;

describe.each([
  ['a short ip list', () => scanned],
  ['a long (bucketed) ip list', () => bucketed],
])('an IPv4 in %s refuses the IPv6 forms that embed it', (_, proxy) => {
  it('plain HTTP: each embedding spelling gets 403 from the ip rule; the origin sees nothing', async () => {
    const before = origin.connections;
    for (const host of EMBEDDING_127_0_0_1) {
      const answer = await curl(proxy(), `http://[${host}]:${origin.port}/b`);
      expect(answer.status, host).toBe('403');
      expect(answer.headers, host).toMatch(IP_BLOCK);
    }
    expect(origin.connections).toBe(before);
  });

  it('CONNECT: each embedding spelling gets 403 from the ip rule; the origin sees nothing', async () => {
    const before = origin.connections;
    for (const host of EMBEDDING_127_0_0_1) {
      const answer = await rawConnect(proxy(), `[${host}]:${origin.port}`);
      expect(answer.status, host).toBe('403');
      expect(answer.headers, host).toMatch(IP_BLOCK);
    }
    expect(origin.connections).toBe(before);
  });

  it('another IPv4 inside is not refused by the rule (the dial then fails), and the listed IPv4 itself still is', async () => {
    for (const host of ['64:ff9b::7f00:2', '2002:7f00:2::', '2001:0:7f00:2::80ff:fffd']) {
      const answer = await rawConnect(proxy(), `[${host}]:${origin.port}`);
      expect(answer.headers, host).not.toMatch(IP_BLOCK);
      expect(answer.headers, host).toMatch(DIAL_FAILED);
    }
    const direct = await curl(proxy(), `http://127.0.0.1:${origin.port}/b`);
    expect(direct.status).toBe('403');
    expect(direct.headers).toMatch(IP_BLOCK);
  });
});
