import { describe, expect, it } from 'vitest';
import { unsentPartsProblem } from '../../../src/config/unsent-url-parts.js';

describe('unsentPartsProblem', () => {
  it('refuses a user name, a password or both, showing the URL as logs do and never the userinfo', () => {
    for (const text of ['https://u:URLPW@api.example.com/base/', 'https://URLPW@api.example.com/base', 'https://:URLPW@api.example.com/base', 'https://u%3AURLPW@api.example.com/base']) {
      const problem = unsentPartsProblem(text);
      expect(problem, text).toBe('expected a URL without userinfo (user:password@), got one for https://api.example.com/base: only the scheme, host, port and path are used; the API key comes from KAIZEN_API_KEY or control_plane.api_key_file');
    }
  });

  it('refuses a query or a fragment, never showing them, and names every unsent part at once', () => {
    expect(unsentPartsProblem('https://api.example.com/base?api_key=URLQ')).toBe('expected a URL without a query (?...), got one for https://api.example.com/base: only the scheme, host, port and path are used; the API key comes from KAIZEN_API_KEY or control_plane.api_key_file');
    expect(unsentPartsProblem('https://api.example.com/#URLFRAG')).toContain('expected a URL without a fragment (#...), got one for https://api.example.com:');
    const all = unsentPartsProblem('https://u:URLPW@api.example.com/base/?q=URLQ#URLFRAG');
    expect(all).toContain('expected a URL without userinfo (user:password@), a query (?...), a fragment (#...), got one for https://api.example.com/base:');
    for (const secret of ['URLPW', 'URLQ', 'URLFRAG']) expect(all).not.toContain(secret);
  });

  it('accepts a URL with none of them, an empty ? or #, and leaves a text that does not parse to the URL check', () => {
    expect(unsentPartsProblem('https://api.getkaizen.io')).toBeNull();
    expect(unsentPartsProblem('http://[::1]:8443/kaizen')).toBeNull();
    expect(unsentPartsProblem('https://api.example.com/base?#')).toBeNull();
    expect(unsentPartsProblem('https://@api.example.com')).toBeNull();
    expect(unsentPartsProblem('not a url')).toBeNull();
  });
});
