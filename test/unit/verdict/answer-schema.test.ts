import { describe, expect, it } from 'vitest';
import { parseAnswer } from '../../../src/verdict/answer-schema.js';

const parse = (value: unknown) => parseAnswer(typeof value === 'string' ? value : JSON.stringify(value));

describe('parseAnswer', () => {
  it('reads a top-level verdict', () => {
    expect(parse({ decision: 'block', reason: 'r', evidence: [{ kind: 'k', value: 'v', source: 's', extra: 1 }], confidence: 0.5, id: 'v1' })).toEqual({
      ok: true,
      answer: { kind: 'verdict', decision: 'block', flagged: false, reported: 'block', reason: 'r', evidence: [{ kind: 'k', value: 'v', source: 's' }], confidence: 0.5, verdictId: 'v1' },
      ignored: [],
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
    expect(parseAnswer(text)).toEqual({ ok: true, answer: { kind: 'recorded', verdictId: null }, ignored: [] });
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
    ['a boolean decision', { decision: true }],
    ['a decision in a list', { decision: ['block'] }],
    ['an empty decision', { decision: '' }],
    ['a blank decision', { decision: '  ' }],
    ['a numeric decision under `verdict`', { verdict: { decision: 1 } }],
    ['verdict not an object', { verdict: 'allow' }],
  ])('%s is malformed', (_name, body) => {
    expect(parse(body)).toMatchObject({ ok: false });
  });

  const evidence = { kind: 'k', value: 'v', source: 's' };
  it.each([
    ['a confidence out of range', { confidence: 95 }, { confidence: null }, ['confidence']],
    ['a confidence that is not a number', { confidence: 'high' }, { confidence: null }, ['confidence']],
    ['a negative id', { id: -1 }, { verdictId: null }, ['id']],
    ['a fractional id', { id: 1.5 }, { verdictId: null }, ['id']],
    ['an id that is an object', { id: { v: 1 } }, { verdictId: null }, ['id']],
    ['a bad id beside a good verdict_id', { id: '', verdict_id: 'v9' }, { verdictId: 'v9' }, ['id']],
    ['a reason that is not a string', { reason: 42 }, { reason: 'blocked by the Kaizen control plane' }, ['reason']],
    ['evidence that is not a list', { evidence: {} }, { evidence: [] }, ['evidence']],
    ['an evidence item without value', { evidence: [{ kind: 'k', source: 's' }, evidence] }, { evidence: [evidence] }, ['evidence']],
    ['an evidence item with a null source', { evidence: [evidence, { kind: 'dest', value: 'x', source: null }] }, { evidence: [evidence] }, ['evidence']],
    ['an evidence item that is no object', { evidence: ['x', evidence, 7] }, { evidence: [evidence] }, ['evidence']],
    ['several bad fields', { confidence: -1, id: -2, evidence: [null] }, { confidence: null, verdictId: null, evidence: [] }, ['confidence', 'evidence', 'id']],
  ])('a block with %s keeps its decision; the field is ignored and named', (_name, extra, expected, ignored) => {
    const result = parse({ decision: 'block', reason: 'exfil', ...extra });
    expect(result).toMatchObject({ ok: true, answer: { kind: 'verdict', decision: 'block', reported: 'block', ...expected } });
    expect(result.ok && [...result.ignored].sort()).toEqual(ignored);
  });

  it('names a field under `verdict` by its place', () => {
    expect(parse({ verdict: { decision: 'block', confidence: 2, reason: 'exfil' } })).toMatchObject({
      ok: true,
      answer: { decision: 'block', reason: 'exfil', confidence: null },
      ignored: ['verdict.confidence'],
    });
  });

  it('an answer without a decision ignores a bad id: recorded, no opinion', () => {
    expect(parse({ id: -5 })).toEqual({ ok: true, answer: { kind: 'recorded', verdictId: null }, ignored: ['id'] });
  });

  it('checks only the fields it reads: those beside the decision that is not used are left alone', () => {
    expect(parse({ decision: 'block', verdict: { decision: 'allow', confidence: 7 } })).toMatchObject({ ok: true, answer: { decision: 'block' }, ignored: [] });
  });
});
