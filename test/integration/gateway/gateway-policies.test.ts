import { describe, expect, it } from 'vitest';
import { reply } from '../../helpers/fake-control-plane.js';
import { blocking, ORIGIN_A, ORIGIN_B, policyPath, useGatewayFixture } from './gateway-fixture.js';

/**
 * Gateway mode with an account: every agent the proxy serves (the configured one and each identity
 * of the credentials file) has its own synced policies, fetched with ?agent=<its name>, and a
 * request is judged by the file's policies and its own agent's synced ones, never another's.
 */
const gateway = useGatewayFixture();

const policyRequests = (): string[] => gateway.cp.requests.filter((seen) => seen.path.startsWith('/v1/policy')).map((seen) => seen.path);

describe('synced policies per gateway agent', () => {
  it('enforces each agent\'s own synced policies and not another\'s, fetched once per agent, in parallel, before listening', async () => {
    // Slow answers: started one after the other, the second request would come 600 ms after the first.
    gateway.cp.routeWith(policyPath('ops-bot'), reply.slow(600, reply.policies(blocking('ops-only', ORIGIN_B))));
    gateway.cp.routeWith(policyPath('billing-bot'), reply.slow(600, reply.policies(blocking('billing-only', ORIGIN_A))));
    await gateway.start();

    expect(await gateway.getAs('billing-bot', ORIGIN_A)).toEqual({ status: 403, reason: 'blocked by local policy synced "billing-only" (ip)' });
    expect(await gateway.getAs('billing-bot', ORIGIN_B)).toMatchObject({ status: 200 });
    expect(await gateway.getAs('ops-bot', ORIGIN_B)).toEqual({ status: 403, reason: 'blocked by local policy synced "ops-only" (ip)' });
    expect(await gateway.getAs('ops-bot', ORIGIN_A)).toMatchObject({ status: 200 });

    expect(policyRequests().sort()).toEqual([policyPath('billing-bot'), policyPath('ops-bot')]);
    const arrivals = gateway.cp.requests.filter((seen) => seen.path.startsWith('/v1/policy')).map((seen) => seen.at);
    expect(Math.abs((arrivals[0] ?? 0) - (arrivals[1] ?? 0))).toBeLessThan(400);

    // /readyz is unauthenticated: it counts the agents per sync status and names none of them.
    const readyz = await gateway.admin('/readyz');
    expect(JSON.parse(readyz)).toMatchObject({ policy_sync: { status: 'ok', counts: { none: 0, ok: 2, pending: 0, failing: 0 } } });
    expect(readyz).not.toMatch(/ops-bot|billing-bot/);
    const metrics = await gateway.admin('/metrics');
    expect(metrics).toContain('kaizen_proxy_policy_sync_status{agent="billing-bot",status="ok"} 1');
    expect(metrics).toContain('kaizen_proxy_policy_sync_status{agent="ops-bot",status="ok"} 1');
    const updated = gateway.logs.lines.filter((line) => line.msg === 'synced policies updated').map((line) => line['agent']);
    expect(updated.sort()).toEqual(['billing-bot', 'ops-bot']);
  });

  it('a reload that adds an identity starts its sync and admits it synced; one that removes an identity refuses it and stops its sync', async () => {
    gateway.cp.routeWith(policyPath('ops-bot'), reply.policies([]));
    gateway.cp.routeWith(policyPath('billing-bot'), reply.policies(blocking('billing-only', ORIGIN_A)));
    gateway.cp.routeWith(policyPath('new-bot'), reply.slow(300, reply.policies(blocking('new-only', ORIGIN_A, ORIGIN_B))));
    await gateway.start();
    expect((await gateway.getAs('new-bot', ORIGIN_B)).status).toBe(407);

    await gateway.writeCredentials(['ops-bot', 'new-bot']);
    expect(gateway.reload()).toEqual({ ok: true, applied: ['gateway'], restartRequired: [] });
    // The removed identity is refused at once; the new one until its first sync (answered 300 ms late) has ended.
    expect((await gateway.getAs('billing-bot', ORIGIN_B)).status).toBe(407);
    expect((await gateway.getAs('new-bot', ORIGIN_B)).status).toBe(407);
    await gateway.cp.waitForRequest((seen) => seen.path === policyPath('new-bot'));
    await gateway.logs.waitFor((line) => line.msg === 'gateway identities updated');

    expect(await gateway.getAs('new-bot', ORIGIN_B)).toEqual({ status: 403, reason: 'blocked by local policy synced "new-only" (ip)' });
    expect(await gateway.getAs('ops-bot', ORIGIN_A)).toMatchObject({ status: 200 });
    expect((JSON.parse(await gateway.admin('/readyz')) as { policy_sync: unknown }).policy_sync).toEqual({ status: 'ok', counts: { none: 0, ok: 2, pending: 0, failing: 0 } });
    expect(await gateway.admin('/metrics')).not.toContain('agent="billing-bot"');
    expect(gateway.logs.lines.find((line) => line.msg === 'policy sync stopped: the agent is no longer served')).toMatchObject({ agent: 'billing-bot' });
  });
});
