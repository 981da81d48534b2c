import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../src/contract/decision.js';
import { createAddressGuard } from '../../../src/net/address-guard.js';
import type { LocalPolicy } from '../../../src/verdict/local-policy.js';
import { reply } from '../../helpers/fake-control-plane.js';
import { useDeciderHarness } from './decider-harness.js';
import { connectAction, decisionRequest, dnsFailedRequest, httpAction } from './support.js';

const harness = useDeciderHarness();
const { decider } = harness;

const stripe = connectAction('api.stripe.com:443');

describe('decider: the control plane decides', () => {
  it('allow forwards with the verdict id; the next decision for the key comes from the cache', async () => {
    harness.cp.respondWith(reply.allow({ id: 'v-7' }));
    const d = decider();
    expect(await d.decide(decisionRequest(stripe))).toEqual<Decision>({
      decision: 'allow',
      enforce: 'forward',
      reason: 'fake control plane says allow',
      evidence: [],
      source: 'control_plane',
      verdictId: 'v-7',
      flagged: false,
      wouldBlock: false,
    });
    expect(await d.decide(decisionRequest(stripe))).toMatchObject({ decision: 'allow', source: 'cache', verdictId: 'v-7' });
    expect(harness.cp.requests).toHaveLength(1);
    expect(harness.cp.requests[0]?.body).toMatchObject({ agent: 'test-agent', verdict: { decision: 'allow', reason: 'no local policy matched' } });
  });

  it('block refuses, with the control plane evidence', async () => {
    harness.cp.respondWith(reply.block());
    const decision = await decider().decide(decisionRequest(stripe));
    expect(decision).toMatchObject({ decision: 'block', enforce: 'refuse', source: 'control_plane' });
    expect(decision.evidence).toEqual([{ kind: 'baseline', value: 'never seen', source: 'fake' }]);
  });

  it('a wrapped `{verdict}` decision wins', async () => {
    harness.cp.respondWith(reply.wrapped('block'));
    expect(await decider().decide(decisionRequest(stripe))).toMatchObject({ decision: 'block', enforce: 'refuse', source: 'control_plane' });
  });

  it('`anomaly` forwards, flagged', async () => {
    harness.cp.respondWith(reply.anomaly());
    expect(await decider().decide(decisionRequest(stripe))).toMatchObject({ decision: 'allow', enforce: 'forward', flagged: true, source: 'control_plane' });
  });

  it.each([
    ['{}', reply.empty(), null],
    ['{"id"}', reply.recorded('v-9'), 'v-9'],
  ])('%s: recorded, the local verdict stands (and is cached)', async (_name, answer, verdictId) => {
    harness.cp.respondWith(answer);
    const d = decider();
    expect(await d.decide(decisionRequest(stripe))).toMatchObject({ decision: 'allow', reason: 'no local policy matched', source: 'local', verdictId });
    expect(await d.decide(decisionRequest(stripe))).toMatchObject({ decision: 'allow', source: 'cache' });
    expect(harness.cp.requests).toHaveLength(1);
  });

  it('retries once after a 500 and takes the answer', async () => {
    harness.cp.respondWith(reply.status(500), reply.block());
    expect(await decider().decide(decisionRequest(stripe))).toMatchObject({ decision: 'block', source: 'control_plane' });
    expect(harness.cp.requests).toHaveLength(2);
  });

  it('coalesces 1,000 concurrent first decisions for one key into exactly 1 call', async () => {
    harness.cp.respondWith(reply.slow(100, reply.allow({ id: 'v-once' })));
    const d = decider();
    const decisions = await Promise.all(Array.from({ length: 1000 }, () => d.decide(decisionRequest(stripe))));
    expect(harness.cp.requests).toHaveLength(1);
    expect(new Set(decisions.map((x) => `${x.decision}/${x.verdictId ?? ''}`))).toEqual(new Set(['allow/v-once']));
  });

  it('keys on agent, kind, target, tool, method and scheme, never on path or query', async () => {
    const d = decider();
    await d.decide(decisionRequest(httpAction('example.com:80', 'GET', '/a'), undefined, 80));
    await d.decide(decisionRequest(httpAction('example.com:80', 'GET', '/b/c'), undefined, 80));
    expect(harness.cp.requests).toHaveLength(1);
    await d.decide(decisionRequest(httpAction('example.com:80', 'POST', '/a'), undefined, 80));
    await d.decide(decisionRequest(httpAction('example.com:80', 'GET', '/a'), undefined, 80, 'other-agent'));
    await d.decide(decisionRequest({ ...httpAction('example.com:80', 'GET', '/a'), tool: 'search' }, undefined, 80));
    await d.decide(decisionRequest(connectAction('example.com:80'), undefined, 80));
    const upgrade = httpAction('example.com:80', 'GET', '/a');
    await d.decide(decisionRequest({ ...upgrade, metadata: { ...upgrade.metadata, scheme: 'ws' } }, undefined, 80));
    expect(harness.cp.requests).toHaveLength(6);
  });

  it('clearCache forgets verdicts', async () => {
    const d = decider();
    await d.decide(decisionRequest(stripe));
    d.clearCache();
    expect(await d.decide(decisionRequest(stripe))).toMatchObject({ source: 'control_plane' });
    expect(harness.cp.requests).toHaveLength(2);
  });

  it('clearAgentCache forgets one agent\'s verdicts and keeps every other agent\'s', async () => {
    const d = decider();
    const as = (agent: string) => decisionRequest(stripe, undefined, 443, agent);
    for (const agent of ['a', 'ab', 'b']) await d.decide(as(agent));
    d.clearAgentCache('a');
    expect(await d.decide(as('ab'))).toMatchObject({ source: 'cache' });
    expect(await d.decide(as('b'))).toMatchObject({ source: 'cache' });
    expect(await d.decide(as('a'))).toMatchObject({ source: 'control_plane' });
    expect(harness.cp.requests).toHaveLength(4);
  });
});

describe('decider: when the control plane fails', () => {
  it('fails closed within the deadline when the control plane is slow', async () => {
    harness.cp.respondWith(reply.slow(10_000));
    const started = performance.now();
    const decision = await decider({ timeoutMs: 300 }).decide(decisionRequest(stripe));
    expect(performance.now() - started).toBeLessThan(5000);
    expect(decision).toMatchObject({ decision: 'block', enforce: 'refuse', source: 'fail_closed' });
    expect(decision.reason).toContain('KZP_ERR_CONTROL_PLANE_TIMEOUT');
    expect(decision.reason).toContain('could not be reached');
  });

  it.each([
    ['401', reply.unauthorized(), 'KZP_ERR_CONTROL_PLANE_AUTH'],
    ['garbage', reply.garbage(), 'KZP_ERR_CONTROL_PLANE_ANSWER'],
    ['resets', reply.reset(), 'KZP_ERR_CONTROL_PLANE_NETWORK'],
    ['500 twice', reply.status(500), 'KZP_ERR_CONTROL_PLANE_HTTP'],
  ])('%s → fail closed with %s', async (_name, answer, code) => {
    harness.cp.respondWith(answer);
    const decision = await decider().decide(decisionRequest(stripe));
    expect(decision).toMatchObject({ decision: 'block', enforce: 'refuse', source: 'fail_closed' });
    expect(decision.reason).toContain(code);
  });

  it('a failure is not cached: the next decision asks again', async () => {
    harness.cp.respondWith(reply.unauthorized(), reply.allow());
    const d = decider();
    expect(await d.decide(decisionRequest(stripe))).toMatchObject({ source: 'fail_closed' });
    expect(await d.decide(decisionRequest(stripe))).toMatchObject({ decision: 'allow', source: 'control_plane' });
  });

  it('fails open when told to, and says so at warn', async () => {
    harness.cp.respondWith(reply.status(503));
    const decision = await decider({ fail: 'open' }).decide(decisionRequest(stripe));
    expect(decision).toMatchObject({ decision: 'allow', enforce: 'forward', source: 'fail_open' });
    expect(decision.reason).toContain('KZP_ERR_CONTROL_PLANE_HTTP');
    expect(harness.logs.lines()).toContainEqual(expect.objectContaining({ level: 'warn', code: 'KZP_ERR_CONTROL_PLANE_HTTP', target: 'api.stripe.com:443' }));
  });

  it('says it fails open once per error code per 10 s, not once per action', async () => {
    let clock = 1_000;
    harness.cp.respondWith(reply.status(404));
    const d = decider({ fail: 'open' }, { now: () => clock });
    for (const host of ['a.example', 'b.example', 'c.example']) {
      expect(await d.decide(decisionRequest(connectAction(`${host}:443`)))).toMatchObject({ source: 'fail_open' });
    }
    clock += 10_000;
    expect(await d.decide(decisionRequest(connectAction('d.example:443')))).toMatchObject({ source: 'fail_open' });
    const failOpen = harness.logs.lines().filter((line) => line['msg'] === 'no verdict: allowing because fail mode is open');
    expect(failOpen).toEqual([
      expect.objectContaining({ code: 'KZP_ERR_CONTROL_PLANE_HTTP', target: 'a.example:443', suppressed: 0 }),
      expect.objectContaining({ code: 'KZP_ERR_CONTROL_PLANE_HTTP', target: 'd.example:443', suppressed: 2 }),
    ]);
  });

  it('serves an expired verdict inside stale_if_error, and fails closed beyond it', async () => {
    let clock = 1_000;
    const d = decider({ cache: { allowTtlMs: 50, blockTtlMs: 50, staleIfErrorMs: 1_000 } }, { now: () => clock });
    harness.cp.respondWith(reply.allow({ id: 'v-old' }), reply.status(500));
    expect(await d.decide(decisionRequest(stripe))).toMatchObject({ source: 'control_plane' });
    clock += 60;
    expect(await d.decide(decisionRequest(stripe))).toMatchObject({ decision: 'allow', enforce: 'forward', source: 'stale', verdictId: 'v-old' });
    expect(harness.cp.requests).toHaveLength(3);
    clock += 500;
    expect(await d.decide(decisionRequest(stripe))).toMatchObject({ source: 'stale' });
    clock += 600;
    expect(await d.decide(decisionRequest(stripe))).toMatchObject({ decision: 'block', source: 'fail_closed' });
  });

  it('refreshes an expired verdict when the control plane answers', async () => {
    let clock = 1_000;
    const d = decider({ cache: { allowTtlMs: 50, blockTtlMs: 10_000, staleIfErrorMs: 1_000 } }, { now: () => clock });
    harness.cp.respondWith(reply.allow(), reply.block());
    await d.decide(decisionRequest(stripe));
    clock += 40;
    expect(await d.decide(decisionRequest(stripe))).toMatchObject({ decision: 'allow', source: 'cache' });
    clock += 20;
    expect(await d.decide(decisionRequest(stripe))).toMatchObject({ decision: 'block', source: 'control_plane' });
    clock += 5_000;
    expect(await d.decide(decisionRequest(stripe))).toMatchObject({ decision: 'block', source: 'cache' });
    expect(harness.cp.requests).toHaveLength(2);
  });
});

describe('decider: local decisions', () => {
  it('without an API key there is no control plane: the local verdict stands and nothing is sent', async () => {
    const d = decider({ apiKey: null });
    expect(await d.decide(decisionRequest(stripe))).toMatchObject({ decision: 'allow', enforce: 'forward', source: 'local' });
    expect(await d.decide(decisionRequest(stripe, ['169.254.169.254']))).toMatchObject({ decision: 'block', source: 'guard' });
    await d.close();
    expect(harness.cp.requests).toHaveLength(0);
  });

  it('the guard refuses the metadata address, and the block is reported without delaying the answer', async () => {
    harness.cp.respondWith(reply.slow(1500));
    const started = performance.now();
    const decision = await decider({ timeoutMs: 3000 }).decide(decisionRequest(stripe, ['169.254.169.254']));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(decision).toMatchObject({ decision: 'block', enforce: 'refuse', source: 'guard', verdictId: null });
    expect(decision.evidence).toEqual([{ kind: 'address', value: '169.254.169.254', source: 'guard' }]);
    await harness.cp.waitForRequests(1);
    expect(harness.cp.requests[0]?.body).toMatchObject({ verdict: { decision: 'block', evidence: [{ kind: 'address', value: '169.254.169.254' }] } });
  });

  it('the guard checks every resolved address, [::ffff:127.0.0.1] included', async () => {
    const decision = await decider().decide(decisionRequest(stripe, ['93.184.215.14', '::ffff:127.0.0.1']));
    expect(decision).toMatchObject({ decision: 'block', source: 'guard' });
  });

  it('a local block is final: the control plane cannot allow it', async () => {
    const policy: LocalPolicy = {
      evaluate: (action) =>
        action.target.startsWith('evil.')
          ? { decision: 'block', reason: 'blocklisted domain', evidence: [{ kind: 'domain', value: 'evil.example', source: 'policy' }] }
          : { decision: 'allow', reason: 'no local policy matched', evidence: [] },
    };
    harness.cp.respondWith(reply.allow());
    const d = decider({}, { localPolicy: policy });
    expect(await d.decide(decisionRequest(connectAction('evil.example:443')))).toMatchObject({ decision: 'block', reason: 'blocklisted domain', source: 'local' });
    await harness.cp.waitForRequests(1);
    expect(harness.cp.requests[0]?.body).toMatchObject({ verdict: { decision: 'block', reason: 'blocklisted domain' } });
  });

  it('a local policy that throws blocks, even when failing open', async () => {
    const broken: LocalPolicy = {
      evaluate: () => {
        throw new Error('engine exploded');
      },
    };
    const decision = await decider({ fail: 'open' }, { localPolicy: broken }).decide(decisionRequest(stripe));
    expect(decision).toMatchObject({ decision: 'block', enforce: 'refuse', source: 'local' });
    expect(decision.reason).not.toContain('exploded');
  });

  it('a DNS failure does not stop the pipeline (the transport answers 502 on allow)', async () => {
    harness.cp.respondWith(reply.allow());
    expect(await decider().decide(dnsFailedRequest(stripe))).toMatchObject({ decision: 'allow', source: 'control_plane' });
  });
});

describe('decider: never rejects', () => {
  it('a rejected resolution is treated as a DNS failure', async () => {
    const request = { ...decisionRequest(stripe), resolution: Promise.reject(new Error('transport bug')) };
    expect(await decider().decide(request)).toMatchObject({ decision: 'allow', source: 'control_plane' });
  });

  it('an internal error is a fail-mode decision with KZP_ERR_DECIDER', async () => {
    const guard = { ...createAddressGuard({ allowPrivate: [] }), checkAll: () => { throw new Error('guard bug'); } };
    const decision = await decider({}, { guard }).decide(decisionRequest(stripe));
    expect(decision).toMatchObject({ decision: 'block', source: 'fail_closed' });
    expect(decision.reason).toContain('KZP_ERR_DECIDER');
    expect(decision.reason).not.toContain('guard bug');
    expect(harness.logs.lines()).toContainEqual(expect.objectContaining({ level: 'error', code: 'KZP_ERR_DECIDER' }));
  });
});
