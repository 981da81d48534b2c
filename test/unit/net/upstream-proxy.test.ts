import { describe, expect, it } from 'vitest';
import { parseUpstreamProxyUrl, proxyAuthorization } from '../../../src/net/upstream-proxy.js';

describe('upstream proxy URLs', () => {
  it('keeps the credentials apart from the URL that is shown', () => {
    const proxy = parseUpstreamProxyUrl('http://user%40corp:p%3Ass@proxy.corp:3128/');
    expect(proxy).toEqual({ url: 'http://proxy.corp:3128', host: 'proxy.corp', port: 3128, username: 'user@corp', password: 'p:ss' });
    if (typeof proxy === 'string') throw new Error(proxy);
    expect(proxyAuthorization(proxy)).toBe(`Basic ${Buffer.from('user@corp:p:ss').toString('base64')}`);
  });

  it('takes a missing scheme as http:// and a missing port as 80; IPv6 stays bracketed in the URL only', () => {
    expect(parseUpstreamProxyUrl('proxy.corp')).toMatchObject({ url: 'http://proxy.corp:80', port: 80, username: null, password: null });
    expect(parseUpstreamProxyUrl('http://[::1]:3128')).toMatchObject({ url: 'http://[::1]:3128', host: '::1' });
  });

  it('refuses other schemes and paths, without repeating the input', () => {
    for (const text of ['https://u:secret@proxy:443', 'socks5://u:secret@proxy:1080', 'http://u:secret@proxy:3128/path', 'http://u:secret@:3128']) {
      const result = parseUpstreamProxyUrl(text);
      if (typeof result !== 'string') throw new Error(`accepted ${result.url}`);
      expect(result).not.toContain('secret');
    }
  });

  it('no credentials, no Proxy-Authorization', () => {
    const proxy = parseUpstreamProxyUrl('http://proxy:3128');
    if (typeof proxy === 'string') throw new Error(proxy);
    expect(proxyAuthorization(proxy)).toBeNull();
  });
});
