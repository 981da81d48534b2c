import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KaizenProxy } from '../../../src/app/create-proxy.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { curl, EMBEDDING_127_0_0_1, startProxyFromLines, type Answer } from './loopback-rule-proxy.js';

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
    proxy = await startProxyFromLines([
      // Only the IPv4-mapped form reaches the origin on a test machine: bound the others' dials.
      'network: { allow_private: [127.0.0.0/8], connect_timeout: 1s }',
      'tools:',
      '  - {match: "POST 127.0.0.1/v1/refunds", tool: issue_refund}',
      '  - {match: "POST [::ffff:127.0.0.2]/v1/refunds", tool: issue_refund}',
      'policies:',
      '  - name: no-refunds',
      '    mode: blocklist',
      '    rules: { skill_patterns: [issue_refund] }',
    ]);
  });

  afterAll(async () => {
    await proxy.close();
    await origin.close();
  });

  function post(host: string): Promise<Answer> {
    return curl(proxy, `http://${host}:${origin.port}/v1/refunds`, ['-d', 'amount=100']);
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
