/**
 * A request path as route matching compares it, so that a spelling the destination treats as the
 * same resource cannot step around a tool route: percent-encoded unreserved characters decoded
 * (`%73` → `s`), repeated slashes collapsed, `.` and `..` segments removed, a trailing slash
 * dropped. Only the matching sees this form; the request goes upstream as sent.
 */
export function routePath(path: string): string {
  return folded(decodeUnreserved(path).split('/'));
}

/**
 * The same path as many origins serve it (see tool-routes.ts, which matches both readings):
 * `%2F` decoded to a slash (WSGI's PATH_INFO, ASGI's path, nginx), a backslash read as a slash
 * (WHATWG URL and Node's url.parse), and `;` parameters dropped from each segment (Tomcat,
 * Spring). `/v1%2Frefunds`, `/v1\refunds` and `/v1/refunds;x=1` are `/v1/refunds` here.
 */
export function lenientRoutePath(path: string): string {
  const slashes = path.replace(/\\|%2[fF]/g, '/');
  return folded(decodeUnreserved(slashes).split('/').map((segment) => {
    const parameters = segment.indexOf(';');
    return parameters < 0 ? segment : segment.slice(0, parameters);
  }));
}

/**
 * The path of a request target that starts with two slashes (or backslashes) as WHATWG URL reads
 * it: the `new URL(req.url, base)` Node's documentation shows request handlers takes `//x/v1/refunds`
 * for host `x` and path `/v1/refunds`, where the other readings see `/x/v1/refunds`. undefined for
 * any other path, or one WHATWG URL cannot parse (the origin cannot either).
 */
export function authorityRoutePath(path: string): string | undefined {
  if (!/^[/\\]{2}/.test(path)) return undefined;
  try {
    return new URL(path, 'http://route.invalid').pathname;
  } catch {
    return undefined;
  }
}

function decodeUnreserved(path: string): string {
  return path.replace(/%([0-9a-fA-F]{2})/g, (escape, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(char) ? char : escape.toUpperCase();
  });
}

/** Segments without empty and `.` ones, `..` taking the one before it away. */
function folded(parts: readonly string[]): string {
  const segments: string[] = [];
  for (const segment of parts) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join('/')}`;
}

/**
 * A path glob → an anchored, case-insensitive regular expression: `*` is one segment or part of
 * one (never a `/`), `**` any number of segments. Everything else is literal.
 */
export function pathGlob(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const char = glob.charAt(i);
    if (char === '*' && glob.charAt(i + 1) === '*') {
      // "/**" also matches the bare parent ("/v1/**" matches "/v1").
      if (source.endsWith('/')) source = `${source.slice(0, -1)}(?:/.*)?`;
      else source += '.*';
      i++;
    } else if (char === '*') {
      source += '[^/]*';
    } else {
      source += char.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`, 'i');
}
