import { describe, expect, it } from 'vitest';
import { reply } from '../../helpers/fake-control-plane.js';
import { failureCode, REPORT, useClientFixture } from './client-fixture.js';

/**
 * What the client says of an error status beyond its classification (control-plane-client.test.ts):
 * how a report refused for good is logged.
 */
const fixture = useClientFixture();
const client = fixture.client;

describe('control-plane client: a report refused for good', () => {
  it.each([400, 409, 413, 415, 422])('%i: one error line a minute with KZP_ERR_CONTROL_PLANE_REFUSED, the next saying how many were held back', async (status) => {
    let clock = 0;
    fixture.cp.respondWith(reply.status(status));
    const c = client({ now: () => clock });
    for (let i = 0; i < 3; i += 1) expect(failureCode(await c.send(REPORT))).toBe('KZP_ERR_CONTROL_PLANE_HTTP');
    clock += 59_000;
    await c.send(REPORT);
    clock += 2_000;
    await c.send(REPORT);
    expect(fixture.cp.requests).toHaveLength(5);
    const refused = fixture.logs.lines().filter((line) => line['code'] === 'KZP_ERR_CONTROL_PLANE_REFUSED');
    expect(refused).toHaveLength(2);
    expect(refused[0]).toMatchObject({ level: 'error', error: 'KZP_ERR_CONTROL_PLANE_HTTP', target: 'api.stripe.com:443', suppressed: 0 });
    expect(refused[0]?.['msg']).toContain(`answered ${status}`);
    expect(refused[1]).toMatchObject({ suppressed: 3 });
    // Nothing else per call: the refusals are the rate-limited line only.
    expect(fixture.logs.lines().filter((line) => line['level'] === 'warn' || line['level'] === 'error')).toHaveLength(2);
  });
});
