import { describe, expect, it } from 'vitest';
import { compileNoProxy, normaliseNoProxyEntry, splitNoProxy } from '../../../src/net/no-proxy-rules.js';

describe('upstream_no_proxy / NO_PROXY entries', () => {
  it('normalises domains, addresses, ranges and ports; refuses what is none of them', () => {
    expect(normaliseNoProxyEntry(' .Example.COM. ')).toBe('example.com');
    expect(normaliseNoProxyEntry('*.corp.internal')).toBe('corp.internal');
    expect(normaliseNoProxyEntry('svc:8443')).toBe('svc:8443');
    expect(normaliseNoProxyEntry('10.0.0.0/8')).toBe('10.0.0.0/8');
    expect(normaliseNoProxyEntry('127.0.0.1')).toBe('127.0.0.1');
    expect(normaliseNoProxyEntry('[::1]:80')).toBe('[::1]:80');
    expect(normaliseNoProxyEntry('fd00::/8')).toBe('fd00::/8');
    expect(normaliseNoProxyEntry('*')).toBe('*');
    for (const bad of ['', 'a b', 'host:0', 'host:x', '<local>', 'http://x']) expect(normaliseNoProxyEntry(bad)).toHaveProperty('error');
  });

  it('a domain matches itself and its subdomains on label boundaries, with the port when one is given', () => {
    const direct = compileNoProxy(['example.com', 'svc:8443']);
    expect(direct('example.com', 443)).toBe(true);
    expect(direct('api.example.com', 80)).toBe(true);
    expect(direct('notexample.com', 443)).toBe(false);
    expect(direct('svc', 8443)).toBe(true);
    expect(direct('svc', 443)).toBe(false);
  });

  it('addresses and ranges match IP-literal destinations only (no name is resolved to choose a route)', () => {
    const direct = compileNoProxy(['10.0.0.0/8', '::1']);
    expect(direct('10.1.2.3', 443)).toBe(true);
    expect(direct('::1', 80)).toBe(true);
    expect(direct('11.0.0.1', 443)).toBe(false);
    expect(direct('ten.example', 443)).toBe(false);
  });

  it('an IPv6 range sends IPv6 destinations direct, IPv4 ones only when it is IPv4-mapped', () => {
    const wide = compileNoProxy(['::/0']);
    expect(wide('2001:db8::1', 443)).toBe(true);
    expect(wide('10.1.2.3', 443)).toBe(false);
    const mapped = compileNoProxy(['::ffff:10.0.0.0/104']);
    expect(mapped('10.1.2.3', 443)).toBe(true);
    expect(mapped('11.0.0.1', 443)).toBe(false);
  });

  it('* sends everything direct; an empty list nothing', () => {
    expect(compileNoProxy(['*'])('anything.example', 1)).toBe(true);
    expect(compileNoProxy([])('anything.example', 1)).toBe(false);
  });

  it('splits NO_PROXY on commas and spaces', () => {
    expect(splitNoProxy('localhost, .svc,,10.0.0.0/8 example.com')).toEqual(['localhost', '.svc', '10.0.0.0/8', 'example.com']);
  });
});
