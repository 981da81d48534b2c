import { describe, expect, it } from 'vitest';
import { parsePolicies } from '../../../../src/verdict/policy/parse-policies.js';
import type { PolicyWire } from '../../../../src/verdict/policy/policy-wire.js';

function issues(wire: readonly PolicyWire[]): readonly { path: string; message: string }[] {
  const result = parsePolicies(wire);
  if (result.ok) return [];
  return result.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
}

const policy = (mode: string, rules: Record<string, unknown>, name?: string): PolicyWire => ({ mode, rules, enabled: true, ...(name === undefined ? {} : { name }) });

describe('parsePolicies: a malformed policy is an error naming the policy and the key, never a silent allow', () => {
  it('normalises every entry and merges ip with ips', () => {
    const result = parsePolicies([policy('Blocklist', { ip: ['10.0.0.1'], ips: ['2001:DB8::/32', '10.0.0.1/32'], domains: ['*.Pastebin.COM.'], hashes: [' ABC '] }, 'x')]);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.policies[0]).toEqual({
      name: 'x',
      label: '"x"',
      mode: 'blocklist',
      enabled: true,
      rules: { ip: ['10.0.0.1/32', '2001:db8::/32'], domains: ['pastebin.com'], hashes: ['abc'] },
    });
  });

  it('unknown mode', () => {
    expect(issues([policy('denylist', { domains: ['a.example'] }, 'x')])).toEqual([
      { path: '0.mode', message: 'policy "x": unknown mode "denylist"; expected blocklist, allowlist, correlation' },
    ]);
  });

  it('unknown rule key, by index when the policy has no name', () => {
    expect(issues([policy('blocklist', { domains: ['a.example'] }), policy('blocklist', { domainz: ['a.example'] })])).toEqual([
      { path: '1.rules.domainz', message: 'policy #1: unknown rule key "domainz" for a blocklist; expected publishers, ip, ips, domains, hashes, skill_patterns' },
    ]);
  });

  it('a key of another mode says which', () => {
    expect(issues([policy('blocklist', { tools: ['x'] }, 'b')])[0]?.message).toMatch(/unknown rule key "tools" for a blocklist \(an allowlist key\)/);
    expect(issues([policy('allowlist', { ips: ['10.0.0.0/8'] }, 'a')])[0]?.message).toMatch(/"ips" for an allowlist \(a blocklist key\)/);
  });

  it('empty allowlist, and an allowlist with an empty list', () => {
    const [empty] = issues([policy('allowlist', {}, 'a')]);
    expect(empty?.path).toBe('0.rules');
    expect(empty?.message).toMatch(/^policy "a": an allowlist without rules/);
    expect(issues([policy('allowlist', { domains: [] }, 'a')])[0]?.path).toBe('0.rules.domains');
  });

  it('invalid, oversized and escaping patterns', () => {
    const found = issues([policy('blocklist', { skill_patterns: ['ok_.*', '(unclosed'] }, 's')]);
    expect(found.map((issue) => issue.path)).toEqual(['0.rules.skill_patterns.1']);
    expect(found[0]?.message).toMatch(/^policy "s": "\(unclosed": invalid regular expression/);
    expect(issues([policy('blocklist', { skill_patterns: ['a'.repeat(257)] }, 's')])[0]?.message).toMatch(/longer than 256/);
    // Would escape the anchors once wrapped: refused because it does not stand alone.
    expect(issues([policy('blocklist', { skill_patterns: ['a)|(.*'] }, 's')])[0]?.message).toMatch(/invalid regular expression/);
  });

  it('malformed entries: names in ip rules, catch-all domains, non-strings, non-lists', () => {
    const [name] = issues([policy('blocklist', { ips: ['example.com'] }, 'i')]);
    expect(name?.path).toBe('0.rules.ips.0');
    expect(name?.message).toMatch(/not an IP address or CIDR/);
    expect(issues([policy('blocklist', { ips: ['10.0.0.0/33'] }, 'i')])[0]?.message).toMatch(/prefix/);
    expect(issues([policy('blocklist', { domains: ['*'] }, 'd')])[0]?.message).toMatch(/matches every host/);
    expect(issues([policy('blocklist', { domains: ['https://pastebin.com'] }, 'd')])[0]?.message).toMatch(/not a domain name/);
    expect(issues([policy('blocklist', { domains: [42] }, 'd')])[0]).toMatchObject({ path: '0.rules.domains.0', message: 'policy "d": expected a string' });
    expect(issues([policy('blocklist', { domains: 'pastebin.com' }, 'd')])[0]).toMatchObject({ path: '0.rules.domains', message: 'policy "d": expected a list of strings' });
    expect(issues([policy('blocklist', { publishers: ['\u200b '] }, 'p')])[0]?.message).toMatch(/empty/);
  });

  it('CIDR ranges: only a dotted quad or IPv6 before the prefix; host bits beyond it are cleared', () => {
    const expected = /not a CIDR range: expected a dotted-quad IPv4 or an IPv6 address, then \/prefix/;
    for (const shortForm of ['10/8', '192.168/16', '8.8/16', '0x0a.0.0.0/8', '010.0.0.0/8', '2130706432/8', '10.0.0.0.0/8']) {
      const found = issues([policy('blocklist', { ips: [shortForm] }, 'i')]);
      expect(found, shortForm).toHaveLength(1);
      expect(found[0]?.path).toBe('0.rules.ips.0');
      expect(found[0]?.message, shortForm).toMatch(expected);
    }
    const masked = parsePolicies([policy('blocklist', { ip: ['10.0.0.1/8'], ips: ['2001:db8::1/32'] })]);
    expect(masked.ok && masked.policies[0]?.rules.ip).toEqual(['10.0.0.0/8', '2001:db8::/32']);
    expect(issues([policy('blocklist', { ips: ['fe80::1%eth0/64'] }, 'i')])[0]?.message).toMatch(expected);
    expect(issues([policy('blocklist', { ips: ['10.0.0.0/'] }, 'i')])[0]?.message).toMatch(/invalid prefix length/);
    const accepted = parsePolicies([policy('blocklist', { ips: ['10.0.0.0/8', '192.168.0.0/16', '0.0.0.0/0', '10.1.2.3/32', ' FD00::/8 ', '::ffff:10.0.0.0/104', '127.1', '2130706433'] })]);
    expect(accepted.ok && accepted.policies[0]?.rules.ip).toEqual(['10.0.0.0/8', '192.168.0.0/16', '0.0.0.0/0', '10.1.2.3/32', 'fd00::/8', '::ffff:10.0.0.0/104', '127.0.0.1/32']);
  });

  it('publishers are normalised like a domain label: an IDN becomes its punycode', () => {
    const result = parsePolicies([policy('blocklist', { publishers: ['Bücher', 'ＳＴＲＩＰＥ', 'my publisher'] })]);
    expect(result.ok && result.policies[0]?.rules.publishers).toEqual(['xn--bcher-kva', 'stripe', 'my publisher']);
  });

  it('correlation is accepted (its rules checked), and a disabled policy is still validated', () => {
    expect(issues([policy('correlation', { risky_sequence: 'read_then_connect' })])).toEqual([]);
    expect(issues([policy('correlation', { window: 5 })])[0]?.path).toBe('0.rules.window');
    expect(issues([{ mode: 'blocklist', rules: { ips: ['nope'] }, enabled: false }])).toHaveLength(1);
  });
});
