import { describe, expect, it } from 'vitest';
import { shownUrl } from '../../../src/config/shown-url.js';

describe('shownUrl', () => {
  it('drops userinfo, query and fragment, keeps scheme, host, port and path prefix', () => {
    expect(shownUrl('https://u:URLPW@api.example.com/base/?qkey=URLQ#URLFRAG')).toBe('https://api.example.com/base');
    expect(shownUrl('http://user@[::1]:8443/kaizen?x=1')).toBe('http://[::1]:8443/kaizen');
    expect(shownUrl('https://api.getkaizen.io')).toBe('https://api.getkaizen.io');
  });

  it('never repeats a text that does not parse', () => {
    expect(shownUrl('not a url SECRET')).toBe('[not a URL]');
  });
});
