import { shownUrl } from './shown-url.js';

/**
 * Why a control-plane URL with userinfo is refused, or null when it has none. The client sends to
 * the origin and path only, so a user name or password placed there would be silently dropped while
 * whoever put it believes it authenticates. The message shows the URL as logs do (shownUrl) and never
 * the userinfo itself, which may be a secret.
 */
export function userinfoProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.username === '' && url.password === '') return null;
  return `expected a URL without userinfo (user:password@), got one for ${shownUrl(text)}: it is never sent; the API key comes from KAIZEN_API_KEY or control_plane.api_key_file`;
}
