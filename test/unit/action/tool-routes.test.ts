import { describe, expect, it } from 'vitest';
import { createActionLabels, NO_LABELS } from '../../../src/action/action-labels.js';
import { publisherOf } from '../../../src/action/publisher.js';
import { lenientRoutePath, pathGlob, routePath } from '../../../src/action/route-path.js';
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
  const tool = (authority: string, method: string, path: string): string | undefined => {
    const match = matchToolRoute(table, target(authority), method, path);
    if (!match.ok) throw new Error(`ambiguous: ${match.routes.map((route) => route.spec.tool).join(', ')}`);
    return match.route?.spec.tool;
  };

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
    expect(lenientRoutePath('/v1%2frefunds')).toBe('/v1/refunds');
    expect(lenientRoutePath('/v1\\refunds')).toBe('/v1/refunds');
    expect(lenientRoutePath('/v1;a=b/refunds;c')).toBe('/v1/refunds');
    expect(lenientRoutePath('/v1/x/..;/refunds')).toBe('/v1/refunds');
    expect(lenientRoutePath('/v1/%252F')).toBe('/v1/%252F');
    expect(pathGlob('/v1/*').test('/v1/a/b')).toBe(false);
  });

  it('reads a path as sent and as lenient origins serve it; two routes for one path are no match', () => {
    const split = routes({ match: 'PUT h.example/files/*/acl', tool: 'set_acl' }, { match: 'PUT h.example/files/*', tool: 'write_file' }, { match: 'POST h.example/v1/refunds', tool: 'issue_refund' });
    const only = (method: string, path: string): string | undefined => {
      const match = matchToolRoute(split, target('h.example:80'), method, path);
      return match.ok ? match.route?.spec.tool : 'ambiguous';
    };
    expect(only('POST', '/v1%2Frefunds')).toBe('issue_refund');
    expect(only('POST', '/v1\\refunds;x=1')).toBe('issue_refund');
    expect(only('PUT', '/files/a%2Fb')).toBe('write_file');
    // api.stripe.com's catch-all route is one reading, issue_refund and customer's paths the other.
    expect(matchToolRoute(table, target('api.stripe.com:443'), 'POST', '/v1%2Frefunds')).toMatchObject({ ok: false });
    expect(matchToolRoute(table, target('api.stripe.com:443'), 'GET', '/v1/customers/a%2Fb')).toMatchObject({ ok: false });
    expect(matchToolRoute(split, target('h.example:80'), 'PUT', '/files/a%2Facl')).toMatchObject({ ok: false, routes: [{ spec: { tool: 'write_file' } }, { spec: { tool: 'set_acl' } }] });
    expect(matchToolRoute(split, target('h.example:80'), 'PUT', '/files/a/acl')).toMatchObject({ ok: true, route: { spec: { tool: 'set_acl' } } });
  });

  it('with an overriding method, matches as the request line\'s method and as the override; two tools are no match', () => {
    const methods = routes({ match: 'GET|DELETE h.example/v1/customers/*', tool: 'manage_customer' }, { match: 'POST h.example/v1/refunds', tool: 'issue_refund' }, { match: 'POST h.example/v1/charges/*', tool: 'create_charge' }, { match: 'DELETE h.example/v1/charges/*', tool: 'void_charge' });
    const host = target('h.example:80');
    // An origin honouring the override executes a DELETE; one ignoring it the request line's.
    expect(matchToolRoute(methods, host, 'POST', '/v1/customers/c', 'DELETE')).toMatchObject({ ok: true, route: { spec: { tool: 'manage_customer' } } });
    expect(matchToolRoute(methods, host, 'POST', '/v1/refunds', 'GET')).toMatchObject({ ok: true, route: { spec: { tool: 'issue_refund' } } });
    expect(matchToolRoute(methods, host, 'POST', '/v1/refunds', 'post')).toMatchObject({ ok: true, route: { spec: { tool: 'issue_refund' } } });
    expect(matchToolRoute(methods, host, 'POST', '/v1/charges/c', 'DELETE')).toMatchObject({ ok: false, by: 'method', routes: [{ spec: { tool: 'create_charge' } }, { spec: { tool: 'void_charge' } }] });
    expect(matchToolRoute(methods, host, 'POST', '/v1/charges/c')).toMatchObject({ ok: true, route: { spec: { tool: 'create_charge' } } });
    const labels = createActionLabels({ routes: methods, publishers: false });
    expect(labels.request(host, 'POST', '/v1/customers/c', 'DELETE')).toEqual({ ok: true, extra: { tool: 'manage_customer' } });
    expect(labels.request(host, 'POST', '/v1/charges/c', 'DELETE')).toMatchObject({ ok: false, message: expect.stringContaining('overriding method') as unknown });
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
    expect(on.request(stripe, 'POST', '/v1/refunds')).toEqual({ ok: true, extra: { tool: 'issue_refund', publisher: 'stripe' } });
    expect(on.request(stripe, 'GET', '/v1/balance')).toEqual({ ok: true, extra: { publisher: 'stripe' } });
    expect(on.tunnel(stripe)).toEqual({ publisher: 'stripe' });
    expect(off.request(stripe, 'POST', '/v1/refunds')).toEqual({ ok: true, extra: { tool: 'issue_refund' } });
    expect(off.tunnel(stripe)).toEqual({});
    expect(off.request(target('10.0.0.5:80'), 'GET', '/x')).toEqual({ ok: true, extra: { tool: 'internal', publisher: 'acme' } });
    expect(on.request(target('10.0.0.5:80'), 'GET', '/y')).toEqual({ ok: true, extra: {} });
    expect(NO_LABELS.request(stripe, 'POST', '/v1/refunds')).toEqual({ ok: true, extra: {} });
  });
});
