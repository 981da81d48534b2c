import { describe, expect, it } from 'vitest';
import { parseAnswer } from '../../../src/verdict/answer-schema.js';

const parse = (value: unknown) => parseAnswer(typeof value === 'string' ? value : JSON.stringify(value));

describe('parseAnswer', () => {
  it('reads a top-level verdict', () => {
    expect(parse({ decision: 'block', reason: 'r', evidence: [{ kind: 'k', value: 'v', source: 's', extra: 1 }], confidence: 0.5, id: 'v1' })).toEqual({
      ok: true,
      answer: { kind: 'verdict', decision: 'block', flagged: false, reported: 'block', reason: 'r', evidence: [{ kind: 'k', value: 'v', source: 's' }], confidence: 0.5, verdictId: 'v1' },
    });
  });

  it('reads a decision under `verdict`, with the id at top level', () => {
    expect(parse({ id: 7, verdict: { decision: 'allow' } })).toMatchObject({ ok: true, answer: { kind: 'verdict', decision: 'allow', verdictId: '7', reason: 'allowed by the Kaizen control plane' } });
  });

  it('prefers a top-level decision over the nested one', () => {
    expect(parse({ decision: 'block', verdict: { decision: 'allow' } })).toMatchObject({ answer: { decision: 'block' } });
  });

  it('takes verdict_id when there is no id', () => {
    expect(parse({ verdict_id: 'abc', decision: 'allow' })).toMatchObject({ answer: { verdictId: 'abc' } });
  });

  it.each([{}, { id: 'x' }, { decision: null }, { verdict: { id: 'y' } }, { status: 'queued', unknown: [1, 2] }])('%j is recorded, no opinion', (body) => {
    expect(parse(body)).toMatchObject({ ok: true, answer: { kind: 'recorded' } });
  });

  it.each(['', ' ', '\r\n', ' \t\n '])('an empty or whitespace-only body %j is recorded, no opinion', (text) => {
    expect(parseAnswer(text)).toEqual({ ok: true, answer: { kind: 'recorded', verdictId: null } });
  });

  it('an unknown decision is allow-and-flag with a reason that names it', () => {
    expect(parse({ decision: 'anomaly' })).toMatchObject({
      answer: { kind: 'verdict', decision: 'allow', flagged: true, reported: 'anomaly', reason: 'flagged by the Kaizen control plane (decision "anomaly")' },
    });
  });

  it('decisions are compared without case or surrounding space', () => {
    expect(parse({ decision: ' BLOCK ' })).toMatchObject({ answer: { decision: 'block', flagged: false } });
  });

  it('bounds text and strips control characters', () => {
    const result = parse({ decision: 'block', reason: `line\r\nX-Injected: 1${'a'.repeat(5000)}` });
    if (!result.ok || result.answer.kind !== 'verdict') throw new Error('expected a verdict');
    expect(result.answer.reason).not.toMatch(/[\r\n]/);
    expect(result.answer.reason.length).toBeLessThanOrEqual(1024);
  });

  it.each([
    ['not JSON', 'nope'],
    ['truncated JSON', '{"decision":"al'],
    ['an array', [{ decision: 'allow' }]],
    ['null', null],
    ['a string', 'allow'],
    ['a numeric decision', { decision: 1 }],
    ['an empty decision', { decision: '' }],
    ['evidence not an array', { decision: 'block', evidence: {} }],
    ['evidence without value', { decision: 'block', evidence: [{ kind: 'k', source: 's' }] }],
    ['confidence out of range', { decision: 'allow', confidence: 3 }],
    ['verdict not an object', { verdict: 'allow' }],
  ])('%s is malformed', (_name, body) => {
    expect(parse(body)).toMatchObject({ ok: false });
  });
});
