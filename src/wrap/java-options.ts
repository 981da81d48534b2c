/**
 * Java ignores proxy variables; it reads system properties, which JAVA_TOOL_OPTIONS can set for any
 * JVM. `http.nonProxyHosts` (used for https too) takes `|`-separated host patterns with `*` at
 * either end, so NO_PROXY's `.example.com` becomes `*.example.com`. CIDR ranges and entries with a
 * port have no Java form and are left out: `host:9999` kept as `host` would send every port of
 * that host around the proxy.
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
  if (entry.includes('/') || hasPort(entry)) return undefined;
  // "[::1]" and "::1" both name the IPv6 loopback; Java writes it bracketed.
  const host = entry.includes(':') && !entry.startsWith('[') ? `[${entry}]` : entry;
  if (host === '' || /[\s|]/.test(host)) return undefined;
  return host.startsWith('.') ? `*${host}` : host;
}

/** `host:port` or `[v6]:port`; an unbracketed IPv6 (several colons) has none. */
function hasPort(entry: string): boolean {
  if (entry.startsWith('[')) return /\]:\d*$/.test(entry);
  return entry.split(':').length === 2;
}
