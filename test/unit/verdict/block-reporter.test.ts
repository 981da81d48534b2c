import { describe, expect, it } from 'vitest';
import { createBlockReporter } from '../../../src/verdict/block-reporter.js';
import type { Traffic } from '../../../src/verdict/request-slots.js';
import type { ControlPlaneResult, VerdictClient, VerdictReport } from '../../../src/verdict/verdict-client.js';
import { captureLogs } from '../../integration/verdict/support.js';

const REPORT: VerdictReport = {
  agent: 'a',
  action: { kind: 'connect', target: '169.254.169.254:80', metadata: { source: 'egress' } },
  verdict: { decision: 'block', reason: 'metadata', evidence: [] },
};

/** A client whose answers are released by hand; `traffic` is what each send was marked as. */
function heldClient() {
  const release: (() => void)[] = [];
  const traffic: (Traffic | undefined)[] = [];
  const client: VerdictClient = {
    send: (_report, marked) =>
      new Promise<ControlPlaneResult>((resolve) => {
        traffic.push(marked);
        release.push(() => {
          resolve({ ok: true, answer: { kind: 'recorded', verdictId: null } });
        });
      }),
    close: () => Promise.resolve(),
  };
  return { client, release, traffic };
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

  it('sends reports as background traffic: they yield the control-plane slots to live verdicts', async () => {
    const { client, release, traffic } = heldClient();
    const reporter = createBlockReporter({ client, logger: captureLogs().logger });
    reporter.report(REPORT);
    reporter.report(REPORT);
    expect(traffic).toEqual(['background', 'background']);
    for (const done of release) done();
    await reporter.drain();
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
