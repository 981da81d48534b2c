import { afterEach, expect, it } from 'vitest';
import { startBlackhole, type Blackhole } from '../../helpers/blackhole.js';
import { API_KEY, resilienceConfig, startResilientProxy, viaProxy, type RunningProxy } from './resilience-support.js';

/**
 * A control plane whose TCP accept never answers (a dead host, a firewall dropping SYNs): undici
 * keeps a request queued behind a connection still being made whatever its abort signal says, so
 * with more distinct actions in flight than the pool's 64 connections, clients waited one connect
 * timeout per 64 of them (500 clients: 16 s for a 1.5 s deadline). Each must be answered at its deadline.
 */
const DEADLINE_MS = 800;
/** Far more distinct actions at once than the pool has connections (64): five rounds of connect timeouts before. */
const CLIENTS = 320;
/** The deadline plus room for a loaded 2-core machine; one more round of connect timeouts would pass it. */
const ANSWER_BOUND_MS = DEADLINE_MS + 1200;

let blackhole: Blackhole | null = null;
let running: RunningProxy | null = null;

afterEach(async () => {
  if (running !== null) {
    await running.proxy.close();
    expect(running.logs.text()).not.toContain(API_KEY);
    running = null;
  }
  await blackhole?.close();
});

it('a control plane that never accepts: every one of 320 distinct actions gets its 503 at the deadline', async () => {
  blackhole = await startBlackhole();
  running = await startResilientProxy(resilienceConfig({ url: `http://127.0.0.1:${blackhole.port}`, timeoutMs: DEADLINE_MS }));
  const port = running.port;
  // Distinct destinations, so no verdict call is shared: each needs the control plane itself.
  const answers = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => viaProxy(port, `http://127.0.${1 + Math.floor(i / 200)}.${1 + (i % 200)}:9/`)));
  const statuses = new Set(answers.map((answer) => answer.status));
  expect([...statuses]).toEqual([503]);
  expect(answers.every((answer) => answer.headers['x-kaizen-reason']?.toString().includes('KZP_ERR_CONTROL_PLANE_TIMEOUT'))).toBe(true);
  const slowest = Math.max(...answers.map((answer) => answer.ms));
  expect(slowest).toBeLessThan(ANSWER_BOUND_MS);
  expect(slowest).toBeGreaterThanOrEqual(DEADLINE_MS - 50);
}, 60_000);
