import { describe, expect, it } from 'vitest';
import { useProxyFixture } from './proxy-fixture.js';
import { reply, type FakeReply } from '../../helpers/fake-control-plane.js';
import { eventIdOf, eventually, type RunningProxy, scrape, viaProxy } from './resilience-support.js';

/**
 * A live verdict call, or a block report, answered by a complete 2xx whose body is no readable
 * verdict: the control plane has the report, so it is neither spooled nor sent again, and replay is
 * not paused as if the control plane were failing. A live call still has no verdict: the fail mode
 * decides, and the reason says the answer could not be read, not that the control plane could not
 * be reached.
 */
const fixture = useProxyFixture({ timeoutMs: 500 });

const tooLarge: FakeReply = { kind: 'text', status: 200, body: `{"decision":"allow","reason":"${'x'.repeat(300 * 1024)}"}` };
/** Past the pool's 4 MiB response cap (the policy answer's), which a verdict answer must never meet. */
const pastResponseCap: FakeReply = { kind: 'text', status: 200, body: `{"decision":"allow","reason":"${'x'.repeat(5 * 1024 * 1024)}"}` };
const ODD_ANSWERS: readonly (readonly [string, () => FakeReply])[] = [
  ['not JSON', () => reply.garbage()],
  ['a decision that is not a string', () => reply.json(200, { decision: 5 })],
  ['a body too large for a verdict', () => tooLarge],
  ['a body past the response cap', () => pastResponseCap],
];

/** How many times the fake saw each event_id on /v1/verdicts. */
function sendsPerEvent(): number[] {
  const sends = new Map<string, number>();
  for (const seen of fixture.cp.requests) {
    const id = eventIdOf(seen.body);
    if (seen.path === '/v1/verdicts' && id !== undefined) sends.set(id, (sends.get(id) ?? 0) + 1);
  }
  return [...sends.values()];
}

/** Nothing spooled, nothing waiting, and replay never said the control plane was failing. */
async function expectNothingSpooled(proxy: RunningProxy): Promise<void> {
  const metrics = await scrape(proxy.proxy);
  expect(metrics.get('kaizen_proxy_spool_spooled_total')).toBe(0);
  expect(metrics.get('kaizen_proxy_spool_pending_entries')).toBe(0);
  for (const [name, value] of metrics) if (name.startsWith('kaizen_proxy_spool_dropped_total')) expect(value).toBe(0);
  expect(proxy.logs.lines()).not.toContainEqual(expect.objectContaining({ msg: 'spool replay paused: the control plane is failing' }));
}

describe('a live verdict call answered 2xx with a body that is no readable verdict', () => {
  it.each(ODD_ANSWERS)('%s, fail open: allowed by the fail mode, the reason says unreadable, nothing spooled or sent again', async (_name, odd) => {
    const proxy = await fixture.start({ fail: 'open' });
    fixture.cp.respondWith(odd());
    // One after another: concurrent lookups of one target share a call.
    for (const i of [0, 1, 2]) expect((await viaProxy(proxy.port, `${fixture.origin.url}/odd/${i}`)).status).toBe(200);
    const decisions = proxy.logs.lines().filter((line) => line['msg'] === 'decision' && line['source'] === 'fail_open');
    expect(decisions).toHaveLength(3);
    for (const line of decisions) {
      expect(line['reason']).toBe('Kaizen control plane answer could not be read (KZP_ERR_CONTROL_PLANE_ANSWER); allowed because fail mode is open');
    }
    // Spooling is synchronous with the decision: had an action been spooled, it would show by now.
    await expectNothingSpooled(proxy);

    // Once the control plane answers a verdict, only the new action is sent: nothing waits for replay.
    fixture.cp.respondWith(reply.allow());
    expect((await viaProxy(proxy.port, `${fixture.origin.url}/back`)).status).toBe(200);
    expect(sendsPerEvent()).toEqual([1, 1, 1, 1]);
    await expectNothingSpooled(proxy);
  });

  it('fail closed: 503 with no verdict, the reason says unreadable, nothing spooled', async () => {
    const proxy = await fixture.start({ fail: 'closed' });
    fixture.cp.respondWith(reply.json(200, { decision: 5 }));
    const answer = await viaProxy(proxy.port, `${fixture.origin.url}/odd`);
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toMatchObject({
      error: 'KZP_ERR_NO_VERDICT',
      reason: 'Kaizen control plane answer could not be read (KZP_ERR_CONTROL_PLANE_ANSWER); refused because fail mode is closed',
      evidence: [{ kind: 'error_code', value: 'KZP_ERR_CONTROL_PLANE_ANSWER' }],
    });
    expect(fixture.origin.requests).toHaveLength(0);
    await expectNothingSpooled(proxy);
    expect(sendsPerEvent()).toEqual([1]);
  });
});

describe('a block report answered 2xx with a body that is no readable verdict', () => {
  it.each(ODD_ANSWERS)('%s: the report is delivered, not spooled or sent again', async (_name, odd) => {
    const proxy = await fixture.start();
    fixture.cp.respondWith(odd());
    const answer = await viaProxy(proxy.port, 'http://169.254.169.254/latest/meta-data/');
    expect(answer.status).toBe(403);
    expect(answer.headers['x-kaizen-decision']).toBe('block');
    // The client logs the unreadable answer as it settles the report; the outbox sees it on that turn.
    await eventually(() => proxy.logs.lines().some((line) => line['code'] === 'KZP_ERR_CONTROL_PLANE_ANSWER'), 10_000, 'the block report answered');
    await expectNothingSpooled(proxy);

    fixture.cp.respondWith(reply.allow());
    expect((await viaProxy(proxy.port, `${fixture.origin.url}/back`)).status).toBe(200);
    expect(sendsPerEvent()).toEqual([1, 1]);
    await expectNothingSpooled(proxy);
  });
});
