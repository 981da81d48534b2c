import { describe, expect, it } from 'vitest';
import type { ProxyConfig } from '../../../src/config/types.js';
import { reply } from '../../helpers/fake-control-plane.js';
import { useProxyFixture } from '../resilience/proxy-fixture.js';
import { viaProxy } from '../resilience/resilience-support.js';

/**
 * A 2xx answer whose `decision` is readable is the control plane's verdict, whatever its secondary
 * fields hold: a confidence out of range, a negative id or an evidence item of the wrong shape is
 * ignored (named in one warning), never a reason to lose the decision. A block lost that way would
 * be allowed under fail: open, and answered 503 "could not be reached" under fail: closed.
 */
const fixture = useProxyFixture();

async function start(fail: ProxyConfig['fail']): Promise<number> {
  return (await fixture.start({ fail })).port;
}

/** The warnings that name the answer's ignored fields. */
function ignoredFields(): unknown[] {
  return (fixture.running?.logs.lines() ?? []).filter((line) => line['level'] === 'warn' && line['ignored_fields'] !== undefined).map((line) => line['ignored_fields']);
}

const BAD_SECONDARY = [
  ['a confidence out of range', { confidence: 95 }, ['confidence']],
  ['a negative id', { id: -1 }, ['id']],
  ['an evidence item with a null source', { evidence: [{ kind: 'dest', value: 'x', source: null }] }, ['evidence']],
  ['an evidence item with a numeric value', { evidence: [{ kind: 'x', value: 5, source: 's' }] }, ['evidence']],
  ['a reason that is not a string', { reason: { text: 'exfil' } }, ['reason']],
] as const;

describe('a readable decision survives malformed secondary fields', () => {
  it.each(BAD_SECONDARY)('fail: open, a block with %s is still a 403 block', async (_name, extra, fields) => {
    const port = await start('open');
    fixture.cp.respondWith(reply.json(200, { decision: 'block', reason: 'exfil', ...extra }));
    const answer = await viaProxy(port, `${fixture.origin.url}/risky`);
    expect(answer.status).toBe(403);
    expect(answer.headers['x-kaizen-decision']).toBe('block');
    expect(fixture.origin.requests).toEqual([]);
    expect(ignoredFields()).toEqual([fields]);
  });

  it.each(BAD_SECONDARY)('fail: closed, a block with %s is a 403 block, not a 503', async (_name, extra) => {
    const port = await start('closed');
    fixture.cp.respondWith(reply.json(200, { decision: 'block', reason: 'exfil', ...extra }));
    const answer = await viaProxy(port, `${fixture.origin.url}/risky`);
    expect(answer.status).toBe(403);
    expect(answer.headers['x-kaizen-decision']).toBe('block');
  });

  it('a decision of the wrong type is still a malformed answer: fail: closed answers 503', async () => {
    const port = await start('closed');
    fixture.cp.respondWith(reply.json(200, { decision: ['block'], reason: 'exfil' }));
    const answer = await viaProxy(port, `${fixture.origin.url}/risky`);
    expect(answer.status).toBe(503);
    expect(answer.body).toContain('KZP_ERR_CONTROL_PLANE_ANSWER');
  });
});
