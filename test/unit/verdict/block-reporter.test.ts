import { describe, expect, it } from 'vitest';
import { createBlockReporter } from '../../../src/verdict/block-reporter.js';
import type { ControlPlaneResult, VerdictClient, VerdictReport } from '../../../src/verdict/verdict-client.js';
import { captureLogs } from '../../integration/verdict/support.js';

const REPORT: VerdictReport = {
  agent: 'a',
  action: { kind: 'connect', target: '169.254.169.254:80', metadata: { source: 'egress' } },
  verdict: { decision: 'block', reason: 'metadata', evidence: [] },
};

/** A client whose answers are released by hand. */
function heldClient() {
  const release: (() => void)[] = [];
  const client: VerdictClient = {
    send: () =>
      new Promise<ControlPlaneResult>((resolve) => {
        release.push(() => {
          resolve({ ok: true, answer: { kind: 'recorded', verdictId: null } });
        });
      }),
    close: () => Promise.resolve(),
  };
  return { client, release };
}

describe('block reporter', () => {
  it('sends without waiting, caps reports in flight, and drains', async () => {
    const logs = captureLogs();
    const { client, release } = heldClient();
    const reporter = createBlockReporter({ client, logger: logs.logger, maxInFlight: 2 });
    reporter.report(REPORT);
    reporter.report(REPORT);
    reporter.report(REPORT);
    expect(release).toHaveLength(2);
    expect(logs.lines()).toContainEqual(expect.objectContaining({ level: 'warn', dropped: 1 }));
    let drained = false;
    const draining = reporter.drain().then(() => {
      drained = true;
    });
    await Promise.resolve();
    expect(drained).toBe(false);
    for (const done of release) done();
    await draining;
    expect(drained).toBe(true);
  });

  it('logs, never throws, when the client misbehaves', async () => {
    const logs = captureLogs();
    const client: VerdictClient = { send: () => Promise.reject(new Error('bug')), close: () => Promise.resolve() };
    const reporter = createBlockReporter({ client, logger: logs.logger });
    reporter.report(REPORT);
    await reporter.drain();
    expect(logs.lines()).toContainEqual(expect.objectContaining({ level: 'error', msg: 'block report failed unexpectedly' }));
  });
});
