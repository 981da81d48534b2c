import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import type { ModeSettings } from '../../../src/verdict/enforcement-mode.js';
import { parsePolicies } from '../../../src/verdict/policy/parse-policies.js';
import { createPolicyEngine } from '../../../src/verdict/policy/policy-engine.js';
import type { PolicyWire } from '../../../src/verdict/policy/policy-wire.js';
import { reply } from '../../helpers/fake-control-plane.js';
import { useDeciderHarness } from './decider-harness.js';
import { connectAction, decisionRequest } from './support.js';

/** The decider with real Kaizen policies plugged into its LocalPolicy seam, and monitor mode. */
const POLICIES: readonly PolicyWire[] = [
  { name: 'exfil', mode: 'blocklist', rules: { domains: ['pastebin.com'], ips: ['104.16.0.0/24'] }, enabled: true },
];

const harness = useDeciderHarness((logs) => {
  const parsed = parsePolicies(POLICIES);
  if (!parsed.ok) throw new Error('invalid test policies');
  return { localPolicy: createPolicyEngine({ logger: logs.logger, file: parsed.policies }) };
});
const { decider } = harness;

describe('decider with Kaizen policies', () => {
  it('a local block is final, answered without waiting for the control plane, and reported to it in the background', async () => {
    harness.cp.respondWith(reply.slow(1500, reply.allow()));
    const d = decider();
    const started = performance.now();
    const decision = await d.decide(decisionRequest(connectAction('api.pastebin.com:443')));
    expect(performance.now() - started).toBeLessThan(500);
    expect(decision).toMatchObject({ decision: 'block', enforce: 'refuse', source: 'local', reason: 'blocked by local policy "exfil" (domains)', wouldBlock: false });
    await harness.cp.waitForRequests(1);
    expect(harness.cp.requests[0]?.body).toMatchObject({
      agent: 'test-agent',
      action: { kind: 'connect', target: 'api.pastebin.com:443' },
      verdict: { decision: 'block', reason: 'blocked by local policy "exfil" (domains)', evidence: [{ kind: 'domains', value: 'pastebin.com', source: 'policy "exfil"' }] },
    });
  });

  it('a name that resolves into a blocked range is blocked like the literal', async () => {
    const d = decider({ apiKey: null });
    const decision = await d.decide(decisionRequest(connectAction('innocent.example:443'), ['1.1.1.1', '104.16.0.9']));
    expect(decision).toMatchObject({ decision: 'block', source: 'local', reason: 'blocked by local policy "exfil" (ip)' });
    expect(decision.evidence).toEqual([{ kind: 'ip', value: '104.16.0.0/24 (104.16.0.9)', source: 'policy "exfil"' }]);
  });

  it('a name that resolves to a NAT64 or 6to4 form of an address in a blocked range is blocked too', async () => {
    for (const address of ['64:ff9b::6810:9', '2002:6810:9::1']) {
      const d = decider({ apiKey: null });
      const decision = await d.decide(decisionRequest(connectAction('innocent.example:443'), ['1.1.1.1', address]));
      expect(decision, address).toMatchObject({ decision: 'block', source: 'local', reason: 'blocked by local policy "exfil" (ip)' });
      expect(decision.evidence).toEqual([{ kind: 'ip', value: `104.16.0.0/24 (${address})`, source: 'policy "exfil"' }]);
    }
  });

  it('an allowed action still goes to the control plane with the local verdict', async () => {
    harness.cp.respondWith(reply.block({ id: 'v-9' }));
    const d = decider();
    expect(await d.decide(decisionRequest(connectAction('api.stripe.com:443')))).toMatchObject({ decision: 'block', source: 'control_plane', verdictId: 'v-9' });
    expect(harness.cp.requests[0]?.body).toMatchObject({ verdict: { decision: 'allow', reason: 'no local policy matched' } });
  });
});

describe('monitor mode', () => {
  const monitor = (monitorGuard = true): { mode: () => ModeSettings } => ({ mode: () => ({ mode: 'monitor', monitorGuard }) });

  it('forwards a local block as would_block, keeps its reason, and reports it as a block', async () => {
    const d = decider({}, monitor());
    const decision = await d.decide(decisionRequest(connectAction('pastebin.com:443')));
    expect(decision).toMatchObject({ decision: 'block', enforce: 'forward', wouldBlock: true, source: 'local', reason: 'blocked by local policy "exfil" (domains)' });
    await harness.cp.waitForRequests(1);
    expect(harness.cp.requests[0]?.body).toMatchObject({ verdict: { decision: 'block' } });
  });

  it('forwards a control-plane block and a fail-closed "no verdict" as would_block', async () => {
    harness.cp.respondWith(reply.block());
    const d = decider({}, monitor());
    expect(await d.decide(decisionRequest(connectAction('api.stripe.com:443')))).toMatchObject({ enforce: 'forward', wouldBlock: true, source: 'control_plane' });
    harness.cp.respondWith(reply.status(500));
    expect(await d.decide(decisionRequest(connectAction('api.openai.com:443')))).toMatchObject({ decision: 'block', enforce: 'forward', wouldBlock: true, source: 'fail_closed' });
  });

  it('keeps the address guard unless monitor_guard is false', async () => {
    const metadata = decisionRequest(connectAction('169.254.169.254:80'), ['169.254.169.254'], 80);
    expect(await decider({ apiKey: null }, monitor(true)).decide(metadata)).toMatchObject({ enforce: 'refuse', source: 'guard', wouldBlock: false });
    const again = decisionRequest(connectAction('169.254.169.254:80'), ['169.254.169.254'], 80);
    expect(await decider({ apiKey: null }, monitor(false)).decide(again)).toMatchObject({ enforce: 'forward', source: 'guard', wouldBlock: true });
  });

  it('reads the mode per decision, so a reload switches it at once', async () => {
    let settings: ModeSettings = { mode: 'monitor', monitorGuard: true };
    const d = decider({ apiKey: null }, { mode: () => settings });
    expect((await d.decide(decisionRequest(connectAction('pastebin.com:443')))).enforce).toBe('forward');
    settings = { mode: 'enforce', monitorGuard: true };
    expect((await d.decide(decisionRequest(connectAction('pastebin.com:443')))).enforce).toBe('refuse');
  });
});

describe('refused by name, before the lookup', () => {
  it('a name the domains rule blocks is refused without addresses, and reported to the control plane like any local block', async () => {
    const d = decider();
    expect(d.refuseByName(connectAction('c2vjcmv0.pastebin.com:443'), 'test-agent')).toMatchObject({
      decision: 'block',
      enforce: 'refuse',
      source: 'local',
      reason: 'blocked by local policy "exfil" (domains)',
      evidence: [{ kind: 'domains', value: 'pastebin.com', source: 'policy "exfil"' }],
    });
    await harness.cp.waitForRequests(1);
    expect(harness.cp.requests[0]?.body).toMatchObject({ action: { target: 'c2vjcmv0.pastebin.com:443' }, verdict: { decision: 'block' } });
  });

  it('leaves to decide() what only addresses could block, and an allowed name', () => {
    const d = decider({ apiKey: null });
    // 104.16.0.9 is in the policy's ip range: only its resolution can tell.
    expect(d.refuseByName(connectAction('innocent.example:443'), 'test-agent')).toBeUndefined();
    expect(d.refuseByName(connectAction('api.stripe.com:443'), 'test-agent')).toBeUndefined();
  });

  it('in monitor mode a name-blocked action is forwarded, so it is left to decide() (looked up, reported once)', () => {
    const d = decider({}, { mode: () => ({ mode: 'monitor', monitorGuard: true }) });
    expect(d.refuseByName(connectAction('pastebin.com:443'), 'test-agent')).toBeUndefined();
    expect(harness.cp.requests).toHaveLength(0);
  });

  it('without name rules (no policies, or only ip rules) nothing is refused by name', () => {
    const parsed = parsePolicies([{ name: 'ranges', mode: 'blocklist', rules: { ips: ['104.16.0.0/24'] }, enabled: true }]);
    if (!parsed.ok) throw new Error('invalid test policies');
    const ipOnly = decider({ apiKey: null }, { localPolicy: createPolicyEngine({ logger: harness.logs.logger, file: parsed.policies }) });
    expect(ipOnly.refuseByName(connectAction('pastebin.com:443'), 'test-agent')).toBeUndefined();
    const none = decider({ apiKey: null }, { localPolicy: createPolicyEngine({ logger: harness.logs.logger }) });
    expect(none.refuseByName(connectAction('pastebin.com:443'), 'test-agent')).toBeUndefined();
  });
});
