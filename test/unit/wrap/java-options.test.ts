import { describe, expect, it } from 'vitest';
import { appendJavaProxyOptions } from '../../../src/wrap/java-options.js';

const nonProxyHosts = (noProxy: readonly string[]): string => /-Dhttp\.nonProxyHosts=(\S*)/.exec(appendJavaProxyOptions(undefined, '127.0.0.1', 8, noProxy))?.[1] ?? 'missing';

describe('Java proxy options', () => {
  it('maps names, suffixes and the IPv6 loopback (both spellings, once)', () => {
    expect(nonProxyHosts(['localhost', '127.0.0.1', '::1', '[::1]', '.internal.example', 'host.local', '2001:db8::5'])).toBe(
      'localhost|127.0.0.1|[::1]|*.internal.example|host.local|[2001:db8::5]',
    );
  });

  it('leaves out entries Java cannot express: CIDR ranges, and hosts with a port (which would bypass every port)', () => {
    expect(nonProxyHosts(['localhost', '192.0.2.2:9999', 'registry.local:5000', '[2001:db8::2]:8443', '10.0.0.0/8', '.example.org'])).toBe('localhost|*.example.org');
  });
});
