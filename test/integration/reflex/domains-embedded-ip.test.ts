import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KaizenProxy } from '../../../src/app/create-proxy.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { curl, EMBEDDING_127_0_0_1, rawConnect, startLoopbackRuleProxy } from './loopback-rule-proxy.js';

/**
 * An IPv4 written in a policy's `domains` is one host with every IPv6 form the address guard reads
 * an IPv4 out of (src/net/embedded-ipv4.ts): NAT64 64:ff9b::/96, 6to4 2002::/16, IPv4-translated,
 * IPv4-compatible and Teredo (server or client). Through a NAT64 translator or a 6to4 relay such a
 * target reaches that IPv4, so a blocklist refuses it and an allowlist admits it, in a CONNECT
 * target and in a plain-HTTP URL host alike. The whole proxy (createProxy), curl for plain HTTP, a
 * raw socket for CONNECT. The guard opens 127.0.0.0/8 so that the domains rule is what answers.
 */
let origin: Origin;
let blocking: KaizenProxy;
let allowing: KaizenProxy;



beforeAll(async () => {
  origin = await startOrigin();
  blocking = await startLoopbackRuleProxy('blocklist', '{ domains: ["127.0.0.1"] }');
  allowing = await startLoopbackRuleProxy('allowlist', '{ domains: ["127.0.0.1"] }');
});

afterAll(async () => {
  await blocking.close();
  await allowing.close();
  await origin.close();
});


const DOMAINS_BLOCK = /x-kaizen-reason: blocked by local policy "loopback-rule" \(domains\)/i;
const NOT_LISTED = /x-kaizen-reason: blocked by local policy "loopback-rule" \(allowlist\)/i;
/** Admitted by the policy, then the dial fails (no translator here): 502 or 504, never a block. */
const DIAL_FAILED = /x-kaizen-error: KZP_ERR_UPSTREAM_(CONNECT|TIMEOUT)/i;

describe('an IPv4 in a domains blocklist refuses the IPv6 forms that embed it', () => {
  it('plain HTTP: each embedding spelling gets 403 from the domains rule; the origin sees nothing', async () => {
    const before = origin.connections;
    for (const host of EMBEDDING_127_0_0_1) {
      const answer = await curl(blocking, `http://[${host}]:${origin.port}/b`);
      expect(answer.status, host).toBe('403');
      expect(answer.headers, host).toMatch(DOMAINS_BLOCK);
    }
    expect(origin.connections).toBe(before);
  });

  it('CONNECT: each embedding spelling gets 403 from the domains rule; the origin sees nothing', async () => {
    const before = origin.connections;
    for (const host of EMBEDDING_127_0_0_1) {
      const answer = await rawConnect(blocking, `[${host}]:${origin.port}`);
      expect(answer.status, host).toBe('403');
      expect(answer.headers, host).toMatch(DOMAINS_BLOCK);
    }
    expect(origin.connections).toBe(before);
  });
});

describe('an IPv4 in a domains allowlist admits the IPv6 forms that embed it, and only those', () => {
  it('plain HTTP: NAT64 and 6to4 spellings of the listed IPv4 pass the policy; another IPv4 inside does not', async () => {
    expect((await curl(allowing, `http://127.0.0.1:${origin.port}/a`)).status).toBe('200');
    for (const host of ['64:ff9b::7f00:1', '2002:7f00:1::']) {
      const answer = await curl(allowing, `http://[${host}]:${origin.port}/a`);
      expect(answer.headers, host).not.toMatch(NOT_LISTED);
      expect(answer.headers, host).toMatch(DIAL_FAILED);
    }
    const other = await curl(allowing, `http://[64:ff9b::7f00:2]:${origin.port}/a`);
    expect(other.status).toBe('403');
    expect(other.headers).toMatch(NOT_LISTED);
  });

  it('CONNECT: the same, and a Teredo target passes only when both IPv4s it carries are listed', async () => {
    for (const host of ['64:ff9b::7f00:1', '2002:7f00:1::', '2001:0:7f00:1::80ff:fffe']) {
      const answer = await rawConnect(allowing, `[${host}]:${origin.port}`);
      expect(answer.headers, host).not.toMatch(NOT_LISTED);
      expect(answer.headers, host).toMatch(DIAL_FAILED);
    }
    for (const host of ['64:ff9b::7f00:2', '2002:7f00:2::', '2001:0:7f00:2::80ff:fffe']) {
      const answer = await rawConnect(allowing, `[${host}]:${origin.port}`);
      expect(answer.status, host).toBe('403');
      expect(answer.headers, host).toMatch(NOT_LISTED);
    }
  });
});
