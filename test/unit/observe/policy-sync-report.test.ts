import { describe, expect, it } from 'vitest';
import { policySyncReport } from '../../../src/observe/readiness.js';

describe('the policy sync on /readyz', () => {
  it('counts the agents per status and sums them up by the worst, naming none of them', () => {
    const report = policySyncReport([
      { agent: 'ci-bot', status: 'ok' },
      { agent: 'billing-bot', status: 'failing' },
      { agent: 'ops-bot', status: 'ok' },
      { agent: 'new-bot', status: 'pending' },
    ]);
    expect(report).toEqual({ status: 'failing', counts: { none: 0, ok: 2, pending: 1, failing: 1 } });
    expect(JSON.stringify(report)).not.toMatch(/bot/);
  });

  it('reports every status, at 0, when no agent is in it', () => {
    expect(policySyncReport([])).toEqual({ status: 'none', counts: { none: 0, ok: 0, pending: 0, failing: 0 } });
    expect(policySyncReport([{ agent: 'egress-agent', status: 'pending' }])).toEqual({ status: 'pending', counts: { none: 0, ok: 0, pending: 1, failing: 0 } });
  });
});
