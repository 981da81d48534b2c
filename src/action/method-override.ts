/**
 * The method a request asks its origin to execute in place of its request line's: Google APIs and
 * Rack take `X-HTTP-Method-Override`, ASP.NET and OData `X-HTTP-Method`, Express's method-override
 * and others `X-Method-Override`; Symfony and Laravel, and Express apps that read it so, take a
 * `_method` query parameter. `POST /v1/customers/x` with `X-HTTP-Method-Override: DELETE` is a
 * DELETE to those origins, a POST to any other: tool-routes.ts matches both, and the action records
 * the overriding method. A `_method` field in a form body is out of reach (bodies are never read).
 *
 * Ambiguity is refused, as a duplicated Host is: more than one field or parameter (whatever their
 * values: origins that join duplicates read "DELETE, DELETE" as no method and serve the request
 * line's), or a value that is not a method token. Nothing here is changed on the request; the
 * query is read, never kept or logged, and no message repeats a value.
 */
export type MethodOverride = { readonly ok: true; readonly method: string | undefined } | { readonly ok: false; readonly message: string };

const NONE: MethodOverride = Object.freeze({ ok: true, method: undefined });

/** Field names, lower-case, by length: a raw header whose length is none of these is skipped unread. */
const FIELDS: ReadonlyMap<number, string> = new Map(['x-http-method-override', 'x-http-method', 'x-method-override'].map((name) => [name.length, name]));

/** A method token (RFC 9110 §9.1, tchar). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * The overriding method, upper-cased, of a request given its raw header lines (name, value, ...)
 * and its request target's path and query; `method` undefined when there is none.
 */
export function methodOverride(rawHeaders: readonly string[], pathAndQuery: string): MethodOverride {
  let found: string | undefined;
  let where = '';
  let count = 0;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    const field = FIELDS.get(name.length);
    if (field === undefined || name.toLowerCase() !== field) continue;
    count++;
    found = rawHeaders[i + 1] ?? '';
    where = `the ${name} field`;
  }
  const query = pathAndQuery.indexOf('?');
  // Only a query that could name `_method` (as written or percent-encoded) is split.
  if (query >= 0 && (pathAndQuery.includes('method', query) || pathAndQuery.includes('%', query))) {
    for (const parameter of pathAndQuery.slice(query + 1).split('&')) {
      const equals = parameter.indexOf('=');
      const name = equals < 0 ? parameter : parameter.slice(0, equals);
      if (!isMethodParameter(name)) continue;
      count++;
      found = equals < 0 ? '' : formDecoded(parameter.slice(equals + 1));
      where = 'the _method query parameter';
    }
  }
  if (count === 0 || found === undefined) return NONE;
  if (count > 1) return { ok: false, message: 'the request names an overriding method more than once (X-HTTP-Method-Override, X-HTTP-Method, X-Method-Override, _method): its origin could execute either' };
  if (!TOKEN.test(found)) return { ok: false, message: `${where} is not a method token` };
  return { ok: true, method: found.toUpperCase() };
}

/**
 * `_method` as PHP (Symfony, Laravel) and qs (Express) read a query name: percent-decoded, `+` a
 * space, leading spaces dropped, a space or `.` read as `_` (PHP), `_method[]` and `_method[0]` an
 * array of it.
 */
function isMethodParameter(raw: string): boolean {
  if (!raw.includes('method') && !raw.includes('%')) return false;
  const name = formDecoded(raw).replace(/^ +/, '').replace(/[ .]/g, '_');
  return name === '_method' || name.startsWith('_method[');
}

/** application/x-www-form-urlencoded decoding, octet by octet: a bad escape stays as written. */
function formDecoded(text: string): string {
  return text.replace(/\+/g, ' ').replace(/%([0-9a-fA-F]{2})/g, (_escape, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
