/**
 * Splits the request-target of a request made to the proxy (RFC 9112 §3.2). Only absolute-form
 * `http://` and `https://` URIs are forwarded; the authority is handed to the target parser in
 * src/action (the one place that canonicalises hosts), the path is forwarded byte for byte.
 */
export type ProxyScheme = 'http' | 'https';

export type SplitTarget =
  | {
      readonly ok: true;
      readonly scheme: ProxyScheme;
      /** "host:port" as sent, the scheme's default port appended when absent. */
      readonly authority: string;
      /** Path and query as sent (never re-encoded), "/" when empty; the fragment dropped. */
      readonly path: string;
      /** The path without query: the only part of the URL that reaches actions and logs. */
      readonly pathOnly: string;
    }
  | { readonly ok: false; readonly code: 'KZP_ERR_ORIGIN_FORM' | 'KZP_ERR_BAD_REQUEST' };

const ORIGIN_FORM = { ok: false, code: 'KZP_ERR_ORIGIN_FORM' } as const;
const BAD = { ok: false, code: 'KZP_ERR_BAD_REQUEST' } as const;

export function splitRequestTarget(url: string): SplitTarget {
  if (url.startsWith('/') || url === '*') return ORIGIN_FORM;
  const schemeEnd = url.indexOf('://');
  if (schemeEnd < 0) return BAD;
  const schemeText = url.slice(0, schemeEnd).toLowerCase();
  let scheme: ProxyScheme;
  if (schemeText === 'http') scheme = 'http';
  else if (schemeText === 'https') scheme = 'https';
  else return BAD;

  const authorityStart = schemeEnd + 3;
  let authorityEnd = url.length;
  for (let i = authorityStart; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 0x2f /* / */ || c === 0x3f /* ? */ || c === 0x23 /* # */) {
      authorityEnd = i;
      break;
    }
  }
  const authority = url.slice(authorityStart, authorityEnd);
  // Userinfo in a request-target is not allowed (RFC 9110 §4.2.4) and would carry credentials.
  if (authority === '' || authority.includes('@')) return BAD;

  const hash = url.indexOf('#', authorityEnd);
  let path = url.slice(authorityEnd, hash < 0 ? url.length : hash);
  if (path === '' || path.startsWith('?')) path = `/${path}`;
  const query = path.indexOf('?');
  const pathOnly = query < 0 ? path : path.slice(0, query);

  return { ok: true, scheme, authority: withPort(authority, scheme), path, pathOnly };
}

function withPort(authority: string, scheme: ProxyScheme): string {
  const colon = authority.lastIndexOf(':');
  const bracket = authority.lastIndexOf(']');
  if (colon > bracket) return authority;
  return `${authority}:${scheme === 'https' ? '443' : '80'}`;
}

/** The Host header for a target: the port omitted when it is the scheme's default. */
export function hostHeader(host: string, port: number, ipv6: boolean, scheme: ProxyScheme): string {
  const name = ipv6 ? `[${host}]` : host;
  const defaultPort = scheme === 'https' ? 443 : 80;
  return port === defaultPort ? name : `${name}:${port}`;
}
