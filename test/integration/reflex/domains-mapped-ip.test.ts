import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KaizenProxy } from '../../../src/app/create-proxy.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { curl, rawConnect, startLoopbackRuleProxy } from './loopback-rule-proxy.js';

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
  proxy = await startLoopbackRuleProxy('blocklist', '{ domains: ["127.0.0.1"] }');
  proxyUrl = `http://127.0.0.1:${proxy.address.port}`;
});

afterAll(async () => {
  await proxy.close();
  await origin.close();
});

describe('an IPv4 in domains also refuses its IPv4-mapped IPv6 spellings', () => {
  it('plain HTTP: the IPv4 and each mapped spelling get 403 from the domains rule; the origin sees nothing', async () => {
    const before = origin.connections;
    for (const host of ['127.0.0.1', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[0:0:0:0:0:ffff:7f00:0001]']) {
      const answer = await curl(proxy, `http://${host}:${origin.port}/b`);
      expect(answer.status, host).toBe('403');
      expect(answer.headers, host).toMatch(/x-kaizen-reason: blocked by local policy "loopback-rule" \(domains\)/i);
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
    const raw = (await rawConnect(proxy, `[::ffff:7f00:1]:${origin.port}`)).headers;
    expect(raw).toMatch(/^HTTP\/1\.1 403 /);
    expect(raw).toMatch(/x-kaizen-reason: blocked by local policy "loopback-rule" \(domains\)/i);
    expect(origin.connections).toBe(before);
  });
});
