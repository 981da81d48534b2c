import { describe, expect, it } from 'vitest';
import type { Action } from '../../../src/contract/action.js';
import type { Decision } from '../../../src/contract/decision.js';
import type { DecisionEvent } from '../../../src/contract/observer.js';
import { MAX_TOOLS_PER_DESTINATION, mergeRecords, RecordBuilder } from '../../../src/learn/observed-record.js';
import { agentFileName } from '../../../src/learn/record-file.js';
import { parseRecord, recordToWire } from '../../../src/learn/record-wire.js';

const allow: Decision = { decision: 'allow', enforce: 'forward', reason: 'ok', evidence: [], source: 'local', verdictId: null, flagged: false, wouldBlock: false };
const block: Decision = { ...allow, decision: 'block', enforce: 'refuse', reason: 'no' };
const wouldBlock: Decision = { ...block, enforce: 'forward', wouldBlock: true };
const failOpen: Decision = { ...allow, source: 'fail_open', reason: 'no verdict; allowed because fail mode is open' };

function event(target: string, decision: Decision = allow, extra: Partial<Action> = {}): DecisionEvent {
  return { agent: 'a', action: { kind: 'connect', target, metadata: { source: 'egress' }, ...extra }, decision, ms: 1 };
}

describe('the observed record', () => {
  it('counts kinds, decisions, tools and first/last seen per destination', () => {
    const builder = new RecordBuilder('a');
    builder.observe(event('api.example.com:443'), 1000, () => true);
    builder.observe(event('api.example.com:443', wouldBlock, { kind: 'tool_call', tool: 'refund' }), 3000, () => true);
    builder.observe(event('api.example.com:443', block, { kind: 'http' }), 2000, () => true);
    builder.observe(event('api.example.com:443', block, { kind: 'tool_call', tool: 'wipe' }), 2000, () => true);
    const stats = builder.snapshot().destinations.get('api.example.com:443');
    expect(stats).toEqual({
      target: 'api.example.com:443',
      kinds: { connect: 1, tool_call: 2, http: 1 },
      tools: ['refund'],
      toolsNotAllowed: ['wipe'],
      allowed: 1,
      blocked: 2,
      wouldBlock: 1,
      failOpen: 0,
      unreached: 0,
      firstSeen: 1000,
      lastSeen: 3000,
    });
  });

  it('is bounded: destinations past the admission check and tools past the cap are only counted', () => {
    const builder = new RecordBuilder('a');
    builder.observe(event('one:443'), 1, () => true);
    builder.observe(event('two:443'), 1, () => false);
    for (let i = 0; i < MAX_TOOLS_PER_DESTINATION + 5; i++) builder.observe(event('one:443', allow, { tool: `t${i}` }), 1, () => true);
    builder.observe(event('one:443', allow, { tool: 'x'.repeat(500) }), 1, () => true);
    const record = builder.snapshot();
    expect([...record.destinations.keys()]).toEqual(['one:443']);
    expect(record.droppedActions).toBe(1);
    expect(record.destinations.get('one:443')?.tools).toHaveLength(MAX_TOOLS_PER_DESTINATION);
    expect(record.droppedTools).toBe(6);
  });

  it('merges the file with this process: counts add, times widen, the bound keeps the older ones', () => {
    const older = new RecordBuilder('a');
    older.observe(event('one:443'), 100, () => true);
    older.observe(event('two:443'), 100, () => true);
    const newer = new RecordBuilder('a');
    newer.observe(event('one:443', block), 50, () => true);
    newer.observe(event('three:443'), 200, () => true);
    const merged = mergeRecords(older.snapshot(), newer.snapshot(), 2);
    expect([...merged.destinations.keys()].sort()).toEqual(['one:443', 'two:443']);
    expect(merged.destinations.get('one:443')).toMatchObject({ allowed: 1, blocked: 1, firstSeen: 50, lastSeen: 100 });
    expect(merged.droppedActions).toBe(1);
  });

  it('counts fail-open allows apart from allows on a verdict, in the builder, the merge and the file', () => {
    const older = new RecordBuilder('a');
    older.observe(event('one:443', failOpen), 100, () => true);
    older.observe(event('one:443'), 100, () => true);
    const newer = new RecordBuilder('a');
    newer.observe(event('one:443', failOpen), 200, () => true);
    expect(newer.snapshot().destinations.get('one:443')).toMatchObject({ allowed: 0, failOpen: 1 });
    const merged = mergeRecords(older.snapshot(), newer.snapshot(), 10);
    expect(merged.destinations.get('one:443')).toMatchObject({ allowed: 1, blocked: 0, wouldBlock: 0, failOpen: 2 });
    const wire = recordToWire(merged, 300);
    expect(wire.destinations[0]).toMatchObject({ count: 3, decisions: { allow: 1, block: 0, would_block: 0, fail_open: 2 } });
    const parsed = parseRecord(JSON.stringify(wire));
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.record).toEqual(merged);
  });

  it('counts a monitor-mode would-block for want of a verdict (fail closed) as no verdict, not as a would-block', () => {
    const builder = new RecordBuilder('a');
    const noVerdict: Decision = { ...block, enforce: 'forward', wouldBlock: true, source: 'fail_closed', reason: 'no verdict; refused because fail mode is closed' };
    builder.observe(event('one:443', noVerdict), 100, () => true);
    builder.observe(event('two:443', { ...wouldBlock, source: 'control_plane' }), 100, () => true);
    const record = builder.snapshot();
    expect(record.destinations.get('one:443')).toMatchObject({ allowed: 0, blocked: 0, wouldBlock: 0, failOpen: 1 });
    expect(record.destinations.get('two:443')).toMatchObject({ allowed: 0, blocked: 0, wouldBlock: 1, failOpen: 0 });
  });

  it('keeps a tool apart until an action carrying it is forwarded on a verdict, in the builder, the merge and the file', () => {
    const older = new RecordBuilder('a');
    older.observe(event('one:443', block, { tool: 'refund' }), 100, () => true);
    older.observe(event('one:443', failOpen, { tool: 'export' }), 100, () => true);
    older.observe(event('one:443', allow, { tool: 'read' }), 100, () => true);
    expect(older.snapshot().destinations.get('one:443')).toMatchObject({ tools: ['read'], toolsNotAllowed: ['export', 'refund'] });
    const newer = new RecordBuilder('a');
    newer.observe(event('one:443', wouldBlock, { tool: 'refund' }), 200, () => true);
    newer.observe(event('one:443', block, { tool: 'read' }), 200, () => true);
    expect(newer.snapshot().destinations.get('one:443')).toMatchObject({ tools: ['refund'], toolsNotAllowed: ['read'] });
    const merged = mergeRecords(older.snapshot(), newer.snapshot(), 10);
    expect(merged.destinations.get('one:443')).toMatchObject({ tools: ['read', 'refund'], toolsNotAllowed: ['export'] });
    const parsed = parseRecord(JSON.stringify(recordToWire(merged, 300)));
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.record).toEqual(merged);
  });

  it('counts forwarded actions whose name did not resolve, from their closed events, through the merge and the file', () => {
    const builder = new RecordBuilder('a');
    builder.observe(event('gone.example:443'), 100, () => true);
    const closed = { agent: 'a', action: { kind: 'connect' as const, target: 'gone.example:443', metadata: { source: 'egress' as const } }, status: 502, bytesUp: 0, bytesDown: 0, durationMs: 1 };
    expect(builder.closed({ ...closed, error: 'KZP_ERR_DNS' })).toBe(true);
    expect(builder.closed({ ...closed, error: 'KZP_ERR_UPSTREAM_CONNECT' })).toBe(false);
    expect(builder.closed({ ...closed, action: { ...closed.action, target: 'never.example:443' }, error: 'KZP_ERR_DNS' })).toBe(false);
    const merged = mergeRecords(builder.snapshot(), builder.snapshot(), 10);
    expect(merged.destinations.get('gone.example:443')).toMatchObject({ allowed: 2, unreached: 2 });
    const parsed = parseRecord(JSON.stringify(recordToWire(merged, 300)));
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.record).toEqual(merged);
  });

  it('loads a record written before fail_open was counted: none of its actions were fail-open', () => {
    const old = {
      version: 1,
      agent: 'a',
      updated_at: '2024-01-03T00:00:00.000Z',
      dropped: { actions: 0, tools: 0 },
      destinations: [
        { target: 'one:443', kinds: { connect: 2 }, tools: [], count: 2, decisions: { allow: 1, block: 1, would_block: 0 }, first_seen: '2024-01-01T00:00:00.000Z', last_seen: '2024-01-02T00:00:00.000Z' },
      ],
    };
    const parsed = parseRecord(JSON.stringify(old));
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.record.destinations.get('one:443')).toMatchObject({ allowed: 1, blocked: 1, wouldBlock: 0, failOpen: 0, unreached: 0, toolsNotAllowed: [] });
  });

  it('round-trips through its file format, sorted, times as ISO 8601', () => {
    const builder = new RecordBuilder('agent/x');
    builder.observe(event('b.example:443', allow, { tool: 't' }), Date.UTC(2024, 0, 1), () => true);
    builder.observe(event('[2001:db8::1]:443'), Date.UTC(2024, 0, 2), () => true);
    const wire = recordToWire(builder.snapshot(), Date.UTC(2024, 0, 3));
    expect(wire.destinations.map((d) => d.target)).toEqual(['[2001:db8::1]:443', 'b.example:443']);
    expect(wire.destinations[1]).toMatchObject({ count: 1, decisions: { allow: 1, block: 0, would_block: 0, fail_open: 0 }, first_seen: '2024-01-01T00:00:00.000Z' });
    const parsed = parseRecord(JSON.stringify(wire));
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.record).toEqual(builder.snapshot());
    expect(parseRecord('{"version": 2}')).toMatchObject({ ok: false });
    expect(parseRecord('nope')).toEqual({ ok: false, message: 'not JSON' });
  });

  it('agent names become safe, distinct file names', () => {
    expect(agentFileName('billing-bot')).toBe('billing-bot.json');
    expect(agentFileName('../etc/passwd')).toBe('%2E.%2Fetc%2Fpasswd.json');
    expect(agentFileName('..')).toBe('%2E..json');
    expect(agentFileName('a%2Fb')).not.toBe(agentFileName('a/b'));
    expect(agentFileName('ünï*')).toBe('%C3%BCn%C3%AF%2A.json');
    const long = agentFileName('é'.repeat(200));
    expect(long.length).toBeLessThanOrEqual(205);
    expect(long).not.toBe(agentFileName(`${'é'.repeat(199)}e`));
  });
});
