import { parseAuthority } from '../action/target-parse.js';
import type { Target } from '../contract/target.js';
import type { RequestView } from './exchange-views.js';

/**
 * RFC 9112 §3.2, for requests the proxy answers as the origin (inside an intercepted session): a
 * server answers 400 to an HTTP/1.1 request without a Host header, and to any request with more
 * than one Host line, equal or not. node:http keeps the first and drops the others, and runs with
 * requireHostHeader off (a proxy's absolute-form requests need none), so it checks neither.
 * Returns why the request is refused (a constant text), or null.
 */
export function hostFieldProblem(req: Pick<RequestView, 'httpVersion' | 'rawHeaders'>): string | null {
  let hosts = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if ((req.rawHeaders[i] ?? '').toLowerCase() === 'host') hosts++;
  }
  if (hosts > 1) return 'more than one Host header';
  if (hosts === 0 && req.httpVersion !== '1.0') return 'no Host header in an HTTP/1.1 request';
  return null;
}

/** Why a request whose one Host line is not host[:port] is refused (400). */
export const INVALID_HOST_FIELD = 'a Host header that is not host[:port]';

/** What a valid Host field value names. */
export interface HostAuthority {
  /** Canonical host, and the port given or else the scheme's. */
  readonly target: Target;
  /** Whether the value gave a port: one without names its host on whatever port the session has. */
  readonly explicitPort: boolean;
}

/**
 * A Host field value read as RFC 9112 §3.2 defines it, `uri-host [ ":" port ]`, through the parser
 * every CONNECT target goes through; `defaultPort` when it gives none (an empty port, `name:`, is
 * none too, RFC 3986 §3.2.3). Null for an invalid field value (empty, a space, a path, userinfo, an
 * unbracketed IPv6, a port that is no number or out of range): RFC 9112 §3.2 answers it 400, where
 * a valid value naming another host is a misdirected request (421).
 */
export function hostAuthority(value: string, defaultPort: number): HostAuthority | null {
  const colon = value.lastIndexOf(':');
  // Only a colon after any IPv6 literal's brackets separates a port: a reg-name holds none.
  const explicitPort = colon > value.lastIndexOf(']') && colon < value.length - 1;
  const authority = explicitPort ? value : `${colon === value.length - 1 ? value.slice(0, -1) : value}:${defaultPort}`;
  const parsed = parseAuthority(authority);
  return parsed.ok ? { target: parsed.value, explicitPort } : null;
}
