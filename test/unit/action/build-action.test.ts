import { describe, expect, it } from 'vitest';
import { actionPath, connectAction, httpAction } from '../../../src/action/build-action.js';
import type { Target } from '../../../src/contract/target.js';

const stripe: Target = { host: 'api.stripe.com', port: 443, hostType: 'dns', authority: 'api.stripe.com:443' };
const v6: Target = { host: '2001:db8::1', port: 443, hostType: 'ipv6', authority: '[2001:db8::1]:443' };

describe('connectAction', () => {
  it('builds an egress connect action with the canonical authority', () => {
    expect(connectAction(v6)).toEqual({ kind: 'connect', target: '[2001:db8::1]:443', metadata: { source: 'egress' } });
  });

  it('carries extra fields under their contract names and omits absent ones', () => {
    const action = connectAction(stripe, { publisher: 'stripe', sni: 'api.stripe.com', eventId: 'e1', observedAt: '2025-01-01T00:00:00.000Z' });
    expect(action).toEqual({
      kind: 'connect',
      target: 'api.stripe.com:443',
      publisher: 'stripe',
      metadata: { source: 'egress', sni: 'api.stripe.com', event_id: 'e1', observed_at: '2025-01-01T00:00:00.000Z' },
    });
    expect(Object.keys(action)).not.toContain('tool');
    expect(Object.keys(action.metadata)).not.toContain('connect_host');
  });
});

describe('httpAction', () => {
  it('upper-cases the method and keeps the path only', () => {
    expect(httpAction(stripe, { method: 'post', path: '/v1/refunds?api_key=sk_live_x#frag', scheme: 'https' })).toEqual({
      kind: 'http',
      target: 'api.stripe.com:443',
      metadata: { source: 'egress', method: 'POST', path: '/v1/refunds', scheme: 'https' },
    });
  });

  it('is a tool_call when a tool is named', () => {
    const action = httpAction(stripe, { method: 'POST', path: '/v1/refunds', scheme: 'https' }, { tool: 'issue_refund', publisher: 'stripe', connectHost: 'api.stripe.com' });
    expect(action).toEqual({
      kind: 'tool_call',
      tool: 'issue_refund',
      publisher: 'stripe',
      target: 'api.stripe.com:443',
      metadata: { source: 'egress', method: 'POST', path: '/v1/refunds', scheme: 'https', connect_host: 'api.stripe.com' },
    });
  });

  it('never carries credentials from an absolute-form target', () => {
    const action = httpAction(stripe, { method: 'GET', path: 'http://user:secret@api.stripe.com/v1/x?token=t', scheme: 'http' });
    expect(JSON.stringify(action)).not.toMatch(/secret|user|token/);
    expect(action.metadata.path).toBe('/v1/x');
  });
});

describe('actionPath', () => {
  it.each([
    ['/a/b', '/a/b'],
    ['/a/b?x=1', '/a/b'],
    ['/a/b#x?y', '/a/b'],
    ['/a?b#c', '/a'],
    ['?only=query', '/'],
    ['', '/'],
    ['*', '*'],
    ['relative/path', '/'],
    ['https://user:pw@host.example:8443/p/q?s=1', '/p/q'],
    ['http://host.example', '/'],
    ['ws://host.example/socket', '/socket'],
    ['http://[bad', '/'],
  ])('%j → %j', (input, expected) => {
    expect(actionPath(input)).toBe(expected);
  });
});
