import { describe, expect, it } from 'vitest';
import { useReplayFixture } from './proxy-fixture.js';
import { reply } from '../../helpers/fake-control-plane.js';
import { scrape, viaProxy } from './resilience-support.js';

/**
 * A live verdict call the control plane refuses for good (400, 409, 413, 415, 422: the report
 * itself): the action is not spooled, since a replay would only be refused again. The client gets
 * what the fail mode says for a failed call, as before; the drop is counted and logged once.
 */
const fixture = useReplayFixture(500);

describe('a live verdict call refused for good', () => {
  it.each([400, 409, 413, 415, 422])('%i: the client is refused by the fail mode, nothing is spooled, the drop is counted', async (status) => {
    const proxy = await fixture.start();
    fixture.cp.respondWith(reply.status(status));
    // One after another: concurrent lookups of one target share a call.
    for (const i of [0, 1, 2]) {
      const answer = await viaProxy(proxy.port, `${fixture.origin.url}/refused/${i}`);
      expect(answer.status).toBe(503);
      expect(JSON.parse(answer.body)).toMatchObject({ error: 'KZP_ERR_NO_VERDICT', evidence: [{ kind: 'error_code', value: 'KZP_ERR_CONTROL_PLANE_HTTP' }] });
    }
    // Spooling is synchronous with the decision: had an action been spooled, it would show by now.
    const metrics = await scrape(proxy.proxy);
    expect(metrics.get('kaizen_proxy_spool_spooled_total')).toBe(0);
    expect(metrics.get('kaizen_proxy_spool_pending_entries')).toBe(0);
    expect(metrics.get('kaizen_proxy_spool_dropped_total{reason="rejected"}')).toBe(3);
    expect(fixture.cp.requests.filter((seen) => seen.path === '/v1/verdicts')).toHaveLength(3);
    const refused = proxy.logs.lines().filter((line) => line['code'] === 'KZP_ERR_CONTROL_PLANE_REFUSED');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ level: 'error', error: 'KZP_ERR_CONTROL_PLANE_HTTP', suppressed: 0 });
    expect(proxy.logs.lines()).not.toContainEqual(expect.objectContaining({ code: 'KZP_ERR_CONTROL_PLANE_HTTP' }));

    // Nothing waits for replay: once the control plane answers again, only the new action is sent.
    fixture.cp.respondWith(reply.allow());
    expect((await viaProxy(proxy.port, `${fixture.origin.url}/back`)).status).toBe(200);
    expect(fixture.cp.requests.filter((seen) => seen.path === '/v1/verdicts')).toHaveLength(4);
  });
});
