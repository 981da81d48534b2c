import { describe, expect, it } from 'vitest';
import type { Action } from '../../../src/contract/action.js';
import type { Decision } from '../../../src/contract/decision.js';
import { EgressTally } from '../../../src/wrap/egress-tally.js';
import { formatBytes, formatSummaryTable } from '../../../src/wrap/summary-table.js';
import { shortLine } from '../../../src/wrap/short-line.js';

const allow: Decision = { decision: 'allow', enforce: 'forward', reason: 'ok', evidence: [], source: 'local', verdictId: null, flagged: false, wouldBlock: false };
const block: Decision = { ...allow, decision: 'block', enforce: 'refuse', reason: 'not on the list', source: 'control_plane' };
const action = (kind: Action['kind'], target: string): Action => ({ kind, target, metadata: { source: 'egress' } });

function feed(tally: EgressTally, kind: Action['kind'], target: string, decision: Decision, up: number, down: number): void {
  tally.decided({ agent: 'a', action: action(kind, target), decision, ms: 1 });
  tally.closed({ agent: 'a', action: action(kind, target), status: decision.enforce === 'refuse' ? 403 : 200, bytesUp: up, bytesDown: down, durationMs: 1 });
}

describe('exit summary', () => {
  it('tallies per kind and destination, blocked first, then by count', () => {
    const tally = new EgressTally();
    feed(tally, 'connect', 'api.example.com:443', allow, 100, 5000);
    feed(tally, 'http', 'cdn.example.com:80', allow, 10, 20);
    feed(tally, 'http', 'cdn.example.com:80', allow, 10, 20);
    feed(tally, 'connect', 'evil.example:443', block, 0, 0);
    feed(tally, 'connect', 'api.example.com:443', block, 0, 0);
    const rows = tally.rows();
    expect(rows.map((r) => [r.decision, r.kind, r.target, r.count, r.bytesUp, r.bytesDown])).toEqual([
      ['block', 'connect', 'evil.example:443', 1, 0, 0],
      ['mixed', 'connect', 'api.example.com:443', 2, 100, 5000],
      ['allow', 'http', 'cdn.example.com:80', 2, 20, 40],
    ]);
    expect(formatSummaryTable('bot', rows)).toBe(
      [
        'kaizen-proxy: agent bot: 3 destinations, 2 blocked',
        '  DECISION  KIND     DESTINATION          COUNT          SENT   RECEIVED  REASON',
        '  block     connect  evil.example:443     1 connection   0 B    0 B       not on the list',
        '  mixed     connect  api.example.com:443  2 connections  100 B  4.9 KiB   not on the list',
        '  allow     http     cdn.example.com:80   2 requests     20 B   40 B',
        '',
      ].join('\n'),
    );
  });

  it('adds clients refused before any decision as footer lines', () => {
    const tally = new EgressTally();
    tally.refused({ code: 'KZP_ERR_LIMIT_CONNECTIONS', reason: 'max_connections' });
    tally.refused({ code: 'KZP_ERR_LIMIT_CONNECTIONS', reason: 'max_connections' });
    tally.refused({ code: 'KZP_ERR_ORIGIN_FORM', reason: 'origin_form' });
    // Every client reached the proxy: the heading must not say that nothing went through it.
    expect(formatSummaryTable('bot', tally.rows(), tally.refusals())).toBe(
      'kaizen-proxy: agent bot: 3 clients reached the proxy and were refused before any decision\n' +
        'kaizen-proxy: 2 clients refused before any decision: max_connections (KZP_ERR_LIMIT_CONNECTIONS)\n' +
        'kaizen-proxy: 1 client refused before any decision: origin_form (KZP_ERR_ORIGIN_FORM)\n',
    );
    const one = new EgressTally();
    one.refused({ code: 'KZP_ERR_ORIGIN_FORM', reason: 'origin_form' });
    expect(formatSummaryTable('bot', one.rows(), one.refusals()).split('\n')[0]).toBe('kaizen-proxy: agent bot: 1 client reached the proxy and was refused before any decision');
  });

  it('says nothing went through the proxy only when no client reached it', () => {
    expect(formatSummaryTable('bot', [], [])).toBe('kaizen-proxy: agent bot: no traffic went through the proxy (programs that ignore proxy variables are not covered)\n');
  });

  it('formats bytes for a column', () => {
    expect([0, 1023, 1024, 1536, 10 * 1024, 5 * 1024 ** 3].map(formatBytes)).toEqual(['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '10 KiB', '5.0 GiB']);
  });

  it('turns a pino warning into one short stderr line', () => {
    const line = JSON.stringify({ level: 'warn', time: 1, name: 'kaizen-proxy', code: 'KZP_ERR_NO_VERDICT', target: 'x:443', nested: { a: 1 }, msg: 'no verdict:\nallowing' });
    expect(shortLine(line)).toBe('kaizen-proxy: warn: no verdict: allowing (code=KZP_ERR_NO_VERDICT, target=x:443)');
  });
});
