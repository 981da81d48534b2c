import { describe, expect, it } from 'vitest';
import { createControlPlaneClient, type ControlPlaneClient } from '../../../src/verdict/control-plane-client.js';
import type { PolicyFetchResult } from '../../../src/verdict/policy/policy-client.js';
import type { ControlPlaneResult } from '../../../src/verdict/verdict-client.js';
import { reply } from '../../helpers/fake-control-plane.js';
import { API_KEY } from './support.js';
import { REPORT, useClientFixture } from './client-fixture.js';

/**
 * A request that waited in the client's queue for one of its 64 request slots until its deadline
 * was never sent: its failure keeps KZP_ERR_CONTROL_PLANE_TIMEOUT but says it was not sent, where
 * one sent and left unanswered says the control plane did not answer. The slots are held here by
 * policy fetches to a control plane that never answers them, with a deadline far past the verdicts'.
 */
const fixture = useClientFixture();
const SLOTS = 64;
const DEADLINE_MS = 300;

function failure(result: ControlPlaneResult | PolicyFetchResult): { readonly code: string; readonly message: string } {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result)}`);
  return { code: result.error.code, message: result.error.message };
}

/** `count` (every one by default) of the slots of `client` held by a policy fetch that hangs until `stop` aborts. */
async function holdEverySlot(client: ControlPlaneClient, stop: AbortSignal, count = SLOTS): Promise<Promise<unknown>[]> {
  fixture.cp.routeWith('/v1/policy', reply.hang());
  const held = Array.from({ length: count }, (_, i) => client.fetchPolicies(`holder-${i}`, null, 60_000, stop));
  await fixture.cp.waitForRequests(count);
  return held;
}

describe('control-plane client: a request that never got a request slot', () => {
  it('fails KZP_ERR_CONTROL_PLANE_TIMEOUT saying it was not sent, live, background and policy fetches alike', async () => {
    const client = createControlPlaneClient({ url: fixture.cp.url, apiKey: API_KEY, timeoutMs: DEADLINE_MS, logger: fixture.logs.logger });
    const stop = new AbortController();
    try {
      const held = await holdEverySlot(client, stop.signal);
      const notSent = `control plane request not sent: no free request slot within ${DEADLINE_MS}ms`;
      expect(failure(await client.send(REPORT))).toEqual({ code: 'KZP_ERR_CONTROL_PLANE_TIMEOUT', message: notSent });
      expect(failure(await client.send(REPORT, 'background'))).toEqual({ code: 'KZP_ERR_CONTROL_PLANE_TIMEOUT', message: notSent });
      expect(failure(await client.fetchPolicies('late', null, DEADLINE_MS))).toEqual({
        code: 'KZP_ERR_CONTROL_PLANE_TIMEOUT',
        message: `policy request not sent: no free request slot within ${DEADLINE_MS}ms`,
      });
      // Nothing of them reached the control plane; the warning says what happened.
      expect(fixture.cp.requests.filter((request) => request.path === '/v1/verdicts')).toEqual([]);
      expect(fixture.logs.lines()).toContainEqual(expect.objectContaining({ level: 'warn', code: 'KZP_ERR_CONTROL_PLANE_TIMEOUT', msg: notSent }));

      // The slots given back, a request sent and left unanswered still says the control plane did not answer.
      stop.abort();
      await Promise.all(held);
      fixture.cp.respondWith(reply.hang());
      expect(failure(await client.send(REPORT))).toEqual({ code: 'KZP_ERR_CONTROL_PLANE_TIMEOUT', message: `control plane did not answer within ${DEADLINE_MS}ms` });
      expect(fixture.cp.requests.filter((request) => request.path === '/v1/verdicts')).toHaveLength(1);
    } finally {
      stop.abort();
      await client.close();
    }
  });

  it('a retry that never got a slot keeps the failure of the attempt that was sent: not "not sent", its Retry-After kept', async () => {
    const client = createControlPlaneClient({ url: fixture.cp.url, apiKey: API_KEY, timeoutMs: DEADLINE_MS, logger: fixture.logs.logger });
    const stop = new AbortController();
    try {
      const held = await holdEverySlot(client, stop.signal, SLOTS - 1);
      fixture.cp.respondWith(reply.tooMany('0'));
      // The verdict takes the last slot; a policy fetch queued behind it takes that slot once its 429 is read.
      const verdict = client.send(REPORT);
      const queued = client.fetchPolicies('queued', null, 60_000, stop.signal);
      const result = await verdict;
      expect(fixture.cp.requests.filter((request) => request.path === '/v1/verdicts')).toHaveLength(1);
      expect(failure(result)).toEqual({ code: 'KZP_ERR_CONTROL_PLANE_HTTP', message: 'control plane answered 429' });
      // Its Retry-After goes with it, for the spool replay to honour.
      expect(result).toMatchObject({ ok: false, retryAfterMs: 0 });
      stop.abort();
      await Promise.all([...held, queued]);
    } finally {
      stop.abort();
      await client.close();
    }
  });
});
