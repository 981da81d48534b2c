import { describe, expect, it } from 'vitest';
import type { Action } from '../../../src/contract/action.js';
import type { Decision } from '../../../src/contract/decision.js';
import { field } from '../../../src/observe/info-line.js';
import { closedSegment, decisionSegment } from '../../../src/proxy/line-segments.js';

// The remembered text must always be what the fields would be written as now.

const decision = (overrides: Partial<Decision> = {}): Decision => ({
  decision: 'allow',
  enforce: 'forward',
  reason: 'allowed by policy',
  evidence: [],
  source: 'cache',
  verdictId: 'v-1',
  flagged: false,
  wouldBlock: false,
  ...overrides,
});

const connect = (target: string): Action => ({ kind: 'connect', target, metadata: { source: 'egress' } });
const http = (target: string, method: string): Action => ({ kind: 'http', target, metadata: { source: 'egress', method, path: '/', scheme: 'http' } });

function decisionFields(agent: string, action: Action, decided: Decision): string {
  return (
    field('agent', agent) +
    field('kind', action.kind) +
    field('target', action.target) +
    field('method', action.metadata.method ?? (action.kind === 'connect' ? 'CONNECT' : null)) +
    field('decision', decided.decision) +
    field('reason', decided.reason) +
    field('source', decided.source) +
    field('verdict_id', decided.verdictId)
  );
}

describe('decisionSegment', () => {
  it('writes the fields anew whenever one of them differs from the text remembered for the target', () => {
    const target = 'example.com:443';
    const asked: [string, Action, Decision][] = [
      ['agent', connect(target), decision()],
      ['agent', connect(target), decision()],
      ['other "agent"', connect(target), decision()],
      ['agent', http(target, 'GET'), decision()],
      ['agent', http(target, 'POST'), decision()],
      ['agent', connect(target), decision({ decision: 'block', enforce: 'refuse' })],
      ['agent', connect(target), decision({ reason: 'a "new"\nreason' })],
      ['agent', connect(target), decision({ source: 'control_plane' })],
      ['agent', connect(target), decision({ verdictId: null })],
      ['agent', connect(target), decision({ verdictId: 'v-2' })],
      ['agent', connect(target), decision()],
    ];
    for (const [agent, action, decided] of asked) expect(decisionSegment(agent, action, decided)).toBe(decisionFields(agent, action, decided));
  });

  it('stays right for more targets than it remembers', () => {
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 3000; i++) {
        const action = connect(`host-${String(i)}.example:443`);
        const decided = decision({ verdictId: `v-${String(round)}` });
        expect(decisionSegment('agent', action, decided)).toBe(decisionFields('agent', action, decided));
      }
    }
  });
});

describe('closedSegment', () => {
  it('writes kind, target and status as they are now', () => {
    const asked: [('connect' | 'http' | 'upgrade'), string | null, number][] = [
      ['connect', 'example.com:443', 200],
      ['connect', 'example.com:443', 200],
      ['connect', 'example.com:443', 502],
      ['http', 'example.com:443', 502],
      ['upgrade', 'example.com:443', 101],
      ['http', null, 400],
      ['connect', 'example.com:443', 200],
    ];
    for (const [kind, target, status] of asked) expect(closedSegment(kind, target, status)).toBe(field('kind', kind) + field('target', target) + field('status', status));
  });
});
