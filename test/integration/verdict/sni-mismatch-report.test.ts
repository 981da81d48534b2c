import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectAction } from '../../../src/action/build-action.js';
import { targetFromParts } from '../../../src/action/target-parse.js';
import type { Action } from '../../../src/contract/action.js';
import { createAddressGuard } from '../../../src/net/address-guard.js';
import { createDecider, type KaizenDecider } from '../../../src/verdict/create-decider.js';
import { allowAllPolicy, type LocalPolicy } from '../../../src/verdict/local-policy.js';
import { withSniMismatchRule } from '../../../src/verdict/policy/sni-mismatch-rule.js';
import { reply, startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { captureLogs, decisionRequest, testConfig } from './support.js';

/** The ClientHello of a tunnel to allowed.example names fronted.example: the action the transport builds. */
function frontedAction(): Action {
  const sni = targetFromParts('fronted.example', 443);
  if (!sni.ok) throw new Error('test target');
  return connectAction(sni.value, { sni: 'fronted.example', connectHost: 'allowed.example' });
}

let cp: FakeControlPlane;
let decider: KaizenDecider | null = null;

beforeEach(async () => {
  cp = await startFakeControlPlane();
});

afterEach(async () => {
  await decider?.close();
  decider = null;
  await cp.close();
});

function start(localPolicy: LocalPolicy): KaizenDecider {
  decider = createDecider({ config: testConfig({ url: cp.url }), logger: captureLogs().logger, guard: createAddressGuard({ allowPrivate: [] }), localPolicy });
  return decider;
}

describe('tls.sni_mismatch is policy: decided, logged and reported like any local block', () => {
  it('block: the fronted SNI is refused with reason sni_mismatch, and the control plane hears of it', async () => {
    cp.respondWith(reply.allow());
    const decision = await start(withSniMismatchRule(allowAllPolicy, () => 'block')).decide(decisionRequest(frontedAction()));
    expect(decision).toMatchObject({ decision: 'block', enforce: 'refuse', reason: 'sni_mismatch', source: 'local' });
    expect(decision.evidence).toEqual([
      { kind: 'sni', value: 'fronted.example', source: 'kaizen-proxy' },
      { kind: 'connect_host', value: 'allowed.example', source: 'kaizen-proxy' },
    ]);
    await cp.waitForRequests(1);
    expect(cp.requests[0]?.body).toMatchObject({
      action: { kind: 'connect', target: 'fronted.example:443', metadata: { source: 'egress', sni: 'fronted.example', connect_host: 'allowed.example' } },
      verdict: { decision: 'block', reason: 'sni_mismatch' },
    });
  });

  it('allow: the SNI host is judged on its own, by the policies and the control plane', async () => {
    cp.respondWith(reply.allow());
    const decision = await start(withSniMismatchRule(allowAllPolicy, () => 'allow')).decide(decisionRequest(frontedAction()));
    expect(decision).toMatchObject({ decision: 'allow', source: 'control_plane' });
  });

  it('leaves every other action to the inner policy', () => {
    const plain = connectAction((() => {
      const t = targetFromParts('allowed.example', 443);
      if (!t.ok) throw new Error('test target');
      return t.value;
    })());
    const rule = withSniMismatchRule(allowAllPolicy, () => 'block');
    expect(rule.evaluate(plain, [], 'test-agent')).toEqual(allowAllPolicy.evaluate(plain, [], 'test-agent'));
  });
});
