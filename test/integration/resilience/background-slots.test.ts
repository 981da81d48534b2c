import { afterEach, expect, it } from 'vitest';
import { reply, startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { API_KEY, counter, eventually, resilienceConfig, startResilientProxy, viaProxy, type RunningProxy } from './resilience-support.js';

/**
 * Block reports share the control-plane client's 64 request slots with live verdicts. A burst of
 * them while the control plane is slow took every slot, so the verdicts of new destinations right
 * behind it waited most of an answer in the queue before they were even sent: with answers of
 * 1.2 s and a deadline of 2 s they came after about 2 s (a 503 at the deadline, or an allow just
 * before it), although the control plane answered each in 1.2 s. Background traffic now holds at
 * most a share of the slots and yields to waiting live verdicts, and still gets through once live
 * traffic is quiet.
 */
const DEADLINE_MS = 2000;
/** Each answer of the slow control plane: one wait in the queue plus one answer passes the deadline. */
const ANSWER_MS = 1200;
/** The block reporter's own bound on reports in flight: all of them at once, none spooled for overflow. */
const BLOCKED = 64;
/** New destinations right after the burst, each its own verdict call (one origin each: a target is host:port). */
const LIVE = 10;
/** One answer plus room for a loaded 2-core machine; waiting in the queue for the burst's answers passes it. */
const LIVE_BOUND_MS = ANSWER_MS + 450;

let cp: FakeControlPlane | null = null;
let origins: Origin[] = [];
let running: RunningProxy | null = null;

afterEach(async () => {
  if (running !== null) {
    await running.proxy.close();
    expect(running.logs.text()).not.toContain(API_KEY);
    running = null;
  }
  await Promise.all(origins.map((origin) => origin.close()));
  origins = [];
  await cp?.close();
  cp = null;
});

it('a burst of block reports while the control plane is slow: verdicts for new destinations right behind it are answered in time', async () => {
  cp = await startFakeControlPlane();
  cp.respondWith(reply.slow(ANSWER_MS, reply.allow()));
  origins = await Promise.all(Array.from({ length: LIVE }, () => startOrigin()));
  running = await startResilientProxy(resilienceConfig({ url: cp.url, timeoutMs: DEADLINE_MS }));
  const { port } = running;

  // Private addresses: the address guard blocks each at once and reports it in the background.
  const blocked = await Promise.all(Array.from({ length: BLOCKED }, (_, i) => viaProxy(port, `http://10.9.0.${1 + i}/`)));
  expect(new Set(blocked.map((answer) => answer.status))).toEqual(new Set([403]));

  const live = await Promise.all(origins.map((origin) => viaProxy(port, `${origin.url}/live`)));
  const statuses = live.map((answer) => answer.status);
  const slowest = Math.max(...live.map((answer) => answer.ms));
  expect({ statuses, answeredInTime: slowest < LIVE_BOUND_MS }).toEqual({ statuses: live.map(() => 200), answeredInTime: true });

  // Live traffic quiet, the control plane quick again: every block report gets through, those
  // that waited past their deadline for a slot through the spool.
  cp.respondWith(reply.allow());
  const seen = (): Set<string> => {
    const targets = new Set<string>();
    for (const request of cp?.requests ?? []) {
      const target = (request.body as { action?: { target?: unknown } } | undefined)?.action?.target;
      if (typeof target === 'string' && target.startsWith('10.9.0.')) targets.add(target);
    }
    return targets;
  };
  await eventually(() => seen().size === BLOCKED, 20_000, 'every block report at the control plane');
  const proxy = running;
  await eventually(async () => (await counter(proxy, 'kaizen_proxy_spool_pending_entries')) === 0, 20_000, 'the spool replayed');
  expect(await counter(running, 'kaizen_proxy_spool_spooled_total')).toBe(await counter(running, 'kaizen_proxy_spool_replayed_total'));
}, 60_000);
