import type { Target } from '../contract/target.js';
import { embeddedIpv4 } from '../net/embedded-ipv4.js';
import { formatIpv4, parseIpv6 } from '../net/ip-address.js';
import { canonicalHost } from './canonical-host.js';
import { authorityRoutePath, lenientRoutePath, pathGlob, routePath } from './route-path.js';

/**
 * `tools:` in the configuration: requests mapped to tool names. A `match` is
 * `[METHOD[|METHOD...]] HOST[:PORT][PATH-GLOB]`: `POST api.stripe.com/v1/refunds`,
 * `GET|DELETE api.stripe.com/v1/customers/*`, `api.github.com/repos/**`. Without a method any
 * method matches, without a port any port, without a path any path. The host is exact (canonical);
 * an IPv4 host also names the IPv6 literals that carry it (hostsOf).
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
  return { ok: true, route: { spec, methods, host: mappedAsIpv4(host.value.host), port, path: pathGlob(routePath(path)) } };
}

/**
 * The route a request maps to: `route` undefined when none matches, null when its path is
 * ambiguous. The path (without query) is read as routePath compares it, and as origins that
 * decode `%2F`, read a backslash as a slash or drop `;` parameters serve it (lenientRoutePath);
 * a path that starts with `//` is read a second pair of ways, without the authority WHATWG URL
 * takes out of it (authorityRoutePath). `/v1%2Frefunds` is one path to Express and `/v1/refunds`
 * to Flask, `//x/v1/refunds` is `/v1/refunds` to a handler that parses `new URL(req.url, base)`:
 * the route any reading matches is the tool, so no spelling steps around a route whatever the
 * origin. When two readings match two different routes, the request could be either tool: it is
 * refused (400) rather than judged as the one that may not be what the origin serves.
 *
 * The method is read the same way: with an overriding method (method-override.ts) the request is
 * matched as its request line's method and as the override, since an origin that honours the
 * override executes the one and any other origin the other; `by` says which readings disagreed.
 */
export type RouteMatch =
  | { readonly ok: true; readonly route: ToolRoute | undefined }
  | { readonly ok: false; readonly routes: readonly [ToolRoute, ToolRoute]; readonly by: 'path' | 'method' };

const NO_ROUTE: RouteMatch = Object.freeze({ ok: true, route: undefined });

export function matchToolRoute(routes: readonly ToolRoute[], target: Target, method: string, path: string, override?: string): RouteMatch {
  if (routes.length === 0) return NO_ROUTE;
  const methods = [method.toUpperCase()];
  if (override !== undefined && override.toUpperCase() !== methods[0]) methods.push(override.toUpperCase());
  const hosts = hostsOf(target);
  const first = (upper: string, normalised: string): ToolRoute | undefined =>
    routes.find(
      (route) =>
        hosts.includes(route.host) &&
        (route.port === null || route.port === target.port) &&
        (route.methods === null || route.methods.has(upper)) &&
        route.path.test(normalised),
    );
  const readings = readingsOf(path);
  let found: ToolRoute | undefined;
  let foundAs = '';
  for (const upper of methods) {
    for (const reading of readings) {
      const route = first(upper, reading);
      if (route === undefined || route === found) continue;
      if (found !== undefined) return { ok: false, routes: [found, route], by: foundAs === upper ? 'path' : 'method' };
      found = route;
      foundAs = upper;
    }
  }
  return { ok: true, route: found };
}

/** Every distinct normalised reading of a path, the one as sent first (see matchToolRoute). */
function readingsOf(path: string): readonly string[] {
  const readings = [routePath(path)];
  const add = (reading: string): void => {
    if (!readings.includes(reading)) readings.push(reading);
  };
  add(lenientRoutePath(path));
  const authorityLess = authorityRoutePath(path);
  if (authorityLess !== undefined) {
    add(routePath(authorityLess));
    add(lenientRoutePath(authorityLess));
  }
  return readings;
}

/**
 * The hosts a target reaches, as routes name them: its own, and for an IPv6 literal every IPv4 the
 * address guard reads out of it (IPv4-mapped, NAT64, 6to4, IPv4-translated, IPv4-compatible,
 * Teredo server and client), since a dual-stack socket, translator or relay reaches that IPv4: a
 * route on `10.0.0.5` is the tool of `[::ffff:10.0.0.5]` too, as a `domains` rule on it blocks both.
 */
function hostsOf(target: Target): readonly string[] {
  if (target.hostType !== 'ipv6') return [target.host];
  const words = parseIpv6(target.host);
  const embedded = words === undefined ? undefined : embeddedIpv4(words);
  return embedded === undefined ? [target.host] : [target.host, ...embedded.addresses.map(formatIpv4)];
}

/** A route written on an IPv4-mapped IPv6 (`::ffff:10.0.0.5`) names that IPv4, as a domains entry does. */
function mappedAsIpv4(host: string): string {
  if (!host.includes(':')) return host;
  const words = parseIpv6(host);
  const embedded = words === undefined ? undefined : embeddedIpv4(words);
  return embedded?.kind === 'mapped' && embedded.addresses[0] !== undefined ? formatIpv4(embedded.addresses[0]) : host;
}

function refused(message: string): RouteParse {
  return { ok: false, message };
}
