import { afterEach, beforeEach, expect } from 'vitest';
import { reply, startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { API_KEY, resilienceConfig, startResilientProxy, type RunningProxy } from './resilience-support.js';

/** A fresh fake control plane (no synced policies) and origin per test, and the proxy a test starts on them. */
export interface ReplayFixture {
  readonly cp: FakeControlPlane;
  readonly origin: Origin;
  /** The proxy under test, with the control plane's deadline `timeoutMs`; closed after the test, its logs checked for the key. */
  start(): Promise<RunningProxy>;
}

/** Registers the hooks of a spool-replay test file; call at its top level. */
export function useReplayFixture(timeoutMs: number): ReplayFixture {
  let cp: FakeControlPlane | null = null;
  let origin: Origin | null = null;
  let running: RunningProxy | null = null;

  beforeEach(async () => {
    cp = await startFakeControlPlane();
    cp.routeWith('/v1/policy', reply.policies([]));
    origin = await startOrigin();
  });

  afterEach(async () => {
    if (running !== null) {
      await running.proxy.close();
      expect(running.logs.text()).not.toContain(API_KEY);
      running = null;
    }
    await cp?.close();
    await origin?.close();
  });

  const started = <T>(value: T | null, what: string): T => {
    if (value === null) throw new Error(`${what} is made in beforeEach`);
    return value;
  };
  return {
    get cp() {
      return started(cp, 'the control plane');
    },
    get origin() {
      return started(origin, 'the origin');
    },
    async start() {
      running = await startResilientProxy(resilienceConfig({ url: started(cp, 'the control plane').url, timeoutMs }));
      return running;
    },
  };
}
