import { describe, expect, it } from 'vitest';
import { reply } from '../../helpers/fake-control-plane.js';
import { blocking, ORIGIN_A, policyPath, useGatewayFixture } from './gateway-fixture.js';

/**
 * What the proxy holds per gateway agent (its cached verdicts, its client_rate bucket) is that
 * agent's alone: one agent's policy change or removal leaves every other agent's state in place,
 * and an identity removed leaves nothing behind.
 */
const gateway = useGatewayFixture();

/** The first line `msg` logged with these fields (already logged or still to come). */
const logged = (msg: string, fields: Readonly<Record<string, unknown>>): Promise<unknown> =>
  gateway.logs.waitFor((line) => line.msg === msg && Object.entries(fields).every(([key, value]) => line[key] === value));

describe('per-agent state in gateway mode', () => {
  it("a sync that changes one agent's policies drops only that agent's cached verdicts; a change of the file's drops every agent's", async () => {
    // billing-bot's set changes at its second sync; ops-bot's never does. Neither blocks the origin.
    gateway.cp.routeWith(policyPath('billing-bot'), reply.policies(blocking('billing-v1', '203.0.113.1'), '"b1"'), reply.policies(blocking('billing-v2', '203.0.113.2'), '"b2"'));
    gateway.cp.routeWith(policyPath('ops-bot'), reply.policies(blocking('ops', '203.0.113.3'), '"o1"'));
    await gateway.configure(['policy_sync: { interval: 1s }']);
    await gateway.start();

    for (const agent of ['ops-bot', 'billing-bot', 'ops-bot', 'billing-bot']) expect((await gateway.getAs(agent, ORIGIN_A)).status).toBe(200);
    // One control-plane call per agent; the repeats were cache hits.
    expect(gateway.verdictPosts()).toBe(2);

    // billing-bot's next sync brings its new set (the line is logged once it is in force).
    await logged('synced policies updated', { agent: 'billing-bot', etag: '"b2"' });
    expect((await gateway.getAs('ops-bot', ORIGIN_A)).status).toBe(200);
    expect(gateway.verdictPosts()).toBe(2);
    expect((await gateway.getAs('billing-bot', ORIGIN_A)).status).toBe(200);
    expect(gateway.verdictPosts()).toBe(3);

    // The file's policies apply to every agent: a change of them drops every agent's verdicts.
    await gateway.configure(['policy_sync: { interval: 1s }', 'policies: [{ name: file-rule, mode: blocklist, rules: { domains: [pastebin.com] } }]']);
    expect(gateway.reload()).toEqual({ ok: true, applied: ['policies'], restartRequired: [] });
    expect((await gateway.getAs('ops-bot', ORIGIN_A)).status).toBe(200);
    expect((await gateway.getAs('billing-bot', ORIGIN_A)).status).toBe(200);
    expect(gateway.verdictPosts()).toBe(5);
  });

  it('an identity removed by a reload leaves no client_rate bucket: added back, it starts with a full one', async () => {
    gateway.cp.routeWith('/v1/policy', reply.policies([]));
    // One action each, then a token every 100 s: a second action within the test is always over the rate.
    await gateway.configure(['limits: { client_rate: 0.01, client_burst: 1 }']);
    await gateway.start();
    for (const agent of ['billing-bot', 'ops-bot']) {
      expect((await gateway.getAs(agent, ORIGIN_A)).status).toBe(200);
      expect((await gateway.getAs(agent, ORIGIN_A)).status).toBe(429);
    }

    await gateway.writeCredentials(['ops-bot']);
    expect(gateway.reload()).toEqual({ ok: true, applied: ['gateway'], restartRequired: [] });
    expect((await gateway.getAs('billing-bot', ORIGIN_A)).status).toBe(407);
    await logged('gateway identities updated', { agents: 1 });

    await gateway.writeCredentials(['ops-bot', 'billing-bot']);
    expect(gateway.reload()).toEqual({ ok: true, applied: ['gateway'], restartRequired: [] });
    await logged('gateway identities updated', { agents: 2 });
    expect((await gateway.getAs('billing-bot', ORIGIN_A)).status).toBe(200);
    expect((await gateway.getAs('billing-bot', ORIGIN_A)).status).toBe(429);
    // The identity that stayed keeps its bucket (still empty).
    expect((await gateway.getAs('ops-bot', ORIGIN_A)).status).toBe(429);
  });
});
