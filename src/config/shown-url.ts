/**
 * The control-plane URL as logs and `check-config` may show it: scheme, host, port and path, which
 * is all the client ever uses (it sends to the origin and the path prefix). Userinfo, query and
 * fragment are never sent, yet may hold a password or a key someone pasted there, so they are
 * dropped rather than shown. A text that does not parse (the schema has refused it already) is
 * not repeated at all.
 */
export function shownUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return '[not a URL]';
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}
