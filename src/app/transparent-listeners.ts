import type { HostPort } from '../config/host-port.js';
import type { ProxyServer } from '../proxy/proxy-server.js';

/** Errors that mean "this machine has no IPv6 loopback", not a real failure. */
const NO_IPV6 = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT', 'EINVAL']);

/**
 * Binds the transparent listener. iptables REDIRECT delivers IPv4 connections to 127.0.0.1 and
 * ip6tables' to ::1, so a listener on 127.0.0.1 gets an IPv6 twin on [::1] at the same port when
 * the host has IPv6 (skipped quietly when it has not). Returns every bound address.
 */
export async function listenTransparent(server: ProxyServer, address: HostPort): Promise<HostPort[]> {
  const first = await server.listenTransparent(address.host, address.port);
  const bound: HostPort[] = [{ host: first.address, port: first.port }];
  if (address.host !== '127.0.0.1') return bound;
  try {
    const twin = await server.listenTransparent('::1', first.port);
    bound.push({ host: twin.address, port: twin.port });
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : '';
    if (!NO_IPV6.has(code)) throw error;
  }
  return bound;
}
