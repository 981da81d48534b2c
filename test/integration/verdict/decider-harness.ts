/** The set-up the decider tests share: a fake control plane, a log capture and the deciders made, fresh for each test. */
import { afterEach, beforeEach, expect } from 'vitest';
import { createAddressGuard } from '../../../src/net/address-guard.js';
import { createDecider, type CreateDeciderOptions, type KaizenDecider } from '../../../src/verdict/create-decider.js';
import { startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { API_KEY, captureLogs, testConfig, type ConfigChanges, type LogCapture } from './support.js';

export interface DeciderHarness {
  /** This test's fake control plane. */
  readonly cp: FakeControlPlane;
  /** This test's log lines. */
  readonly logs: LogCapture;
  /** A decider on the embedded defaults, pointed at `cp` and logging into `logs`; closed after the test. */
  readonly decider: (changes?: ConfigChanges, extra?: Partial<CreateDeciderOptions>) => KaizenDecider;
}

/**
 * Registers the per-test set-up and tear-down (every decider closed, and no log line may carry the
 * API key). `options` adds to every decider's options (a local policy, say); `extra` wins over both.
 */
export function useDeciderHarness(options: (logs: LogCapture) => Partial<CreateDeciderOptions> = () => ({})): DeciderHarness {
  let cp: FakeControlPlane | null = null;
  let logs: LogCapture | null = null;
  const deciders: KaizenDecider[] = [];

  beforeEach(async () => {
    cp = await startFakeControlPlane();
    logs = captureLogs();
  });

  afterEach(async () => {
    await Promise.all(deciders.splice(0).map((d) => d.close()));
    await cp?.close();
    expect(logs?.text()).not.toContain(API_KEY);
  });

  const harness: DeciderHarness = {
    get cp(): FakeControlPlane {
      if (cp === null) throw new Error('the fake control plane starts before each test');
      return cp;
    },
    get logs(): LogCapture {
      if (logs === null) throw new Error('the log capture starts before each test');
      return logs;
    },
    decider: (changes = {}, extra = {}) => {
      const created = createDecider({
        config: testConfig({ url: harness.cp.url, ...changes }),
        logger: harness.logs.logger,
        guard: createAddressGuard({ allowPrivate: [] }),
        ...options(harness.logs),
        ...extra,
      });
      deciders.push(created);
      return created;
    },
  };
  return harness;
}
