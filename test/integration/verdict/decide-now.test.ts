import { describe, expect, it } from 'vitest';
import type { Action } from '../../../src/contract/action.js';
import type { Resolution, SettledDecisionRequest } from '../../../src/contract/decision.js';
import { reply } from '../../helpers/fake-control-plane.js';
import { useDeciderHarness } from './decider-harness.js';
import { connectAction, decisionRequest, httpAction } from './support.js';

// ImmediateDecider.decideNow, the transport's way to decide without a promise: it must give what
// decide() gives whenever it answers, and nothing (undefined) whenever decide() would have to wait.

const harness = useDeciderHarness();
const { decider } = harness;

function settled(action: Action, addresses: readonly string[] = ['93.184.215.14'], port = 443): SettledDecisionRequest {
  const resolved: Resolution = { ok: true, addresses };
  return { action, agent: 'test-agent', port, resolved };
}

const stripe = connectAction('api.stripe.com:443');

describe('decideNow', () => {
  it('without an account gives the local verdict at once, as decide() does', async () => {
    const d = decider({ apiKey: null });
    const atOnce = d.decideNow(settled(stripe));
    expect(atOnce).toEqual(await d.decide(decisionRequest(stripe)));
    expect(atOnce).toMatchObject({ decision: 'allow', enforce: 'forward', source: 'local' });
  });

  it('with an account answers nothing until a verdict is held, then the cached verdict (a hit), then nothing once it expires', async () => {
    let clock = 1_000;
    const lookups: string[] = [];
    harness.cp.respondWith(reply.block({ id: 'v-9' }));
    const d = decider(
      { cache: { blockTtlMs: 100, allowTtlMs: 100, staleIfErrorMs: 0 } },
      {
        now: () => clock,
        metrics: {
          controlPlaneCall: () => undefined,
          cacheLookup: (result) => {
            lookups.push(result);
          },
        },
      },
    );
    expect(d.decideNow(settled(stripe))).toBeUndefined();
    expect(harness.cp.requests).toHaveLength(0);
    const asked = await d.decide(decisionRequest(stripe));
    expect(asked).toMatchObject({ decision: 'block', source: 'control_plane', verdictId: 'v-9' });
    const cached = d.decideNow(settled(stripe));
    expect(cached).toEqual({ ...asked, source: 'cache' });
    expect(cached).toEqual(await d.decide(decisionRequest(stripe)));
    expect(lookups).toEqual(['miss', 'hit', 'hit']);
    expect(harness.cp.requests).toHaveLength(1);
    // Another method or target is another key.
    expect(d.decideNow(settled(httpAction('api.stripe.com:443', 'POST', '/v1/charges')))).toBeUndefined();
    clock += 101;
    expect(d.decideNow(settled(stripe))).toBeUndefined();
    expect(harness.cp.requests).toHaveLength(1);
  });

  it('refuses a guarded address at once and reports it to the control plane as decide() does', async () => {
    harness.cp.respondWith(reply.allow());
    const d = decider();
    const metadata = d.decideNow(settled(connectAction('metadata.example:80'), ['169.254.169.254'], 80));
    expect(metadata).toMatchObject({ decision: 'block', enforce: 'refuse', source: 'guard' });
    expect(metadata).toEqual(await d.decide(decisionRequest(connectAction('metadata.example:80'), ['169.254.169.254'], 80)));
    await harness.cp.waitForRequests(2);
    for (const request of harness.cp.requests) expect(request.body).toMatchObject({ agent: 'test-agent', verdict: { decision: 'block' } });
    expect(harness.cp.requests).toHaveLength(2);
  });

  it('applies monitor mode to what it decides, the guard kept unless monitor_guard is false', async () => {
    harness.cp.respondWith(reply.block());
    const guarded = (): SettledDecisionRequest => settled(connectAction('metadata.example:80'), ['169.254.169.254'], 80);
    const kept = decider({}, { mode: () => ({ mode: 'monitor', monitorGuard: true }) });
    await kept.decide(decisionRequest(stripe));
    expect(kept.decideNow(settled(stripe))).toMatchObject({ decision: 'block', enforce: 'forward', wouldBlock: true, source: 'cache' });
    expect(kept.decideNow(guarded())).toMatchObject({ decision: 'block', enforce: 'refuse', wouldBlock: false, source: 'guard' });
    const watched = decider({}, { mode: () => ({ mode: 'monitor', monitorGuard: false }) });
    expect(watched.decideNow(guarded())).toMatchObject({ decision: 'block', enforce: 'forward', wouldBlock: true, source: 'guard' });
  });
});
