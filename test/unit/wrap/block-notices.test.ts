import { describe, expect, it } from 'vitest';
import type { Decision } from '../../../src/contract/decision.js';
import { blockNotices } from '../../../src/wrap/block-notices.js';

const base: Decision = { decision: 'allow', enforce: 'forward', reason: 'ok', evidence: [], source: 'local', verdictId: null, flagged: false, wouldBlock: false };
const action = { kind: 'connect' as const, target: 'api.example.com:443', metadata: { source: 'egress' as const } };

function noticeFor(decision: Decision): string[] {
  const lines: string[] = [];
  blockNotices((line) => lines.push(line)).decided?.({ agent: 'a', action, decision, ms: 1 });
  return lines;
}

describe('wrap block notices', () => {
  it('says nothing for an allow', () => {
    expect(noticeFor(base)).toEqual([]);
  });

  it('names a block with its reason, on one line', () => {
    expect(noticeFor({ ...base, decision: 'block', enforce: 'refuse', reason: 'no\npastebin', source: 'control_plane' })).toEqual([
      'kaizen-proxy: blocked connect api.example.com:443: no pastebin\n',
    ]);
  });

  it('names a would-block in monitor mode', () => {
    expect(noticeFor({ ...base, decision: 'block', reason: 'policy', wouldBlock: true })).toEqual([
      'kaizen-proxy: would block connect api.example.com:443 (monitor mode): policy\n',
    ]);
  });

  it('tells a rate limit from a block', () => {
    expect(noticeFor({ ...base, decision: 'block', enforce: 'refuse', reason: 'client_rate', source: 'limit' })).toEqual([
      'kaizen-proxy: refused connect api.example.com:443: over limits.client_rate (429)\n',
    ]);
  });
});
