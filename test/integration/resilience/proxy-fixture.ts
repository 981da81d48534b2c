import { afterEach, beforeEach, expect } from 'vitest';
import { reply, startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import type { ProxyConfig } from '../../../src/config/types.js';
import { API_KEY, resilienceConfig, startResilientProxy, type ResilienceConfig, type RunningProxy } from './resilience-support.js';

/** resilienceConfig's changes, but the control plane's URL, which is the fixture's. */
export type FixtureChanges = Omit<ResilienceConfig, 'url'>;

/** A fresh fake control plane (no synced policies until a test routes some) and origin per test, and the proxy a test starts on them. */
export interface ProxyFixture {
  readonly cp: FakeControlPlane;
  readonly origin: Origin;
  /**
   * The proxy under test: resilienceConfig with the fixture's defaults, then `changes`, then `extra`
   * over the whole configuration; closed after the test, its logs checked for the key.
   */
  start(changes?: FixtureChanges, extra?: Partial<ProxyConfig>): Promise<RunningProxy>;
  /** The proxy a test started, if any. */
  readonly running: RunningProxy | null;
}

/** Registers the hooks of a spool-replay test file (the control plane's deadline `timeoutMs`); call at its top level. */
export function useReplayFixture(timeoutMs: number): ProxyFixture {
  return useProxyFixture({ timeoutMs });
}

/** Registers the hooks of a test file of the whole proxy against a fake control plane; call at its top level. */
export function useProxyFixture(defaults: FixtureChanges = {}): ProxyFixture {
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
    get running() {
      return running;
    },
    async start(changes = {}, extra = {}) {
      running = await startResilientProxy({ ...resilienceConfig({ ...defaults, ...changes, url: started(cp, 'the control plane').url }), ...extra });
      return running;
    },
  };
}
