import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Action } from '../../../src/contract/action.js';
import { createControlPlaneClient, type ControlPlaneClient } from '../../../src/verdict/control-plane-client.js';
import { parsePolicies } from '../../../src/verdict/policy/parse-policies.js';
import { createPolicyEngine, type PolicyEngine } from '../../../src/verdict/policy/policy-engine.js';
import { createPolicySync, type PolicySync } from '../../../src/verdict/policy/policy-sync.js';
import { reply, startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { API_KEY, captureLogs, type LogCapture } from './support.js';

const ORG = [{ name: 'org', mode: 'blocklist', rules: { domains: ['pastebin.com'] } }];
const BAD = [{ name: 'typo', mode: 'blocklist', rules: { domainz: ['example.com'] } }];

let cp: FakeControlPlane;
let logs: LogCapture;
let client: ControlPlaneClient;
let engine: PolicyEngine;
let sync: PolicySync;
let applied: number;

const connect = (target: string): Action => ({ kind: 'connect', target, metadata: { source: 'egress' } });
const AGENT = 'billing-bot+eu';
const decisionFor = (target: string): string => engine.evaluate(connect(target), [], AGENT).decision;

function startSync(intervalMs = 60_000, timeoutMs = 500, now?: () => number, random?: () => number): PolicySync {
  sync = createPolicySync({
    ...(now === undefined ? {} : { now }),
    ...(random === undefined ? {} : { random }),
    client,
    agent: AGENT,
    intervalMs,
    timeoutMs,
    logger: logs.logger,
    apply: (policies) => {
      applied += 1;
      return engine.setSyncedPolicies(AGENT, policies);
    },
  });
  return sync;
}

beforeEach(async () => {
  cp = await startFakeControlPlane();
  logs = captureLogs();
  client = createControlPlaneClient({ url: cp.url, apiKey: API_KEY, timeoutMs: 1000, logger: logs.logger });
  const file = parsePolicies([{ name: 'file', mode: 'blocklist', rules: { ips: ['203.0.113.0/24'] }, enabled: true }]);
  if (!file.ok) throw new Error('file policies invalid');
  engine = createPolicyEngine({ logger: logs.logger, file: file.policies });
  applied = 0;
});

afterEach(async () => {
  sync.stop();
  await client.close();
  await cp.close();
  expect(logs.text()).not.toContain(API_KEY);
});

describe('policy sync against a fake control plane', () => {
  it('fetches GET /v1/policy?agent=<url-encoded> with the bearer key, applies a valid set, then revalidates with If-None-Match', async () => {
    cp.routeWith('/v1/policy', reply.policies(ORG, '"v1"'), reply.notModified());
    expect(await startSync().syncNow()).toBe('updated');
    expect(cp.requests[0]).toMatchObject({ method: 'GET', path: '/v1/policy?agent=billing-bot%2Beu' });
    expect(cp.requests[0]?.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(cp.requests[0]?.headers['if-none-match']).toBeUndefined();
    expect(decisionFor('api.pastebin.com:443')).toBe('block');
    expect(engine.evaluate(connect('pastebin.com:443'), [], AGENT).reason).toBe('blocked by local policy synced "org" (domains)');

    expect(await sync.syncNow()).toBe('not_modified');
    expect(cp.requests[1]?.headers['if-none-match']).toBe('"v1"');
    expect(decisionFor('pastebin.com:443')).toBe('block');
    expect(applied).toBe(1);
  });

  it.each([
    ['an invalid policy', reply.policies(BAD), 'KZP_ERR_CONTROL_PLANE_ANSWER', /policies\.0\.rules\.domainz: policy synced "typo": unknown rule key/],
    ['a CIDR in a short form', reply.policies([{ name: 'short', mode: 'blocklist', rules: { ips: ['10/8'] } }]), 'KZP_ERR_CONTROL_PLANE_ANSWER', /policies\.0\.rules\.ips\.0: policy synced "short": "10\/8": not a CIDR range/],
    ['an answer that is not JSON', reply.garbage(), 'KZP_ERR_CONTROL_PLANE_ANSWER', /not JSON/],
    ['an answer without policies', reply.json(200, { policy: [] }), 'KZP_ERR_CONTROL_PLANE_ANSWER', /malformed at policies/],
    ['a 500', reply.status(500), 'KZP_ERR_CONTROL_PLANE_HTTP', /answered 500/],
    ['a refused key', reply.unauthorized(), 'KZP_ERR_CONTROL_PLANE_AUTH', /answered 401/],
    ['a slow answer', reply.slow(1500, reply.policies([])), 'KZP_ERR_CONTROL_PLANE_TIMEOUT', /within 500ms/],
  ])('keeps the last good set after %s, logs an error, and keeps revalidating with the good ETag', async (_name, failure, code, message) => {
    cp.routeWith('/v1/policy', reply.policies(ORG, '"v1"'), failure, reply.notModified());
    startSync();
    expect(await sync.syncNow()).toBe('updated');
    expect(await sync.syncNow()).toBe('failed');
    expect(decisionFor('pastebin.com:443')).toBe('block');
    expect(decisionFor('203.0.113.9:443')).toBe('block');
    const error = logs.lines().find((line) => typeof line['msg'] === 'string' && line['msg'].startsWith('policy sync failed'));
    expect(error).toMatchObject({ level: 'error', code, policies_in_force: 1, agent: AGENT });
    expect(error?.['msg']).toMatch(message);
    expect(await sync.syncNow()).toBe('not_modified');
    expect(cp.requests.at(-1)?.headers['if-none-match']).toBe('"v1"');
    expect(applied).toBe(1);
  });

  it('logs each different failure at once, even under one code, and counts held-back repeats with the failure they repeat', async () => {
    cp.routeWith(
      '/v1/policy',
      reply.policies(ORG),
      reply.policies([{ name: 'str', mode: 'blocklist', rules: { domains: 'pastebin.com' } }]),
      reply.policies([{ name: 'mode', mode: 'denylist', rules: {} }]),
      reply.garbage(),
      reply.garbage(),
      reply.garbage(),
      reply.json(200, {}),
      reply.json(200, { policies: null }),
      reply.status(500),
      reply.status(500),
      reply.policies(ORG),
    );
    // A clock that never moves: only a change of failure may log a new line.
    startSync(60_000, 500, () => 0);
    const outcomes: string[] = [];
    for (let i = 0; i < 11; i++) outcomes.push(await sync.syncNow());
    expect(outcomes).toEqual(['updated', ...Array<string>(9).fill('failed'), 'unchanged']);
    const lines = logs.lines().filter((line) => typeof line['msg'] === 'string' && line['msg'].startsWith('policy sync'));
    expect(lines.map((line) => [line['code'], line['suppressed'], line['msg']])).toEqual([
      ['KZP_ERR_CONTROL_PLANE_ANSWER', 0, expect.stringMatching(/^policy sync failed: policies\.0\.rules\.domains: policy synced "str": expected a list of strings;/)],
      ['KZP_ERR_CONTROL_PLANE_ANSWER', 0, expect.stringMatching(/^policy sync failed: policies\.0\.mode: policy synced "mode": unknown mode "denylist"/)],
      ['KZP_ERR_CONTROL_PLANE_ANSWER', 0, 'policy sync failed: policy answer is not JSON; keeping the last good policies'],
      ['KZP_ERR_CONTROL_PLANE_ANSWER', 2, 'policy sync failed 2 more time(s): policy answer is not JSON'],
      ['KZP_ERR_CONTROL_PLANE_ANSWER', 0, expect.stringMatching(/^policy sync failed: policy answer malformed at policies: /)],
      ['KZP_ERR_CONTROL_PLANE_ANSWER', 0, expect.stringMatching(/^policy sync failed: policy answer malformed at policies: /)],
      ['KZP_ERR_CONTROL_PLANE_HTTP', 0, expect.stringMatching(/^policy sync failed: .*answered 500/)],
      ['KZP_ERR_CONTROL_PLANE_HTTP', 1, expect.stringMatching(/^policy sync failed 1 more time\(s\): .*answered 500/)],
      [undefined, undefined, 'policy sync recovered'],
    ]);
    expect(decisionFor('pastebin.com:443')).toBe('block');
  });

  it('logs the same failure again after 10 minutes with the repeats held back, and the last held ones when it recovers', async () => {
    cp.routeWith('/v1/policy', reply.garbage(), reply.garbage(), reply.garbage(), reply.garbage(), reply.garbage(), reply.policies(ORG));
    let clock = 0;
    startSync(60_000, 500, () => clock);
    for (const at of [0, 1_000, 2_000, 600_000, 600_001]) {
      clock = at;
      expect(await sync.syncNow()).toBe('failed');
    }
    expect(await sync.syncNow()).toBe('updated');
    const lines = logs.lines().filter((line) => typeof line['msg'] === 'string' && line['msg'].startsWith('policy sync'));
    expect(lines.map((line) => [line['suppressed'], line['msg']])).toEqual([
      [0, 'policy sync failed: policy answer is not JSON; keeping the last good policies'],
      [2, 'policy sync failed: policy answer is not JSON; keeping the last good policies'],
      [1, 'policy sync failed 1 more time(s): policy answer is not JSON'],
      [undefined, 'policy sync recovered'],
    ]);
  });

  it('a valid empty set replaces the synced policies (the control plane removed them), the file\'s stay', async () => {
    cp.routeWith('/v1/policy', reply.policies(ORG), reply.policies([]));
    startSync();
    await sync.syncNow();
    expect(decisionFor('pastebin.com:443')).toBe('block');
    expect(await sync.syncNow()).toBe('updated');
    expect(decisionFor('pastebin.com:443')).toBe('allow');
    expect(decisionFor('203.0.113.9:443')).toBe('block');
  });

  it('a failing first sync leaves the file\'s policies in force, never allow-all', async () => {
    cp.routeWith('/v1/policy', reply.reset());
    expect(await startSync().start()).toBe('failed');
    expect(decisionFor('203.0.113.9:443')).toBe('block');
  });

  it('stop() abandons the fetch in flight: it ends as stopped long before its deadline, logs no failure, keeps the status', async () => {
    cp.routeWith('/v1/policy', reply.hang());
    const deadlineMs = 30_000;
    startSync(60_000, deadlineMs);
    const first = sync.start();
    await cp.waitForRequests(1);
    const stoppedAt = performance.now();
    sync.stop();
    expect(await first).toBe('stopped');
    // The pool closes at once too: no request of the sync's is left for it to wait on.
    await client.close();
    expect(performance.now() - stoppedAt).toBeLessThan(deadlineMs / 10);
    expect(sync.status).toBe('pending');
    expect(logs.lines().filter((line) => line['component'] === 'policy_sync')).toEqual([]);
  });

  it('syncs at start and then every interval until stopped; concurrent calls share one request', async () => {
    cp.routeWith('/v1/policy', reply.slow(100, reply.policies(ORG, '"v1"')), reply.notModified());
    startSync(200);
    const [first, second] = await Promise.all([sync.start(), sync.syncNow()]);
    expect([first, second]).toEqual(['updated', 'updated']);
    expect(cp.requests).toHaveLength(1);
    await cp.waitForRequests(3, 3000);
    sync.stop();
    const seen = cp.requests.length;
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect(cp.requests.length).toBe(seen);
  });

  it('waits a jittered interval between syncs: one draw per wait, each wait at least what its draw says', async () => {
    cp.routeWith('/v1/policy', reply.policies(ORG, '"v1"'), reply.notModified());
    const draws = [0, 0.5, 0.99];
    let drawn = 0;
    startSync(300, 500, undefined, () => draws[drawn++ % draws.length] ?? 0);
    expect(await sync.start()).toBe('updated');
    // The first sync is immediate: the one draw so far is for the wait after it.
    expect(cp.requests).toHaveLength(1);
    expect(drawn).toBe(1);
    await cp.waitForRequests(4, 5000);
    sync.stop();
    expect(drawn).toBeGreaterThanOrEqual(3);
    // Each wait starts once the sync before it has ended, so the next request comes no sooner than
    // its draw says (0.9, 0.95 and 0.999 of the interval; the timer's clock is whole milliseconds).
    const at = cp.requests.map((request) => request.at);
    [270, 285, 300].forEach((wait, index) => {
      expect((at[index + 1] ?? 0) - (at[index] ?? 0)).toBeGreaterThanOrEqual(wait - 2);
    });
  });

  it('a sync stopped while its set is being applied ends stopped: the apply is told, nothing more is logged', async () => {
    cp.routeWith('/v1/policy', reply.policies(ORG, '"v1"'));
    let release: (changed: boolean) => void = () => undefined;
    let applying: (stop: AbortSignal) => void = () => undefined;
    const applied = new Promise<AbortSignal>((resolve) => {
      applying = resolve;
    });
    sync = createPolicySync({
      client,
      agent: AGENT,
      intervalMs: 60_000,
      timeoutMs: 500,
      logger: logs.logger,
      apply: (_policies, stop) => {
        applying(stop);
        return new Promise<boolean>((resolve) => {
          release = resolve;
        });
      },
    });
    const outcome = sync.syncNow();
    const signal = await applied;
    expect(signal.aborted).toBe(false);
    sync.stop();
    expect(signal.aborted).toBe(true);
    release(true);
    expect(await outcome).toBe('stopped');
    expect(sync.status).toBe('pending');
    expect(logs.text()).not.toContain('synced policies updated');
  });
});
