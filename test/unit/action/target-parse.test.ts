import { describe, expect, it } from 'vitest';
import { formatAuthority, parseAuthority, targetFromParts } from '../../../src/action/target-parse.js';

describe('parseAuthority: accepted', () => {
  it.each([
    ['example.com:443', 'example.com', 443, 'dns', 'example.com:443'],
    ['EXAMPLE.com.:80', 'example.com', 80, 'dns', 'example.com:80'],
    ['bücher.example:443', 'xn--bcher-kva.example', 443, 'dns', 'xn--bcher-kva.example:443'],
    ['ｅｘａｍｐｌｅ.com:443', 'example.com', 443, 'dns', 'example.com:443'],
    ['exa\u200Bmple.com:443', 'example.com', 443, 'dns', 'example.com:443'],
    ['1.2.3.4:1', '1.2.3.4', 1, 'ipv4', '1.2.3.4:1'],
    ['169.254.169.254:80', '169.254.169.254', 80, 'ipv4', '169.254.169.254:80'],
    ['2130706433:443', '127.0.0.1', 443, 'ipv4', '127.0.0.1:443'],
    ['0x7f.1:443', '127.0.0.1', 443, 'ipv4', '127.0.0.1:443'],
    ['0177.0.0.1:443', '127.0.0.1', 443, 'ipv4', '127.0.0.1:443'],
    ['[::1]:443', '::1', 443, 'ipv6', '[::1]:443'],
    ['[2001:DB8::0:1]:65535', '2001:db8::1', 65535, 'ipv6', '[2001:db8::1]:65535'],
    ['[::ffff:127.0.0.1]:443', '::ffff:127.0.0.1', 443, 'ipv6', '[::ffff:127.0.0.1]:443'],
    ['[::ffff:7f00:1]:8080', '::ffff:127.0.0.1', 8080, 'ipv6', '[::ffff:127.0.0.1]:8080'],
    ['example.com:00443', 'example.com', 443, 'dns', 'example.com:443'],
  ])('%j', (text, host, port, hostType, authority) => {
    expect(parseAuthority(text)).toEqual({ ok: true, value: { host, port, hostType, authority } });
  });
});

describe('parseAuthority: refused', () => {
  it.each([
    ['', 'empty target'],
    ['example.com', 'missing port'],
    ['example.com:', 'missing port'],
    [':443', 'empty host'],
    ['[]:443', 'empty host'],
    ['example.com:0', 'out of range'],
    ['example.com:65536', 'out of range'],
    ['example.com:99999', 'out of range'],
    ['example.com:443443', 'invalid port'],
    ['example.com:-1', 'invalid port'],
    ['example.com:+443', 'invalid port'],
    ['example.com:0x1bb', 'invalid port'],
    ['example.com:443 ', 'invalid character'],
    [' example.com:443', 'invalid character'],
    ['exa mple.com:443', 'invalid character'],
    ['example.com:4 43', 'invalid character'],
    ['example.com\t:443', 'invalid character'],
    ['user:pass@example.com:443', 'invalid character'],
    ['user@example.com:443', 'invalid character'],
    ['example.com:443/path', 'invalid character'],
    ['example.com/:443', 'invalid character'],
    ['example.com:443?q', 'invalid character'],
    ['example.com:443#f', 'invalid character'],
    ['example.com\\:443', 'invalid character'],
    ['exa%6dple.com:443', 'invalid character'],
    ['::1:443', 'must be in brackets'],
    ['2001:db8::1:443', 'must be in brackets'],
    ['：：1:443', 'must be in brackets'],
    ['[::1]', 'missing port'],
    ['[::1]:', 'missing port'],
    ['[::1:443', 'unterminated'],
    ['[::1]443', 'after IPv6 literal'],
    ['[::1]]:443', 'after IPv6 literal'],
    ['[example.com]:443', 'only IPv6 literals go in brackets'],
    ['[127.0.0.1]:443', 'only IPv6 literals go in brackets'],
    ['[fe80::1%25eth0]:443', 'invalid character'],
    ['a]b:443', 'invalid character'],
    ['http://example.com:443', 'invalid character'],
    ['example..com:443', 'empty label'],
    ['999999999999:443', 'IPv4'],
    ['1.2.3.256:443', 'IPv4'],
    [`${'a'.repeat(2000)}:443`, 'too long'],
  ])('%j', (text, fragment) => {
    const result = parseAuthority(text);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.code).toBe('KZP_ERR_BAD_REQUEST');
      expect(result.message).toContain(fragment);
      expect(result.message).not.toContain(text.length > 0 ? text : '\u0000');
    }
  });
});

describe('targetFromParts (absolute-form URLs)', () => {
  it.each([
    ['example.com', 80, 'example.com', 'dns', 'example.com:80'],
    ['[::1]', 8080, '::1', 'ipv6', '[::1]:8080'],
    ['::1', 8080, '::1', 'ipv6', '[::1]:8080'],
    ['[::ffff:7f00:1]', 80, '::ffff:127.0.0.1', 'ipv6', '[::ffff:127.0.0.1]:80'],
    ['0x7f.1', 443, '127.0.0.1', 'ipv4', '127.0.0.1:443'],
    ['xn--bcher-kva.example', 443, 'xn--bcher-kva.example', 'dns', 'xn--bcher-kva.example:443'],
  ])('%s port %s', (host, port, canonical, hostType, authority) => {
    expect(targetFromParts(host, port)).toEqual({ ok: true, value: { host: canonical, port, hostType, authority } });
  });

  it('takes what new URL() gives', () => {
    const url = new URL('http://[::FFFF:127.0.0.1]:8080/path?q=1');
    expect(targetFromParts(url.hostname, Number(url.port))).toEqual({
      ok: true,
      value: { host: '::ffff:127.0.0.1', port: 8080, hostType: 'ipv6', authority: '[::ffff:127.0.0.1]:8080' },
    });
  });

  it.each([
    ['example.com', 0, 'out of range'],
    ['example.com', 65536, 'out of range'],
    ['example.com', 80.5, 'out of range'],
    ['[example.com]', 80, 'only IPv6 literals go in brackets'],
    ['[::1', 80, 'invalid character'],
    ['[[::1]]', 80, 'invalid character'],
    ['', 80, 'empty host'],
    ['1.2.3.256', 80, 'IPv4'],
  ])('refuses %j port %s', (host, port, fragment) => {
    const result = targetFromParts(host, port);
    expect(result.ok ? '' : result.message).toContain(fragment);
  });
});

describe('formatAuthority', () => {
  it.each([
    ['example.com', 'dns', 443, 'example.com:443'],
    ['10.0.0.1', 'ipv4', 80, '10.0.0.1:80'],
    ['2001:db8::1', 'ipv6', 443, '[2001:db8::1]:443'],
  ] as const)('%s %s %s', (host, hostType, port, expected) => {
    expect(formatAuthority(host, hostType, port)).toBe(expected);
  });
});

describe('parseAuthority: remembered results', () => {
  it('answers a repeat with the same frozen result, refusals included, across the memo starting over', () => {
    const first = parseAuthority('Example.COM.:443');
    expect(parseAuthority('Example.COM.:443')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    if (!first.ok) throw new Error('expected ok');
    expect(first.value).toEqual({ host: 'example.com', hostType: 'dns', port: 443, authority: 'example.com:443' });
    expect(Object.isFrozen(first.value)).toBe(true);
    expect(() => {
      (first.value as { port: number }).port = 80;
    }).toThrow(TypeError);
    const refused = parseAuthority('example.com:0');
    expect(parseAuthority('example.com:0')).toBe(refused);
    expect(refused).toMatchObject({ ok: false, message: 'port out of range 1-65535' });
    // More distinct authorities than the memo holds: every answer is still the parse of its own text.
    for (let i = 1; i <= 10_000; i++) {
      const port = (i % 65_535) + 1;
      expect(parseAuthority(`h${i}.example:${port}`)).toMatchObject({ ok: true, value: { host: `h${i}.example`, port } });
    }
    expect(parseAuthority('Example.COM.:443')).toEqual(first);
    // Past the length kept, a result is parsed afresh each time (equal, not the same object).
    const long = `${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.${'d'.repeat(60)}.${'e'.repeat(60)}.example:443`;
    expect(parseAuthority(long)).toEqual(parseAuthority(long));
    expect(parseAuthority(long)).not.toBe(parseAuthority(long));
  });
});
