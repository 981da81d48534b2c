import type { Target } from '../contract/target.js';
import { canonicalHost } from './canonical-host.js';
import { pathGlob, routePath } from './route-path.js';

/**
 * `tools:` in the configuration: requests mapped to tool names. A `match` is
 * `[METHOD[|METHOD...]] HOST[:PORT][PATH-GLOB]`: `POST api.stripe.com/v1/refunds`,
 * `GET|DELETE api.stripe.com/v1/customers/*`, `api.github.com/repos/**`. Without a method any
 * method matches, without a port any port, without a path any path. The host is exact (canonical).
 */
export interface ToolRouteSpec {
  readonly match: string;
  readonly tool: string;
  readonly publisher?: string | undefined;
}

export interface ToolRoute {
  readonly spec: ToolRouteSpec;
  readonly methods: ReadonlySet<string> | null;
  readonly host: string;
  readonly port: number | null;
  readonly path: RegExp;
}

export type RouteParse = { readonly ok: true; readonly route: ToolRoute } | { readonly ok: false; readonly message: string };

const METHOD = /^[A-Z]{1,20}$/;

export function parseToolRoute(spec: ToolRouteSpec): RouteParse {
  const parts = spec.match.trim().split(/\s+/);
  if (parts.length > 2 || parts[0] === '') return refused('expected "[METHOD] HOST[:PORT][/PATH]", e.g. "POST api.stripe.com/v1/refunds"');
  const [first = '', second] = parts;
  const location = second ?? first;
  let methods: Set<string> | null = null;
  if (second !== undefined) {
    methods = new Set(first.toUpperCase().split('|'));
    for (const method of methods) if (!METHOD.test(method)) return refused(`invalid method ${JSON.stringify(method)}`);
  }
  if (/[?#]/.test(location)) return refused('a route matches paths only, never a query or fragment');
  const slash = location.indexOf('/');
  const authority = slash < 0 ? location : location.slice(0, slash);
  const path = slash < 0 ? '/**' : location.slice(slash);
  const colon = authority.lastIndexOf(':');
  const hostText = colon < 0 || authority.endsWith(']') ? authority : authority.slice(0, colon);
  let port: number | null = null;
  if (hostText !== authority) {
    port = Number(authority.slice(colon + 1));
    if (!Number.isInteger(port) || port < 1 || port > 65535) return refused('invalid port');
  }
  const host = canonicalHost(hostText.replace(/^\[|\]$/g, ''));
  if (!host.ok) return refused(`invalid host (${host.message})`);
  return { ok: true, route: { spec, methods, host: host.value.host, port, path: pathGlob(routePath(path)) } };
}

/** The first route matching the request, or undefined. `path` is the request's path without query. */
export function matchToolRoute(routes: readonly ToolRoute[], target: Target, method: string, path: string): ToolRoute | undefined {
  if (routes.length === 0) return undefined;
  const upper = method.toUpperCase();
  const normalised = routePath(path);
  return routes.find(
    (route) =>
      route.host === target.host &&
      (route.port === null || route.port === target.port) &&
      (route.methods === null || route.methods.has(upper)) &&
      route.path.test(normalised),
  );
}

function refused(message: string): RouteParse {
  return { ok: false, message };
}
