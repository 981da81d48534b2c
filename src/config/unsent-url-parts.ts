import { shownUrl } from './shown-url.js';

/**
 * Why a control-plane URL is refused for parts the client never sends, or null when it has none.
 * The client sends to the origin and path only, so a user name, password, query or fragment placed
 * there would be silently dropped while whoever put it believes it is used (a tenant parameter, a
 * key pasted as `?api_key=`). The message shows the URL as logs do (shownUrl) and never the parts
 * themselves, which may be secret. An empty `?` or `#` carries nothing and passes.
 */
export function unsentPartsProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  const unsent: string[] = [];
  if (url.username !== '' || url.password !== '') unsent.push('userinfo (user:password@)');
  if (url.search !== '') unsent.push('a query (?...)');
  if (url.hash !== '') unsent.push('a fragment (#...)');
  if (unsent.length === 0) return null;
  return `expected a URL without ${unsent.join(', ')}, got one for ${shownUrl(text)}: only the scheme, host, port and path are used; the API key comes from KAIZEN_API_KEY or control_plane.api_key_file`;
}
