import { describe, expect, it } from 'vitest';
import type { Action } from '../../../../src/contract/action.js';
import { createLogger } from '../../../../src/observe/logger.js';
import { parsePolicies } from '../../../../src/verdict/policy/parse-policies.js';
import { createPolicyEngine } from '../../../../src/verdict/policy/policy-engine.js';
import type { PolicyWire } from '../../../../src/verdict/policy/policy-wire.js';

const logger = createLogger({ level: 'silent' });
const AGENT = 'billing-bot';

interface Case {
  readonly name: string;
  readonly rules: Record<string, unknown>;
  readonly mode?: string;
  readonly target: string;
  readonly addresses?: readonly string[];
  readonly tool?: string;
  readonly publisher?: string;
  readonly hash?: string;
  /** Rule kinds in the block reason; [] means allowed. */
  readonly blocks: readonly string[];
}

function engineFor(wire: readonly PolicyWire[]) {
  const parsed = parsePolicies(wire);
  if (!parsed.ok) throw new Error(parsed.issues.map((issue) => issue.message).join('; '));
  return createPolicyEngine({ logger, file: parsed.policies });
}

function action(c: Pick<Case, 'target' | 'tool' | 'publisher' | 'hash'>): Action {
  return {
    kind: 'connect',
    target: c.target,
    metadata: { source: 'egress' },
    ...(c.tool === undefined ? {} : { tool: c.tool }),
    ...(c.publisher === undefined ? {} : { publisher: c.publisher }),
    ...(c.hash === undefined ? {} : { hash: c.hash }),
  };
}

const CASES: readonly Case[] = [
  // domains: self and subdomains, on label boundaries only
  { name: 'domain matches itself', rules: { domains: ['pastebin.com'] }, target: 'pastebin.com:443', blocks: ['domains'] },
  { name: 'domain matches a subdomain', rules: { domains: ['pastebin.com'] }, target: 'api.eu.pastebin.com:443', blocks: ['domains'] },
  { name: 'domain never matches a longer label', rules: { domains: ['pastebin.com'] }, target: 'notpastebin.com:443', blocks: [] },
  { name: 'domain never matches as a prefix', rules: { domains: ['pastebin.com'] }, target: 'pastebin.com.evil.net:443', blocks: [] },
  { name: 'leading *. accepted, apex included', rules: { domains: ['*.pastebin.com'] }, target: 'pastebin.com:443', blocks: ['domains'] },
  { name: 'leading *. accepted, subdomain', rules: { domains: ['*.pastebin.com'] }, target: 'x.pastebin.com:443', blocks: ['domains'] },
  // normalisation of rules and targets alike
  { name: 'trailing dot in the rule', rules: { domains: ['pastebin.com.'] }, target: 'pastebin.com:443', blocks: ['domains'] },
  { name: 'trailing dot in the target', rules: { domains: ['pastebin.com'] }, target: 'pastebin.com.:443', blocks: ['domains'] },
  { name: 'upper case anywhere', rules: { domains: ['PasteBin.COM'] }, target: 'PASTEBIN.com:443', blocks: ['domains'] },
  { name: 'fullwidth target (NFKC)', rules: { domains: ['pastebin.com'] }, target: 'ｐａｓｔｅｂｉｎ.ｃｏｍ:443', blocks: ['domains'] },
  { name: 'fullwidth rule with an ideographic dot', rules: { domains: ['ｐａｓｔｅｂｉｎ。ｃｏｍ'] }, target: 'pastebin.com:443', blocks: ['domains'] },
  { name: 'zero-width characters in the target', rules: { domains: ['pastebin.com'] }, target: 'paste\u200bbin\u2060.com\ufeff:443', blocks: ['domains'] },
  { name: 'zero-width characters in the rule', rules: { domains: ['\u200dpastebin.com\u200b'] }, target: 'pastebin.com:443', blocks: ['domains'] },
  { name: 'IDN rule against its punycode target', rules: { domains: ['bücher.example'] }, target: 'xn--bcher-kva.example:443', blocks: ['domains'] },
  // domain rules on IP targets: an IP written in domains matches only that IP, never by text suffix
  { name: 'domain rule never matches an IP target', rules: { domains: ['example.com'] }, target: '93.184.215.14:443', addresses: ['93.184.215.14'], blocks: [] },
  { name: 'numeric-suffix domain rule is an IP, not a suffix', rules: { domains: ['0.1'] }, target: '10.0.0.1:443', blocks: [] },
  { name: 'IP in domains matches that IP exactly', rules: { domains: ['10.0.0.1'] }, target: '10.0.0.1:443', blocks: ['domains'] },
  // an IPv4 in domains and its IPv4-mapped IPv6 form are one host (the dial reaches the IPv4)
  { name: 'IPv4 in domains matches its mapped IPv6 target', rules: { domains: ['127.0.0.1'] }, target: '[::ffff:127.0.0.1]:80', blocks: ['domains'] },
  { name: 'IPv4 in domains matches its mapped target in hex', rules: { domains: ['127.0.0.1'] }, target: '[::FFFF:7f00:1]:80', blocks: ['domains'] },
  { name: 'mapped IPv6 in domains matches the IPv4 target', rules: { domains: ['::ffff:127.0.0.1'] }, target: '127.0.0.1:80', blocks: ['domains'] },
  { name: 'mapped IPv6 in domains matches a mapped target', rules: { domains: ['::ffff:8.8.8.8'] }, target: '[::ffff:808:808]:443', blocks: ['domains'] },
  { name: 'IP in domains is not a resolved-address rule', rules: { domains: ['10.0.0.1'] }, target: 'internal.example:443', addresses: ['10.0.0.1'], blocks: [] },
  // ip and ips: both keys, IPv4 and IPv6, addresses and ranges, literal target and resolved addresses
  { name: 'ip key, single address', rules: { ip: ['169.254.169.254'] }, target: '169.254.169.254:80', blocks: ['ip'] },
  { name: 'ips key, single address', rules: { ips: ['169.254.169.254'] }, target: '169.254.169.254:80', blocks: ['ip'] },
  { name: 'ip and ips together', rules: { ip: ['10.0.0.0/8'], ips: ['192.168.0.0/16'] }, target: '192.168.1.1:80', blocks: ['ip'] },
  { name: 'IPv4 CIDR', rules: { ips: ['10.0.0.0/8'] }, target: '10.200.3.4:443', blocks: ['ip'] },
  { name: 'IPv4 CIDR, outside', rules: { ips: ['10.0.0.0/8'] }, target: '11.0.0.1:443', blocks: [] },
  { name: 'IPv6 CIDR', rules: { ips: ['2001:db8::/32'] }, target: '[2001:db8:0:1::7]:443', blocks: ['ip'] },
  { name: 'IPv6 CIDR, outside', rules: { ips: ['2001:db8::/32'] }, target: '[2001:db9::1]:443', blocks: [] },
  { name: 'IPv6 rule written long-hand', rules: { ips: ['2001:0DB8:0000:0000::0001'] }, target: '[2001:db8::1]:443', blocks: ['ip'] },
  { name: 'IPv4-mapped IPv6 target against an IPv4 range', rules: { ips: ['169.254.0.0/16'] }, target: '[::ffff:169.254.169.254]:80', blocks: ['ip'] },
  { name: 'integer IP target', rules: { ips: ['127.0.0.0/8'] }, target: '2130706433:80', blocks: ['ip'] },
  { name: 'hex and short IP target', rules: { ips: ['127.0.0.1'] }, target: '0x7f.1:80', blocks: ['ip'] },
  { name: 'integer IP in the rule', rules: { ips: ['2130706433'] }, target: '127.0.0.1:80', blocks: ['ip'] },
  { name: 'name resolving into a blocked range', rules: { ips: ['10.0.0.0/8'] }, target: 'innocent.example:443', addresses: ['93.184.215.14', '10.1.2.3'], blocks: ['ip'] },
  { name: 'name resolving to a mapped address in a blocked range', rules: { ips: ['10.0.0.0/8'] }, target: 'innocent.example:443', addresses: ['::ffff:10.1.2.3'], blocks: ['ip'] },
  { name: 'name resolving outside every range', rules: { ips: ['10.0.0.0/8', 'fd00::/8'] }, target: 'innocent.example:443', addresses: ['93.184.215.14', '2606:2800::1'], blocks: [] },
  // an IPv4 range also holds the IPv6 forms the address guard reads an IPv4 of it out of (the dial reaches that IPv4)
  { name: 'NAT64 target against an IPv4 range', rules: { ips: ['1.2.3.0/24'] }, target: '[64:ff9b::102:304]:443', blocks: ['ip'] },
  { name: '6to4 target against an IPv4 range', rules: { ips: ['1.2.3.0/24'] }, target: '[2002:102:304::]:443', blocks: ['ip'] },
  { name: 'IPv4-translated target against an IPv4 range', rules: { ips: ['1.2.3.0/24'] }, target: '[::ffff:0:102:304]:443', blocks: ['ip'] },
  { name: 'IPv4-compatible target against an IPv4 range', rules: { ips: ['1.2.3.0/24'] }, target: '[::102:304]:443', blocks: ['ip'] },
  { name: 'Teredo target whose server is in an IPv4 range', rules: { ips: ['1.2.3.0/24'] }, target: '[2001:0:102:304::ffff:ffff]:443', blocks: ['ip'] },
  { name: 'Teredo target whose client is in an IPv4 range', rules: { ips: ['1.2.3.0/24'] }, target: '[2001:0:808:808::fefd:fcfb]:443', blocks: ['ip'] },
  { name: 'NAT64 target against a mapped IPv6 range', rules: { ips: ['::ffff:1.2.3.0/120'] }, target: '[64:ff9b::102:304]:443', blocks: ['ip'] },
  { name: 'NAT64 target outside the IPv4 range', rules: { ips: ['1.2.3.0/24'] }, target: '[64:ff9b::102:404]:443', blocks: [] },
  { name: 'local-use NAT64 prefix is not read', rules: { ips: ['1.2.3.0/24'] }, target: '[64:ff9b:1::102:304]:443', blocks: [] },
  { name: 'an IPv6 entry holds that IPv6, not the IPv4 inside it', rules: { ips: ['64:ff9b::102:304'] }, target: '1.2.3.4:443', blocks: [] },
  { name: 'name resolving to a NAT64 address in a blocked range', rules: { ips: ['10.0.0.0/8'] }, target: 'innocent.example:443', addresses: ['93.184.215.14', '64:ff9b::a01:203'], blocks: ['ip'] },
  // publishers, hashes, skill_patterns (anchored, case-insensitive)
  { name: 'publisher', rules: { publishers: ['Stripe'] }, target: 'api.stripe.com:443', publisher: 'stripe', blocks: ['publishers'] },
  { name: 'Unicode publisher rule against the punycode publisher derived from the IDN', rules: { publishers: ['Bücher'] }, target: 'xn--bcher-kva.de:443', publisher: 'xn--bcher-kva', blocks: ['publishers'] },
  { name: 'punycode publisher rule against a Unicode publisher from a route', rules: { publishers: ['xn--bcher-kva'] }, target: 'a.example:443', publisher: 'BÜCHER', blocks: ['publishers'] },
  { name: 'no publisher on the action', rules: { publishers: ['stripe'] }, target: 'api.stripe.com:443', blocks: [] },
  { name: 'hash', rules: { hashes: ['SHA256:ABC'] }, target: 'a.example:443', hash: 'sha256:abc', blocks: ['hashes'] },
  { name: 'skill pattern matches the whole tool name', rules: { skill_patterns: ['issue_.*'] }, target: 'api.stripe.com:443', tool: 'Issue_Refund', blocks: ['skill_patterns'] },
  { name: 'skill pattern is anchored', rules: { skill_patterns: ['refund'] }, target: 'api.stripe.com:443', tool: 'issue_refund', blocks: [] },
  { name: 'skill pattern without a tool', rules: { skill_patterns: ['.*'] }, target: 'api.stripe.com:443', blocks: [] },
  // allowlist: every listed dimension must match
  { name: 'allowlist domain listed', mode: 'allowlist', rules: { domains: ['openai.com'] }, target: 'api.openai.com:443', blocks: [] },
  { name: 'allowlist domain not listed', mode: 'allowlist', rules: { domains: ['openai.com'] }, target: 'pastebin.com:443', blocks: ['allowlist'] },
  { name: 'allowlist AND: domain and tool both match', mode: 'allowlist', rules: { domains: ['stripe.com'], tools: ['create_charge'] }, target: 'api.stripe.com:443', tool: 'create_charge', blocks: [] },
  { name: 'allowlist AND: tool does not match', mode: 'allowlist', rules: { domains: ['stripe.com'], tools: ['create_charge'] }, target: 'api.stripe.com:443', tool: 'issue_refund', blocks: ['allowlist'] },
  { name: 'allowlist AND: no tool at all', mode: 'allowlist', rules: { domains: ['stripe.com'], tools: ['create_charge'] }, target: 'api.stripe.com:443', blocks: ['allowlist'] },
  { name: 'allowlist publisher', mode: 'allowlist', rules: { publishers: ['stripe'] }, target: 'api.stripe.com:443', publisher: 'STRIPE', blocks: [] },
  // correlation: accepted, never evaluated
  { name: 'correlation is ignored', mode: 'correlation', rules: { risky_sequence: 'read_then_connect' }, target: 'pastebin.com:443', blocks: [] },
];

describe('local policy semantics (Kaizen SDK rules, with the reference\'s bold rulings)', () => {
  it.each(CASES)('$name', (c) => {
    const engine = engineFor([{ name: 'p', mode: c.mode ?? 'blocklist', rules: c.rules, enabled: true }]);
    const verdict = engine.evaluate(action(c), c.addresses ?? [], AGENT);
    if (c.blocks.length === 0) {
      expect(verdict.decision, verdict.reason).toBe('allow');
      return;
    }
    expect(verdict.decision).toBe('block');
    expect(verdict.reason).toBe(`blocked by local policy "p" (${c.blocks.join(', ')})`);
    expect(verdict.evidence.map((e) => e.kind)).toEqual([...c.blocks]);
    expect(verdict.evidence[0]?.source).toBe('policy "p"');
  });

  it('an IPv4 in domains matches every IPv6 form that carries it, and names the IPv4 entry in the evidence', () => {
    const engine = engineFor([{ name: 'p', mode: 'blocklist', rules: { domains: ['::ffff:127.0.0.1', '2001:DB8::1', '64:ff9b::a00:1'] }, enabled: true }]);
    // Mapped, NAT64, 6to4 (any subnet), IPv4-translated, IPv4-compatible, Teredo server or client: the forms
    // src/net/embedded-ipv4.ts reads for the address guard; through a translator or relay each reaches 127.0.0.1.
    const carriers = ['[::ffff:7f00:1]:80', '[64:ff9b::7f00:1]:80', '[2002:7f00:1::]:80', '[2002:7f00:1:ffff::2]:80', '[::ffff:0:7f00:1]:80', '[::7f00:1]:80', '[2001:0:7f00:1::ffff:ffff]:80', '[2001:0:808:808::80ff:fffe]:80'];
    for (const target of carriers) {
      expect(engine.evaluate(action({ target }), [], AGENT).evidence, target).toEqual([{ kind: 'domains', value: '127.0.0.1', source: 'policy "p"' }]);
    }
    // Another IPv4 inside, a local-use NAT64 prefix (where the IPv4 sits depends on the site), a plain IPv6.
    for (const target of ['[::ffff:127.0.0.2]:80', '[64:ff9b::7f00:2]:80', '[2002:7f00:2::]:80', '[64:ff9b:1::7f00:1]:80', '[2001:db8::2]:80', '127.0.0.2:80']) {
      expect(engine.evaluate(action({ target }), [], AGENT).decision, target).toBe('allow');
    }
    expect(engine.evaluate(action({ target: '[2001:db8:0::1]:443' }), [], AGENT).decision).toBe('block');
    // An IPv6 entry names that IPv6 target, not the IPv4 inside it.
    expect(engine.evaluate(action({ target: '[64:ff9b::10.0.0.1]:443' }), [], AGENT).decision).toBe('block');
    expect(engine.evaluate(action({ target: '10.0.0.1:443' }), [], AGENT).decision).toBe('allow');
  });

  it('a Unicode publisher rule matches its punycode publisher and nothing else', () => {
    const engine = engineFor([{ name: 'p', mode: 'blocklist', rules: { publishers: ['bücher'] }, enabled: true }]);
    expect(engine.evaluate(action({ target: 'xn--bcher-kva.de:443', publisher: 'xn--bcher-kva' }), [], AGENT).decision).toBe('block');
    expect(engine.evaluate(action({ target: 'bucher.de:443', publisher: 'bucher' }), [], AGENT).decision).toBe('allow');
  });

  it('an allowlisted IPv4 in domains admits its mapped form too (one host, one answer)', () => {
    const engine = engineFor([{ name: 'a', mode: 'allowlist', rules: { domains: ['10.0.0.1'] }, enabled: true }]);
    expect(engine.evaluate(action({ target: '[::ffff:10.0.0.1]:443' }), [], AGENT).decision).toBe('allow');
    expect(engine.evaluate(action({ target: '[::ffff:10.0.0.2]:443' }), [], AGENT).decision).toBe('block');
  });

  it('an allowlisted IPv4 in domains admits NAT64 and 6to4 forms of it; Teredo only when both IPv4s it carries are listed', () => {
    const engine = engineFor([{ name: 'a', mode: 'allowlist', rules: { domains: ['10.0.0.1', '10.0.0.2'] }, enabled: true }]);
    for (const target of ['[64:ff9b::a00:1]:443', '[2002:a00:2::1]:443', '[2001:0:a00:1::f5ff:fffd]:443']) {
      expect(engine.evaluate(action({ target }), [], AGENT).decision, target).toBe('allow');
    }
    // An unlisted IPv4 inside; Teredo with server 10.0.0.1 and client 10.0.0.3, or the reverse.
    for (const target of ['[64:ff9b::a00:3]:443', '[2001:0:a00:1::f5ff:fffc]:443', '[2001:0:a00:3::f5ff:fffe]:443']) {
      expect(engine.evaluate(action({ target }), [], AGENT).decision, target).toBe('block');
    }
  });

  it('evaluates every enabled policy and keeps every finding as evidence', () => {
    const engine = engineFor([
      { name: 'exfil', mode: 'blocklist', rules: { domains: ['pastebin.com'], ips: ['10.0.0.0/8'] }, enabled: true },
      { mode: 'blocklist', rules: { publishers: ['pastebin'] }, enabled: true },
      { name: 'off', mode: 'blocklist', rules: { domains: ['pastebin.com'] }, enabled: false },
      { name: 'only-openai', mode: 'allowlist', rules: { domains: ['openai.com'] }, enabled: true },
    ]);
    const verdict = engine.evaluate(action({ target: 'pastebin.com:443', publisher: 'pastebin' }), ['10.9.9.9'], AGENT);
    expect(verdict.decision).toBe('block');
    expect(verdict.reason).toBe('blocked by local policies "exfil", #1, "only-openai" (domains, ip, publishers, allowlist)');
    expect(verdict.evidence).toEqual([
      { kind: 'domains', value: 'pastebin.com', source: 'policy "exfil"' },
      { kind: 'ip', value: '10.0.0.0/8 (10.9.9.9)', source: 'policy "exfil"' },
      { kind: 'publishers', value: 'pastebin', source: 'policy #1' },
      { kind: 'allowlist', value: 'not listed in domains (pastebin.com)', source: 'policy "only-openai"' },
    ]);
  });

  it('allows with a constant reason when nothing matches, and when there is no policy', () => {
    expect(engineFor([]).evaluate(action({ target: 'a.example:443' }), [], AGENT)).toMatchObject({ decision: 'allow', reason: 'no local policy matched' });
    expect(engineFor([{ mode: 'blocklist', rules: { domains: ['b.example'] }, enabled: true }]).evaluate(action({ target: 'a.example:443' }), [], AGENT)).toMatchObject({
      decision: 'allow',
    });
  });

  it('adds an agent\'s synced policies to the file\'s, for that agent only, and replaces them whole', () => {
    const engine = engineFor([{ name: 'file', mode: 'blocklist', rules: { domains: ['a.example'] }, enabled: true }]);
    const synced = parsePolicies([{ name: 'org', mode: 'blocklist', rules: { domains: ['b.example'] }, enabled: true }], 'synced ');
    if (!synced.ok) throw new Error('synced policies invalid');
    expect(engine.setSyncedPolicies(AGENT, synced.policies)).toBe(true);
    expect(engine.setSyncedPolicies(AGENT, synced.policies)).toBe(false);
    expect(engine.evaluate(action({ target: 'a.example:443' }), [], AGENT).decision).toBe('block');
    expect(engine.evaluate(action({ target: 'b.example:443' }), [], AGENT).reason).toBe('blocked by local policy synced "org" (domains)');
    // Another agent: the file's policies, not this agent's synced ones.
    expect(engine.evaluate(action({ target: 'b.example:443' }), [], 'other-bot').decision).toBe('allow');
    expect(engine.evaluate(action({ target: 'a.example:443' }), [], 'other-bot').decision).toBe('block');
    expect(engine.counts('other-bot')).toEqual({ file: 1, synced: 0, evaluated: 1 });
    expect(engine.counts(AGENT)).toEqual({ file: 1, synced: 1, evaluated: 2 });
    engine.setSyncedPolicies(AGENT, []);
    expect(engine.evaluate(action({ target: 'b.example:443' }), [], AGENT).decision).toBe('allow');
    expect(engine.evaluate(action({ target: 'a.example:443' }), [], AGENT).decision).toBe('block');
    expect(engine.counts(AGENT)).toEqual({ file: 1, synced: 0, evaluated: 1 });
  });

  it('a file change applies to every agent\'s synced set; a dropped agent keeps only the file\'s', () => {
    const engine = engineFor([]);
    const synced = parsePolicies([{ name: 'org', mode: 'blocklist', rules: { domains: ['b.example'] }, enabled: true }], 'synced ');
    const file = parsePolicies([{ name: 'file', mode: 'blocklist', rules: { domains: ['a.example'] }, enabled: true }]);
    if (!synced.ok || !file.ok) throw new Error('policies invalid');
    engine.setSyncedPolicies(AGENT, synced.policies);
    expect(engine.setFilePolicies(file.policies)).toBe(true);
    expect(engine.evaluate(action({ target: 'a.example:443' }), [], AGENT).decision).toBe('block');
    expect(engine.evaluate(action({ target: 'b.example:443' }), [], AGENT).decision).toBe('block');
    expect(engine.dropSyncedPolicies(AGENT)).toBe(true);
    expect(engine.dropSyncedPolicies(AGENT)).toBe(false);
    expect(engine.evaluate(action({ target: 'b.example:443' }), [], AGENT).decision).toBe('allow');
    expect(engine.evaluate(action({ target: 'a.example:443' }), [], AGENT).decision).toBe('block');
  });

  it('throws on a target without a valid host, so the reflex fails closed', () => {
    const engine = engineFor([{ mode: 'blocklist', rules: { domains: ['a.example'] }, enabled: true }]);
    expect(() => engine.evaluate(action({ target: 'bad host:443' }), [], AGENT)).toThrow(/no valid host/);
  });

  it('refuses a tool name too long to match patterns safely (block, not a silent allow)', () => {
    const engine = engineFor([{ mode: 'blocklist', rules: { skill_patterns: ['x'] }, enabled: true }]);
    expect(engine.evaluate(action({ target: 'a.example:443', tool: 'a'.repeat(300) }), [], AGENT).decision).toBe('block');
  });
});
