import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { fileSchema } from '../../../src/config/schema.js';
import type { Decision } from '../../../src/contract/decision.js';
import { learnedPolicy, policyYaml } from '../../../src/learn/learned-policy.js';
import { collapsed, manifestOf } from '../../../src/learn/manifest-of.js';
import { RecordBuilder, type ObservedRecord } from '../../../src/learn/observed-record.js';

const allow: Decision = { decision: 'allow', enforce: 'forward', reason: 'ok', evidence: [], source: 'local', verdictId: null, flagged: false, wouldBlock: false };

function record(entries: readonly { target: string; tool?: string; decision?: Decision }[]): ObservedRecord {
  const builder = new RecordBuilder('bot');
  for (const entry of entries) {
    builder.observe(
      { agent: 'bot', action: { kind: 'connect', target: entry.target, metadata: { source: 'egress' }, ...(entry.tool === undefined ? {} : { tool: entry.tool }) }, decision: entry.decision ?? allow, ms: 1 },
      1,
      () => true,
    );
  }
  return builder.snapshot();
}

describe('the learned manifest', () => {
  const observed = record([
    { target: 'api.openai.com:443', tool: 'chat' },
    { target: 'uploads.openai.com:443' },
    { target: 'alice.github.io:443' },
    { target: 'www.bbc.co.uk:443' },
    { target: '203.0.113.7:8443', tool: 'ping' },
    { target: 'localhost:8080' },
    { target: 'pastebin.com:443', decision: { ...allow, decision: 'block', enforce: 'refuse' } },
    { target: 'evil.example:443', decision: { ...allow, decision: 'block', wouldBlock: true } },
    { target: 'unjudged.example:443', tool: 'leak', decision: { ...allow, source: 'fail_open' } },
    { target: 'www.bbc.co.uk:443', decision: { ...allow, source: 'fail_open' } },
  ]);

  it("is Kaizen's {tools, destinations}: host:port as observed, refused-only and fail-open-only targets left out, would-blocks flagged", () => {
    const learned = manifestOf(observed, 'none');
    expect(learned.manifest).toEqual({
      tools: ['chat', 'ping'],
      destinations: ['203.0.113.7:8443', 'alice.github.io:443', 'api.openai.com:443', 'evil.example:443', 'localhost:8080', 'uploads.openai.com:443', 'www.bbc.co.uk:443'],
    });
    expect(learned.refusedOnly).toEqual(['pastebin.com:443']);
    // Allowed only without a verdict: not declared, nor its tools. Once allowed on a verdict too: kept.
    expect(learned.failOpenOnly).toEqual(['unjudged.example:443']);
    expect(learned.wouldBlock).toEqual(['evil.example:443']);
  });

  it('collapses to registrable domains (private suffixes respected), IPs and bare names unchanged', () => {
    expect(manifestOf(observed, 'registrable').manifest.destinations).toEqual([
      '203.0.113.7:8443',
      'alice.github.io:443',
      'bbc.co.uk:443',
      'evil.example:443',
      'localhost:8080',
      'openai.com:443',
    ]);
    expect(collapsed('[2001:db8::1]:443')).toBe('[2001:db8::1]:443');
  });

  it('--policy: an allowlist of the hosts, valid under the config schema', () => {
    const policy = learnedPolicy('bot', manifestOf(observed, 'registrable').manifest);
    expect(policy).toEqual({ name: 'learned-bot', mode: 'allowlist', rules: { domains: ['203.0.113.7', 'alice.github.io', 'bbc.co.uk', 'evil.example', 'localhost', 'openai.com'] } });
    const parsed = fileSchema.safeParse(parse(policyYaml(policy)));
    expect(parsed.success).toBe(true);
    const v6 = fileSchema.safeParse(parse(policyYaml(learnedPolicy('x'.repeat(200), { tools: [], destinations: ['[2001:db8::1]:443'] }))));
    expect(v6.success).toBe(true);
  });
});
