import { describe, expect, it } from 'vitest';
import { reply } from '../../helpers/fake-control-plane.js';
import { failureCode, REPORT, useClientFixture } from './client-fixture.js';

/**
 * What the client says of an error status beyond its classification (control-plane-client.test.ts):
 * how a report refused for good is logged, and what a status that holds the spool tells its replay.
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

describe('control-plane client: an outage', () => {
  it('one warning per error code per 10 s, the next saying how many were held back; each code its own', async () => {
    let clock = 0;
    fixture.cp.respondWith(reply.status(404));
    const c = client({ now: () => clock, timeoutMs: 300 });
    for (let i = 0; i < 4; i += 1) expect(failureCode(await c.send(REPORT))).toBe('KZP_ERR_CONTROL_PLANE_HTTP');
    fixture.cp.respondWith(reply.hang());
    expect(failureCode(await c.send(REPORT))).toBe('KZP_ERR_CONTROL_PLANE_TIMEOUT');
    clock += 10_000;
    fixture.cp.respondWith(reply.status(404));
    await c.send(REPORT);
    const warnings = fixture.logs.lines().filter((line) => line['level'] === 'warn');
    expect(warnings).toEqual([
      expect.objectContaining({ code: 'KZP_ERR_CONTROL_PLANE_HTTP', target: 'api.stripe.com:443', suppressed: 0 }),
      expect.objectContaining({ code: 'KZP_ERR_CONTROL_PLANE_TIMEOUT', suppressed: 0 }),
      expect.objectContaining({ code: 'KZP_ERR_CONTROL_PLANE_HTTP', suppressed: 3 }),
    ]);
  });
});

describe('control-plane client: a missing route that names a Retry-After', () => {
  it.each([404, 405, 410])('%i: the failure carries the Retry-After (the spool replay waits it out), still not retried', async (status) => {
    fixture.cp.respondWith(reply.status(status, { 'retry-after': '7' }));
    const result = await client().send(REPORT);
    expect(result).toMatchObject({ ok: false, retryAfterMs: 7000 });
    expect(!result.ok && result.rejected === true).toBe(false);
    expect(fixture.cp.requests).toHaveLength(1);
  });

  it('a refused report carries none: it is dropped, nothing waits for it', async () => {
    fixture.cp.respondWith(reply.status(422, { 'retry-after': '7' }));
    const result = await client().send(REPORT);
    expect(!result.ok && result.rejected).toBe(true);
    expect(!result.ok && result.retryAfterMs).toBeUndefined();
  });
});
