import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { VERSION } from '../../../src/version.js';
import { reply } from '../../helpers/fake-control-plane.js';
import { API_KEY } from './support.js';
import { failureCode, REPORT, useClientFixture } from './client-fixture.js';

const fixture = useClientFixture();
const client = fixture.client;

describe('control-plane client: the request', () => {
  it('POSTs the report to /v1/verdicts with bearer auth, JSON and a versioned User-Agent', async () => {
    await client().send(REPORT);
    expect(fixture.cp.requests).toHaveLength(1);
    const [request] = fixture.cp.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/v1/verdicts');
    expect(request?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['user-agent']).toBe(`kaizen-proxy/${VERSION}`);
    expect(request?.body).toEqual({
      schema_version: '1',
      agent: 'test-agent',
      action: { kind: 'connect', target: 'api.stripe.com:443', metadata: { source: 'egress' } },
      verdict: { decision: 'allow', reason: 'no local policy matched', evidence: [], confidence: null },
    });
  });

  it('keeps a path prefix of the base URL and drops its trailing slash', async () => {
    await client({ url: `${fixture.cp.url}/kaizen/` }).send(REPORT);
    expect(fixture.cp.requests[0]?.path).toBe('/kaizen/v1/verdicts');
  });

  it('reuses one keep-alive connection for sequential verdicts', async () => {
    const c = client();
    for (let i = 0; i < 20; i += 1) await c.send(REPORT);
    expect(fixture.cp.requests).toHaveLength(20);
    // undici may open a second socket while the first is still finishing its exchange; never one per verdict.
    expect(fixture.cp.connections).toBeLessThanOrEqual(2);
  });
});

describe('control-plane client: answers', () => {
  it('allow and block with reason, evidence, confidence and id', async () => {
    fixture.cp.respondWith(reply.allow({ id: 'v-1', confidence: 0.9 }), reply.block({ verdict_id: 'v-2', id: undefined }));
    const c = client();
    expect(await c.send(REPORT)).toEqual({
      ok: true,
      answer: { kind: 'verdict', decision: 'allow', flagged: false, reported: 'allow', reason: 'fake control plane says allow', evidence: [], confidence: 0.9, verdictId: 'v-1' },
    });
    const blocked = await c.send(REPORT);
    expect(blocked.ok && blocked.answer).toMatchObject({
      kind: 'verdict',
      decision: 'block',
      evidence: [{ kind: 'baseline', value: 'never seen', source: 'fake' }],
      verdictId: 'v-2',
    });
  });

  it('a decision under `verdict` wins', async () => {
    fixture.cp.respondWith(reply.wrapped('block'));
    const result = await client().send(REPORT);
    expect(result.ok && result.answer).toMatchObject({ kind: 'verdict', decision: 'block', reason: 'fake control plane (wrapped) says block' });
  });

  it('`{}`, `{"id"}` and an empty 2xx mean recorded, no opinion', async () => {
    fixture.cp.respondWith(reply.empty(), reply.recorded('v-42'), reply.blank(204), reply.blank(200), reply.blank(202, ' \n'));
    const c = client();
    expect(await c.send(REPORT)).toEqual({ ok: true, answer: { kind: 'recorded', verdictId: null } });
    expect(await c.send(REPORT)).toEqual({ ok: true, answer: { kind: 'recorded', verdictId: 'v-42' } });
    for (let i = 0; i < 3; i += 1) expect(await c.send(REPORT)).toEqual({ ok: true, answer: { kind: 'recorded', verdictId: null } });
  });

  it('`anomaly` is allow-and-flag, logged at warn', async () => {
    fixture.cp.respondWith(reply.anomaly());
    const result = await client().send(REPORT);
    expect(result.ok && result.answer).toMatchObject({ kind: 'verdict', decision: 'allow', flagged: true, reported: 'anomaly' });
    expect(fixture.logs.lines()).toContainEqual(expect.objectContaining({ level: 'warn', reported_decision: 'anomaly' }));
  });

  it.each([
    ['garbage', reply.garbage()],
    ['truncated', reply.truncated()],
    ['a JSON array', reply.json(200, [{ decision: 'allow' }])],
    ['a decision that is not a string', reply.json(200, { decision: 1 })],
    ['`verdict` that is not an object', reply.json(200, { verdict: 'block' })],
  ])('%s is KZP_ERR_CONTROL_PLANE_ANSWER, not retried', async (_name, answer) => {
    fixture.cp.respondWith(answer);
    expect(failureCode(await client().send(REPORT))).toBe('KZP_ERR_CONTROL_PLANE_ANSWER');
    expect(fixture.cp.requests).toHaveLength(1);
  });

  it('a block whose evidence and confidence are of the wrong shape is still a block; one warning names the fields', async () => {
    fixture.cp.respondWith(reply.json(200, { decision: 'block', reason: 'exfil', evidence: 'everything', confidence: 95, id: 'v-7' }));
    const result = await client().send(REPORT);
    expect(result).toMatchObject({ ok: true, answer: { kind: 'verdict', decision: 'block', reason: 'exfil', evidence: [], confidence: null, verdictId: 'v-7' } });
    expect(fixture.cp.requests).toHaveLength(1);
    const warnings = fixture.logs.lines().filter((line) => line['level'] === 'warn');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ ignored_fields: ['evidence', 'confidence'], verdict_id: 'v-7', target: 'api.stripe.com:443' });
    expect(warnings[0]?.['msg']).toContain('ignored them, kept its decision');
  });
});

describe('control-plane client: a 2xx that is no verdict answer', () => {
  it.each([
    ['garbage', true, reply.garbage()],
    ['a decision that is not a string', true, reply.json(200, { decision: 1 })],
    ['too large', true, reply.blank(200, `"${'x'.repeat(300 * 1024)}"`)],
    ['truncated (the answer never arrived whole)', false, reply.truncated()],
  ])('%s: delivered is %s (a replay takes it as acknowledged; a live call has no verdict)', async (_name, delivered, answer) => {
    fixture.cp.respondWith(answer);
    const result = await client().send(REPORT);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.delivered === true).toBe(delivered);
  });
});

describe('control-plane client: retry inside the deadline', () => {
  it.each([500, 502, 503])('retries once after %i, then takes the answer', async (status) => {
    fixture.cp.respondWith(reply.status(status), reply.block());
    const result = await client().send(REPORT);
    expect(result.ok && result.answer).toMatchObject({ decision: 'block' });
    expect(fixture.cp.requests).toHaveLength(2);
  });

  it('gives up after one retry: KZP_ERR_CONTROL_PLANE_HTTP', async () => {
    fixture.cp.respondWith(reply.status(500));
    expect(failureCode(await client().send(REPORT))).toBe('KZP_ERR_CONTROL_PLANE_HTTP');
    expect(fixture.cp.requests).toHaveLength(2);
  });

  it('retries once after a connection reset', async () => {
    fixture.cp.respondWith(reply.reset(), reply.allow());
    const result = await client().send(REPORT);
    expect(result.ok).toBe(true);
    expect(fixture.cp.requests).toHaveLength(2);
  });

  it('retries once after a reset in the middle of the answer, then takes the answer', async () => {
    fixture.cp.respondWith(reply.resetMidBody(), reply.block());
    const result = await client().send(REPORT);
    expect(result.ok && result.answer).toMatchObject({ decision: 'block' });
    expect(fixture.cp.requests).toHaveLength(2);
  });

  it('a reset mid-answer twice is KZP_ERR_CONTROL_PLANE_NETWORK within the deadline', async () => {
    fixture.cp.respondWith(reply.resetMidBody());
    const started = performance.now();
    expect(failureCode(await client({ timeoutMs: 1000 }).send(REPORT))).toBe('KZP_ERR_CONTROL_PLANE_NETWORK');
    expect(fixture.cp.requests).toHaveLength(2);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('a reset twice is KZP_ERR_CONTROL_PLANE_NETWORK', async () => {
    fixture.cp.respondWith(reply.reset());
    expect(failureCode(await client().send(REPORT))).toBe('KZP_ERR_CONTROL_PLANE_NETWORK');
    expect(fixture.cp.requests).toHaveLength(2);
  });

  it('honours Retry-After when it fits in the deadline', async () => {
    fixture.cp.respondWith(reply.tooMany('1'), reply.allow());
    const started = performance.now();
    const result = await client({ timeoutMs: 4000 }).send(REPORT);
    expect(result.ok).toBe(true);
    expect(fixture.cp.requests).toHaveLength(2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(900);
  });

  it('fails at once when Retry-After does not fit in the deadline', async () => {
    fixture.cp.respondWith(reply.tooMany('30'), reply.allow());
    const started = performance.now();
    expect(failureCode(await client({ timeoutMs: 1000 }).send(REPORT))).toBe('KZP_ERR_CONTROL_PLANE_HTTP');
    expect(fixture.cp.requests).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(900);
  });

  it('a failure carries the last attempt\'s Retry-After (for the spool replay), none without the header', async () => {
    fixture.cp.respondWith(reply.tooMany('30'));
    expect(await client({ timeoutMs: 1000 }).send(REPORT)).toMatchObject({ ok: false, retryAfterMs: 30_000 });
    fixture.cp.respondWith(reply.status(500), reply.status(503, { 'retry-after': '7' }));
    expect(await client().send(REPORT)).toMatchObject({ ok: false, retryAfterMs: 7000 });
    fixture.cp.respondWith(reply.status(500));
    const plain = await client().send(REPORT);
    expect(!plain.ok && plain.retryAfterMs).toBeUndefined();
  });

  it('keeps the deadline when the control plane is slow: KZP_ERR_CONTROL_PLANE_TIMEOUT', async () => {
    fixture.cp.respondWith(reply.slow(10_000));
    const started = performance.now();
    expect(failureCode(await client({ timeoutMs: 300 }).send(REPORT))).toBe('KZP_ERR_CONTROL_PLANE_TIMEOUT');
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('keeps the deadline across a retry', async () => {
    fixture.cp.respondWith(reply.status(503), reply.hang());
    const started = performance.now();
    expect(failureCode(await client({ timeoutMs: 300 }).send(REPORT))).toBe('KZP_ERR_CONTROL_PLANE_TIMEOUT');
    expect(fixture.cp.requests).toHaveLength(2);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe('control-plane client: failures', () => {
  it('401 and 403 are KZP_ERR_CONTROL_PLANE_AUTH, logged at error at most once a minute', async () => {
    fixture.cp.respondWith(reply.unauthorized(), reply.forbidden(), reply.unauthorized());
    const c = client();
    expect(failureCode(await c.send(REPORT))).toBe('KZP_ERR_CONTROL_PLANE_AUTH');
    expect(failureCode(await c.send(REPORT))).toBe('KZP_ERR_CONTROL_PLANE_AUTH');
    expect(failureCode(await c.send(REPORT))).toBe('KZP_ERR_CONTROL_PLANE_AUTH');
    expect(fixture.cp.requests).toHaveLength(3);
    const errors = fixture.logs.lines().filter((line) => line['level'] === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'KZP_ERR_CONTROL_PLANE_AUTH' });
  });

  it('logs the auth error again once the minute has passed', async () => {
    let clock = 0;
    fixture.cp.respondWith(reply.unauthorized());
    const c = client({ now: () => clock });
    await c.send(REPORT);
    clock += 30_000;
    await c.send(REPORT);
    clock += 31_000;
    await c.send(REPORT);
    const errors = fixture.logs.lines().filter((line) => line['level'] === 'error');
    expect(errors).toHaveLength(2);
    expect(errors[1]).toMatchObject({ suppressed: 1 });
  });

  it.each([
    [400, true],
    [413, true],
    [415, true],
    [422, true],
    [404, false],
    [405, false],
    [409, true],
    [410, false],
  ])('%i is KZP_ERR_CONTROL_PLANE_HTTP, not retried; the report itself refused: %s', async (status, rejected) => {
    fixture.cp.respondWith(reply.status(status));
    const result = await client().send(REPORT);
    expect(failureCode(result)).toBe('KZP_ERR_CONTROL_PLANE_HTTP');
    expect(!result.ok && result.rejected === true).toBe(rejected);
    expect(fixture.cp.requests).toHaveLength(1);
  });

  it('a refused connection is KZP_ERR_CONTROL_PLANE_NETWORK', async () => {
    const closedPort = await unusedPort();
    expect(failureCode(await client({ url: `http://127.0.0.1:${closedPort}` }).send(REPORT))).toBe('KZP_ERR_CONTROL_PLANE_NETWORK');
  });

  it('a closed client answers a failure without a request', async () => {
    const c = client();
    await c.close();
    expect(failureCode(await c.send(REPORT))).toBe('KZP_ERR_CONTROL_PLANE_NETWORK');
    expect(fixture.cp.requests).toHaveLength(0);
  });
});

describe('control-plane client: construction', () => {
  it('warns when the URL is plain http:// beyond loopback', () => {
    client({ url: 'http://kaizen.example.com' });
    expect(fixture.logs.lines()).toContainEqual(expect.objectContaining({ level: 'warn', control_plane: 'http://kaizen.example.com' }));
  });

  it.each(['http://127.0.0.1:9', 'http://localhost:9', 'http://[::1]:9', 'https://kaizen.example.com'])('does not warn for %s', (url) => {
    client({ url });
    expect(fixture.logs.lines().filter((line) => line['level'] === 'warn')).toEqual([]);
  });

  it('never logs the API key or a body, even at trace level', async () => {
    fixture.cp.respondWith(reply.unauthorized(), reply.status(500), reply.garbage(), reply.anomaly(), reply.reset());
    const c = client();
    for (let i = 0; i < 6; i += 1) await c.send(REPORT);
    expect(fixture.logs.text()).not.toContain(API_KEY);
    expect(fixture.logs.text()).not.toContain('not a verdict');
    expect(fixture.logs.text()).not.toContain('schema_version');
  });
});

async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
