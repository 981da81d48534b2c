import { afterEach, beforeEach, expect } from 'vitest';
import { createControlPlaneClient, type ControlPlaneClientOptions } from '../../../src/verdict/control-plane-client.js';
import type { ControlPlaneResult, VerdictClient, VerdictReport } from '../../../src/verdict/verdict-client.js';
import { startFakeControlPlane, type FakeControlPlane } from '../../helpers/fake-control-plane.js';
import { API_KEY, captureLogs, connectAction, type LogCapture } from './support.js';

export const REPORT: VerdictReport = {
  agent: 'test-agent',
  action: connectAction('api.stripe.com:443'),
  verdict: { decision: 'allow', reason: 'no local policy matched', evidence: [] },
};

/** A fresh fake control plane and log capture per test, and the clients a test makes on them. */
export interface ClientFixture {
  readonly cp: FakeControlPlane;
  readonly logs: LogCapture;
  /** A client of the fake control plane (deadline 2 s unless changed); closed after the test. */
  readonly client: (changes?: Partial<ControlPlaneClientOptions>) => VerdictClient;
}

/** Registers the hooks of a control-plane client test file; call at its top level. */
export function useClientFixture(): ClientFixture {
  let cp: FakeControlPlane | null = null;
  let logs: LogCapture | null = null;
  const clients: VerdictClient[] = [];

  beforeEach(async () => {
    cp = await startFakeControlPlane();
    logs = captureLogs();
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await cp?.close();
    expect(logs?.text()).not.toContain(API_KEY);
  });

  const started = <T>(value: T | null, what: string): T => {
    if (value === null) throw new Error(`${what} is made in beforeEach`);
    return value;
  };
  const fixture: ClientFixture = {
    get cp() {
      return started(cp, 'the control plane');
    },
    get logs() {
      return started(logs, 'the log capture');
    },
    client: (changes = {}) => {
      const created = createControlPlaneClient({ url: fixture.cp.url, apiKey: API_KEY, timeoutMs: 2000, logger: fixture.logs.logger, ...changes });
      clients.push(created);
      return created;
    },
  };
  return fixture;
}

export function failureCode(result: ControlPlaneResult): string {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.answer)}`);
  return result.error.code;
}
