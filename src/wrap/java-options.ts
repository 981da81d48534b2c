/**
 * Java ignores proxy variables; it reads system properties, which JAVA_TOOL_OPTIONS can set for any
 * JVM. `http.nonProxyHosts` (used for https too) takes `|`-separated host patterns with `*` at
 * either end, so NO_PROXY's `.example.com` becomes `*.example.com`; CIDR ranges have no Java form
 * and are left out.
 */
export function appendJavaProxyOptions(existing: string | undefined, host: string, port: number, noProxy: readonly string[]): string {
  // "::1" and "[::1]" both become "[::1]": each pattern once.
  const nonProxy = [...new Set(noProxy.map(javaHostPattern).filter((p): p is string => p !== undefined))];
  const options = [
    `-Dhttp.proxyHost=${host}`,
    `-Dhttp.proxyPort=${port}`,
    `-Dhttps.proxyHost=${host}`,
    `-Dhttps.proxyPort=${port}`,
    `-Dhttp.nonProxyHosts=${nonProxy.join('|')}`,
  ].join(' ');
  const current = (existing ?? '').trim();
  return current === '' ? options : `${current} ${options}`;
}

function javaHostPattern(entry: string): string | undefined {
  if (entry.includes('/')) return undefined;
  // Ports are not part of a Java host pattern; "[::1]" and "::1" both name the IPv6 loopback.
  const host = entry.startsWith('[') ? entry : entry.includes(':') && entry.split(':').length === 2 ? entry.split(':')[0] : entry;
  if (host === undefined || host === '' || /[\s|]/.test(host)) return undefined;
  if (host.includes(':') && !host.startsWith('[')) return `[${host}]`;
  return host.startsWith('.') ? `*${host}` : host;
}
