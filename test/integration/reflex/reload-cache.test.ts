import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createReloader } from '../../../src/app/config-reload.js';
import { createLocalReflex } from '../../../src/app/local-reflex.js';
import type { ProxyConfig } from '../../../src/config/types.js';
import { createAddressGuard } from '../../../src/net/address-guard.js';
import { createDecider, type KaizenDecider } from '../../../src/verdict/create-decider.js';
import { parsePolicies } from '../../../src/verdict/policy/parse-policies.js';
import type { PolicyWire } from '../../../src/verdict/policy/policy-wire.js';
import { reply, startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { captureLogs, connectAction, decisionRequest, testConfig, type LogCapture } from '../verdict/support.js';

/** The composition of reflex, decider and reloader as createProxy wires it: cached verdicts go when policies change. */
let cp: FakeControlPlane;
let logs: LogCapture;
let decider: KaizenDecider | undefined;
let stopReflex: (() => void) | undefined;

function withPolicies(base: ProxyConfig, wire: readonly PolicyWire[]): ProxyConfig {
  const parsed = parsePolicies(wire);
  if (!parsed.ok) throw new Error('invalid test policies');
  return { ...base, policies: parsed.policies };
}

function verdictPosts(): number {
  return cp.requests.filter((request) => request.path === '/v1/verdicts').length;
}

beforeEach(async () => {
  cp = await startFakeControlPlane();
  logs = captureLogs('info');
});

afterEach(async () => {
  stopReflex?.();
  await decider?.close();
  await cp.close();
});

describe('policy changes drop cached verdicts', () => {
  it('on reload (every agent\'s), and on a sync that changes one agent\'s synced set (that agent\'s); an unchanged reload keeps them', async () => {
    cp.routeWith('/v1/policy', reply.policies([], '"v1"'), reply.policies([{ name: 'org', mode: 'blocklist', rules: { domains: ['evil.example'] } }], '"v2"'));
    cp.respondWith(reply.allow());
    const config: ProxyConfig = { ...testConfig({ url: cp.url }), policySync: { intervalMs: 300 } };
    const reflex = createLocalReflex(config, logs.logger, {
      onPoliciesChanged: (agent) => {
        if (agent === null) decider?.clearCache();
        else decider?.clearAgentCache(agent);
      },
    });
    stopReflex = () => {
      reflex.stop();
    };
    decider = createDecider({ config, logger: logs.logger, guard: createAddressGuard({ allowPrivate: [] }), ...reflex.deciderOptions });
    const reloader = createReloader(config, reflex, logs.logger);
    await reflex.start();

    const stripe = (): ReturnType<typeof decisionRequest> => decisionRequest(connectAction('api.stripe.com:443'));
    await decider.decide(stripe());
    await decider.decide(stripe());
    expect(verdictPosts()).toBe(1);
    expect(decider.cacheSize).toBe(1);

    expect(reloader.reload({ ok: true, config }, 'SIGHUP')).toEqual({ ok: true, applied: [], restartRequired: [] });
    expect(decider.cacheSize).toBe(1);

    const next = withPolicies(config, [
      { name: 'exfil', mode: 'blocklist', rules: { domains: ['pastebin.com'] }, enabled: true },
      { mode: 'correlation', rules: { risky_sequence: 'read_then_connect' }, enabled: true },
    ]);
    expect(reloader.reload({ ok: true, config: next }, 'file change')).toMatchObject({ ok: true, applied: ['policies'] });
    expect(decider.cacheSize).toBe(0);
    await decider.decide(stripe());
    expect(verdictPosts()).toBe(2);
    expect((await decider.decide(decisionRequest(connectAction('pastebin.com:443')))).source).toBe('local');

    // The next sync brings a changed set for the configured agent: its cached verdicts go again,
    // another agent's stay.
    const stripeAs = (agent: string): ReturnType<typeof decisionRequest> => decisionRequest(connectAction('api.stripe.com:443'), undefined, 443, agent);
    await decider.decide(stripeAs(config.agent));
    expect(decider.cacheSize).toBe(2);
    for (let i = 0; i < 40 && reflex.engine.counts(config.agent).synced === 0; i += 1) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(reflex.engine.counts(config.agent).synced).toBe(1);
    expect(decider.cacheSize).toBe(1);
    expect((await decider.decide(stripe())).source).toBe('cache');
    expect((await decider.decide(stripeAs(config.agent))).source).toBe('control_plane');
    // Synced for the configured agent: its actions only.
    expect((await decider.decide(decisionRequest(connectAction('evil.example:443'), undefined, 443, config.agent))).reason).toBe('blocked by local policy synced "org" (domains)');
    expect(reflex.syncStatus()).toEqual([{ agent: config.agent, status: 'ok' }]);
    expect(logs.lines().filter((line) => line['msg'] === 'correlation policies are accepted and not evaluated: the proxy sees no file reads')).toHaveLength(1);
  });
});
