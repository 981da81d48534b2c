import { describe, expect, it } from 'vitest';
import { createActionLabels, NO_LABELS } from '../../../src/action/action-labels.js';
import { publisherOf } from '../../../src/action/publisher.js';
import { pathGlob, routePath } from '../../../src/action/route-path.js';
import { matchToolRoute, parseToolRoute, type ToolRoute, type ToolRouteSpec } from '../../../src/action/tool-routes.js';
import { parseAuthority } from '../../../src/action/target-parse.js';
import type { Target } from '../../../src/contract/target.js';

function target(authority: string): Target {
  const parsed = parseAuthority(authority);
  if (!parsed.ok) throw new Error(parsed.message);
  return parsed.value;
}

function routes(...specs: ToolRouteSpec[]): ToolRoute[] {
  return specs.map((spec) => {
    const parsed = parseToolRoute(spec);
    if (!parsed.ok) throw new Error(parsed.message);
    return parsed.route;
  });
}

describe('tool routes', () => {
  const table = routes(
    { match: 'POST api.stripe.com/v1/refunds', tool: 'issue_refund', publisher: 'stripe' },
    { match: 'GET|DELETE api.stripe.com/v1/customers/*', tool: 'customer' },
    { match: 'api.github.com:443/repos/**', tool: 'github_repos' },
    { match: 'api.stripe.com', tool: 'stripe_other' },
  );
  const tool = (authority: string, method: string, path: string): string | undefined => matchToolRoute(table, target(authority), method, path)?.spec.tool;

  it('matches method, exact host, optional port and path glob; first match wins', () => {
    expect(tool('api.stripe.com:443', 'POST', '/v1/refunds')).toBe('issue_refund');
    expect(tool('api.stripe.com:443', 'post', '/v1/refunds')).toBe('issue_refund');
    expect(tool('api.stripe.com:443', 'GET', '/v1/refunds')).toBe('stripe_other');
    expect(tool('api.stripe.com:8443', 'DELETE', '/v1/customers/cus_1')).toBe('customer');
    expect(tool('api.stripe.com:443', 'GET', '/v1/customers/cus_1/sources')).toBe('stripe_other');
    expect(tool('api.github.com:443', 'GET', '/repos/a/b/pulls')).toBe('github_repos');
    expect(tool('api.github.com:443', 'GET', '/repos')).toBe('github_repos');
    expect(tool('api.github.com:8443', 'GET', '/repos/a')).toBeUndefined();
    expect(tool('eu.api.stripe.com:443', 'POST', '/v1/refunds')).toBeUndefined();
  });

  it('compares a normalised path, so another spelling of the same resource is still the tool', () => {
    for (const path of ['/v1/refund%73', '/v1//refunds', '/v1/./refunds', '/v1/x/../refunds', '/v1/refunds/', '/V1/Refunds']) {
      expect(tool('api.stripe.com:443', 'POST', path), path).toBe('issue_refund');
    }
    expect(routePath('/a/%2F/b')).toBe('/a/%2F/b');
    expect(pathGlob('/v1/*').test('/v1/a/b')).toBe(false);
  });

  it('refuses malformed matches with a reason', () => {
    expect(parseToolRoute({ match: 'POST api.stripe.com/v1/refunds?x=1', tool: 't' })).toMatchObject({ ok: false, message: expect.stringContaining('query') as unknown });
    expect(parseToolRoute({ match: 'P0ST api.stripe.com/', tool: 't' })).toMatchObject({ ok: false });
    expect(parseToolRoute({ match: 'POST api.stripe.com:99999/', tool: 't' })).toMatchObject({ ok: false, message: 'invalid port' });
    expect(parseToolRoute({ match: 'POST a b c', tool: 't' })).toMatchObject({ ok: false });
    expect(parseToolRoute({ match: 'POST exa mple', tool: 't' })).toMatchObject({ ok: false });
    expect(parseToolRoute({ match: 'GET [2001:db8::1]:8443/x', tool: 't' })).toMatchObject({ ok: true, route: { host: '2001:db8::1', port: 8443 } });
  });
});

describe('publishers', () => {
  it('come from the registrable domain (ICANN suffixes); IP literals and private names have none', () => {
    expect(publisherOf(target('api.stripe.com:443'))).toBe('stripe');
    expect(publisherOf(target('www.bbc.co.uk:443'))).toBe('bbc');
    expect(publisherOf(target('user.github.io:443'))).toBe('github');
    expect(publisherOf(target('203.0.113.9:443'))).toBeUndefined();
    expect(publisherOf(target('[2001:db8::1]:443'))).toBeUndefined();
    expect(publisherOf(target('localhost:80'))).toBeUndefined();
    expect(publisherOf(target('api.svc.cluster.local:80'))).toBeUndefined();
  });

  it('labels: a route names tool and publisher; otherwise the derived publisher, unless publishers is false', () => {
    const table = routes({ match: 'POST api.stripe.com/v1/refunds', tool: 'issue_refund' }, { match: 'GET 10.0.0.5/x', tool: 'internal', publisher: 'acme' });
    const on = createActionLabels({ routes: table, publishers: true });
    const off = createActionLabels({ routes: table, publishers: false });
    const stripe = target('api.stripe.com:443');
    expect(on.request(stripe, 'POST', '/v1/refunds')).toEqual({ tool: 'issue_refund', publisher: 'stripe' });
    expect(on.request(stripe, 'GET', '/v1/balance')).toEqual({ publisher: 'stripe' });
    expect(on.tunnel(stripe)).toEqual({ publisher: 'stripe' });
    expect(off.request(stripe, 'POST', '/v1/refunds')).toEqual({ tool: 'issue_refund' });
    expect(off.tunnel(stripe)).toEqual({});
    expect(off.request(target('10.0.0.5:80'), 'GET', '/x')).toEqual({ tool: 'internal', publisher: 'acme' });
    expect(on.request(target('10.0.0.5:80'), 'GET', '/y')).toEqual({});
    expect(NO_LABELS.request(stripe, 'POST', '/v1/refunds')).toEqual({});
  });
});
