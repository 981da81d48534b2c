import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createAuthenticator } from '../../../src/gateway/authenticate.js';

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
const basic = (pair: string): string => `Basic ${Buffer.from(pair).toString('base64')}`;

describe('gateway authenticator', () => {
  const authenticate = createAuthenticator([
    { agent: 'ci-bot', sha256: sha('s3cret') },
    { agent: 'billing', sha256: sha('tok:en with colon') },
  ]);

  it('accepts a listed agent with its token, whatever the scheme case and padding', () => {
    expect(authenticate(basic('ci-bot:s3cret'))).toEqual({ ok: true, agent: 'ci-bot' });
    expect(authenticate(basic('ci-bot:s3cret').replace('Basic', 'bAsIc'))).toEqual({ ok: true, agent: 'ci-bot' });
    expect(authenticate(basic('billing:tok:en with colon'))).toEqual({ ok: true, agent: 'billing' });
  });

  it.each([
    [undefined, 'missing'],
    ['', 'missing'],
    ['Bearer abc', 'malformed'],
    ['Basic !!!', 'malformed'],
    [basic('no-colon'), 'malformed'],
    [basic(':s3cret'), 'malformed'],
    [`Basic ${'A'.repeat(5000)}`, 'malformed'],
    [basic('ci-bot:wrong'), 'rejected'],
    [basic('ci-bot:'), 'rejected'],
    [basic('nobody:s3cret'), 'rejected'],
    [basic('billing:s3cret'), 'rejected'],
  ])('refuses %j as %s', (header, reason) => {
    expect(authenticate(header)).toEqual({ ok: false, reason });
  });
});
