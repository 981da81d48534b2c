import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KaizenProxy } from '../../../src/app/create-proxy.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { curl, EMBEDDING_127_0_0_1, rawConnect, startLoopbackRuleProxy } from './loopback-rule-proxy.js';

/**
 * An IPv4 range in a policy's `ip`/`ips` also holds every IPv6 target the address guard reads an
 * IPv4 of that range out of (src/net/embedded-ipv4.ts): NAT64 64:ff9b::/96, 6to4 2002::/16,
 * IPv4-translated, IPv4-compatible and Teredo (server or client). Through a NAT64 translator or a
 * 6to4 relay such a target reaches that IPv4, so the blocklist refuses it, in a CONNECT target and
 * in a plain-HTTP URL host alike, with a short list (scanned) and a long one (bucketed by prefix).
 * The whole proxy (createProxy), curl for plain HTTP, a raw socket for CONNECT. The guard opens
 * 127.0.0.0/8 so that the ip rule is what answers.
 */
let origin: Origin;
let scanned: KaizenProxy;
let bucketed: KaizenProxy;


/** More than the 16 entries a linear scan handles: documentation ranges of several prefix lengths, then the loopback host. */
const LONG_LIST = [...Array.from({ length: 10 }, (_, i) => `203.0.113.${i * 16}/28`), ...Array.from({ length: 10 }, (_, i) => `198.51.100.${i}`), '2001:db8::/32', '127.0.0.1'];


beforeAll(async () => {
  origin = await startOrigin();
  scanned = await startLoopbackRuleProxy('blocklist', '{ ips: ["127.0.0.1"] }');
  bucketed = await startLoopbackRuleProxy('blocklist', `{ ips: ${JSON.stringify(LONG_LIST)} }`);
});

afterAll(async () => {
  await scanned.close();
  await bucketed.close();
  await origin.close();
});


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
