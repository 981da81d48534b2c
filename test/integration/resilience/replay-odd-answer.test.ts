import { describe, expect, it } from 'vitest';
import { useReplayFixture } from './proxy-fixture.js';
import { reply, type FakeReply } from '../../helpers/fake-control-plane.js';
import { counter, eventIdOf, eventually, type RunningProxy, spoolDropped, viaProxy } from './resilience-support.js';

/**
 * A replay's answer changes nothing (the action is past): any 2xx says the control plane has the
 * entry, whatever its body. A body no verdict can be read from must not hold the entry, and every
 * entry behind it, in the spool for good. A live call answered so still has no verdict, but the
 * control plane has its report: it is not spooled (live-unreadable.test.ts).
 */
const fixture = useReplayFixture(500);
const start = (): Promise<RunningProxy> => fixture.start();

const tooLarge: FakeReply = { kind: 'text', status: 200, body: `{"decision":"allow","reason":"${'x'.repeat(300 * 1024)}"}` };
/** Past the pool's 4 MiB response cap (the policy answer's), which a verdict answer must never meet. */
const pastResponseCap: FakeReply = { kind: 'text', status: 200, body: `{"decision":"allow","reason":"${'x'.repeat(5 * 1024 * 1024)}"}` };

describe('spool replay answered 2xx with a body that is no readable verdict', () => {
  it.each([
    ['not JSON', reply.garbage()],
    ['a decision that is not a string', reply.json(200, { decision: 5 })],
    ['a body too large for a verdict', tooLarge],
    ['a body past the response cap', pastResponseCap],
  ])('%s: the live call has no verdict (503) and is not spooled, every replay is acknowledged and the spool drains', async (_name, odd) => {
    const proxy = await start();
    fixture.cp.respondWith(reply.status(503));
    const outage = await Promise.all([0, 1, 2].map((i) => viaProxy(proxy.port, `${fixture.origin.url}/outage/${i}`)));
    expect(outage.map((answer) => answer.status)).toEqual([503, 503, 503]);

    fixture.cp.respondWith(odd);
    const live = await viaProxy(proxy.port, `${fixture.origin.url}/odd`);
    expect(live.status).toBe(503);
    expect(live.body).toContain('KZP_ERR_CONTROL_PLANE_ANSWER');
    expect(await counter(proxy, 'kaizen_proxy_spool_spooled_total')).toBe(3);

    // The live 2xx lets replay start; a replay held for its body would be probed again at 1, 2, 4
    // and 8 s and never leave the spool.
    await eventually(async () => (await counter(proxy, 'kaizen_proxy_spool_pending_entries')) === 0, 10_000, 'the spool drained');
    expect(await counter(proxy, 'kaizen_proxy_spool_replayed_total')).toBe(3);
    expect(await spoolDropped(proxy)).toBe(0);
    // No replay was probed again, and the live one was not replayed: each action was answered 2xx
    // once (the outage's by their replay, the live one by its live call).
    const answered2xx = new Map<string, number>();
    for (const seen of fixture.cp.requests) {
      const id = eventIdOf(seen.body);
      const status = seen.reply.kind === 'json' || seen.reply.kind === 'text' ? seen.reply.status : 0;
      if (id !== undefined && status === 200) answered2xx.set(id, (answered2xx.get(id) ?? 0) + 1);
    }
    expect([...answered2xx.values()]).toEqual([1, 1, 1, 1]);
  });
});
