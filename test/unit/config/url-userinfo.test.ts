import { describe, expect, it } from 'vitest';
import { userinfoProblem } from '../../../src/config/url-userinfo.js';

describe('userinfoProblem', () => {
  it('refuses a user name, a password or both, showing the URL as logs do and never the userinfo', () => {
    for (const text of ['https://u:URLPW@api.example.com/base/?q=1', 'https://URLPW@api.example.com/base', 'https://:URLPW@api.example.com/base', 'https://u%3AURLPW@api.example.com/base']) {
      const problem = userinfoProblem(text);
      expect(problem, text).toContain('got one for https://api.example.com/base:');
      expect(problem, text).toContain('KAIZEN_API_KEY or control_plane.api_key_file');
      expect(problem, text).not.toContain('URLPW');
    }
  });

  it('accepts a URL without userinfo, and leaves a text that does not parse to the URL check', () => {
    expect(userinfoProblem('https://api.getkaizen.io')).toBeNull();
    expect(userinfoProblem('http://[::1]:8443/kaizen?x=1')).toBeNull();
    expect(userinfoProblem('https://@api.example.com')).toBeNull();
    expect(userinfoProblem('not a url')).toBeNull();
  });
});
