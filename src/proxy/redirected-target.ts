import type { IncomingMessage } from 'node:http';
import { hostAuthority } from './host-field.js';
import type { RedirectFailure } from './transparent-refusal.js';

/** Why a redirected request names no destination (a log field and metrics label). */
export type HostFailure = Extract<RedirectFailure, 'no_host' | 'bad_host'>;

const HTTP_PORT = 80;

/**
 * A redirected request's destination: origin-form `/path` + `Host: name[:port]` becomes
 * `http://name:port/path` in `req.url` (port 80 when the Host has none), for the proxy's own
 * handlers. The Host header must be `uri-host [ ":" port ]` (RFC 9112 §3.2), read as inside an
 * intercepted session (host-field.ts): a path, query, fragment or userinfo in it would otherwise
 * be spliced into the forwarded URL. An absolute-form http(s) request keeps its URL. Returns null
 * when `req.url` is set, else why not.
 */
export function toAbsoluteForm(req: IncomingMessage): HostFailure | null {
  const url = req.url ?? '';
  if (!url.startsWith('/')) return /^https?:\/\//i.test(url) ? null : 'no_host';
  const host = req.headers.host;
  if (host === undefined || host === '') return 'no_host';
  // The port 80 when the Host has none (an empty one, `name:`, is the default too).
  const named = hostAuthority(host, HTTP_PORT);
  if (named === null) return 'bad_host';
  req.url = `http://${named.target.authority}${url}`;
  return null;
}
