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
    expect(authenticate(basic('ci-bot:s3cret'))).toEqual({ ok: true, agent: 'ci-bot', sha256: sha('s3cret') });
    expect(authenticate(basic('ci-bot:s3cret').replace('Basic', 'bAsIc'))).toEqual({ ok: true, agent: 'ci-bot', sha256: sha('s3cret') });
    expect(authenticate(basic('billing:tok:en with colon'))).toEqual({ ok: true, agent: 'billing', sha256: sha('tok:en with colon') });
  });

  it('admits an identity it admitted before only while its agent is listed with the same token', () => {
    const admitted = authenticate(basic('ci-bot:s3cret'));
    if (!admitted.ok) throw new Error('ci-bot is listed');
    expect(authenticate.admits(admitted)).toBe(true);
    // The credentials after a reload: ci-bot with another token, billing unchanged; then ci-bot gone.
    const rotated = createAuthenticator([
      { agent: 'ci-bot', sha256: sha('rotated') },
      { agent: 'billing', sha256: sha('tok:en with colon') },
    ]);
    expect(rotated.admits(admitted)).toBe(false);
    const billing = authenticate(basic('billing:tok:en with colon'));
    if (!billing.ok) throw new Error('billing is listed');
    expect(rotated.admits(billing)).toBe(true);
    expect(createAuthenticator([{ agent: 'billing', sha256: sha('tok:en with colon') }]).admits(admitted)).toBe(false);
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
