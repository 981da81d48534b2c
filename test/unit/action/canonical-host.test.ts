import { describe, expect, it } from 'vitest';
import { canonicalHost, normaliseHostText } from '../../../src/action/canonical-host.js';

describe('canonicalHost: accepted forms', () => {
  it.each([
    // DNS names
    ['example.com', 'example.com', 'dns'],
    ['Example.COM', 'example.com', 'dns'],
    ['example.com.', 'example.com', 'dns'],
    ['localhost', 'localhost', 'dns'],
    ['_dmarc.example.com', '_dmarc.example.com', 'dns'],
    ['a-b.example', 'a-b.example', 'dns'],
    ['123.example', '123.example', 'dns'],
    [`${'a'.repeat(63)}.example`, `${'a'.repeat(63)}.example`, 'dns'],
    // IDN → punycode
    ['bücher.example', 'xn--bcher-kva.example', 'dns'],
    ['BÜCHER.example', 'xn--bcher-kva.example', 'dns'],
    ['xn--bcher-kva.example', 'xn--bcher-kva.example', 'dns'],
    ['例え.テスト', 'xn--r8jz45g.xn--zckzah', 'dns'],
    // Kaizen normalisation: fullwidth, zero-width, spaces around
    ['ｅｘａｍｐｌｅ．ｃｏｍ', 'example.com', 'dns'],
    ['exa\u200Bmple.com', 'example.com', 'dns'],
    ['\uFEFFexample.com\u2060', 'example.com', 'dns'],
    ['ex\u200Dample.com', 'example.com', 'dns'],
    ['  example.com ', 'example.com', 'dns'],
    ['example。com', 'example.com', 'dns'],
    ['example.com。', 'example.com', 'dns'],
    // IPv4, every form a resolver accepts, to dotted quad
    ['127.0.0.1', '127.0.0.1', 'ipv4'],
    ['2130706433', '127.0.0.1', 'ipv4'],
    ['0x7f.1', '127.0.0.1', 'ipv4'],
    ['0177.0.0.1', '127.0.0.1', 'ipv4'],
    ['127.1', '127.0.0.1', 'ipv4'],
    ['0x7f000001', '127.0.0.1', 'ipv4'],
    ['0X7F000001', '127.0.0.1', 'ipv4'],
    ['169.254.169.254.', '169.254.169.254', 'ipv4'],
    ['１２７.０.０.１', '127.0.0.1', 'ipv4'],
    ['127\u200B.0.0.1', '127.0.0.1', 'ipv4'],
    // IPv6, compressed lower-case; mapped stays IPv6 for the guard
    ['::1', '::1', 'ipv6'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1', 'ipv6'],
    ['::ffff:127.0.0.1', '::ffff:127.0.0.1', 'ipv6'],
    ['::FFFF:7F00:1', '::ffff:127.0.0.1', 'ipv6'],
    ['：：１', '::1', 'ipv6'],
  ])('%j → %s (%s)', (input, host, hostType) => {
    expect(canonicalHost(input)).toEqual({ ok: true, value: { host, hostType } });
  });
});

describe('canonicalHost: refused forms', () => {
  it.each([
    ['', 'empty host'],
    ['.', 'empty host'],
    ['\u200B', 'empty host'],
    ['example..com', 'empty label'],
    ['.example.com', 'empty label'],
    ['example.com..', 'empty label'],
    [`${'a'.repeat(64)}.example`, 'longer than 63'],
    [`${'a.'.repeat(127)}ab`, 'longer than 253'],
    ['exa mple.com', 'invalid character'],
    ['user@example.com', 'invalid character'],
    ['example.com/path', 'invalid character'],
    ['a%41.example', 'invalid character'],
    ['*.example.com', 'invalid character'],
    ['ｅｘａｍｐｌｅ％.com', 'invalid character'],
    ['example.com\u0000', 'invalid character'],
    ['xn--zz.example', 'international'],
    ['999999999999', 'IPv4'],
    ['1.2.3.256', 'IPv4'],
    ['08.0.0.1', 'IPv4'],
    ['example.123', 'IPv4'],
    ['0x', 'IPv4'],
    ['1::2::3', 'IPv6'],
    ['fe80::1%eth0', 'zone'],
    ['::1]', 'IPv6'],
    ['x'.repeat(2000), 'too long'],
  ])('%j', (input, fragment) => {
    const result = canonicalHost(input);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe('KZP_ERR_BAD_REQUEST');
      expect(result.message).toContain(fragment);
    }
  });

  it('never echoes the input in the message', () => {
    const result = canonicalHost('evil\r\nX-Injected: 1');
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.message).not.toMatch(/evil|Injected|\r|\n/);
  });
});

describe('normaliseHostText', () => {
  it('applies NFKC, drops zero-width characters, trims', () => {
    expect(normaliseHostText(' \u200Bｅｘ\u200Cａ\u200Dm\u200E\u200Fple\u2060\uFEFF ')).toBe('example');
    expect(normaliseHostText('ﬁle.example')).toBe('file.example');
  });
});
