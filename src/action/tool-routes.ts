import type { Target } from '../contract/target.js';
import { canonicalHost } from './canonical-host.js';
import { lenientRoutePath, pathGlob, routePath } from './route-path.js';

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

/**
 * The route a request maps to: `route` undefined when none matches, null when its path is
 * ambiguous. The path (without query) is read twice: as routePath compares it, and as origins that
 * decode `%2F`, read a backslash as a slash or drop `;` parameters serve it (lenientRoutePath).
 * `/v1%2Frefunds` is one path to Express and `/v1/refunds` to Flask: the first route either
 * reading matches is the tool, so no spelling steps around a route whatever the origin. When the
 * two readings match two different routes, the request could be either tool: it is refused (400)
 * rather than judged as the one that may not be what the origin serves.
 */
export type RouteMatch = { readonly ok: true; readonly route: ToolRoute | undefined } | { readonly ok: false; readonly routes: readonly [ToolRoute, ToolRoute] };

const NO_ROUTE: RouteMatch = Object.freeze({ ok: true, route: undefined });

export function matchToolRoute(routes: readonly ToolRoute[], target: Target, method: string, path: string): RouteMatch {
  if (routes.length === 0) return NO_ROUTE;
  const upper = method.toUpperCase();
  const literal = routePath(path);
  const lenient = lenientRoutePath(path);
  const first = (normalised: string): ToolRoute | undefined =>
    routes.find(
      (route) =>
        route.host === target.host &&
        (route.port === null || route.port === target.port) &&
        (route.methods === null || route.methods.has(upper)) &&
        route.path.test(normalised),
    );
  const strict = first(literal);
  const served = lenient === literal ? strict : first(lenient);
  if (strict === undefined || served === undefined || strict === served) return { ok: true, route: strict ?? served };
  return { ok: false, routes: [strict, served] };
}

function refused(message: string): RouteParse {
  return { ok: false, message };
}
