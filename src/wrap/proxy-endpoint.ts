import type { HostPort } from '../config/host-port.js';
import type { ProxyEndpoint } from './child-env.js';

/**
 * The address a child dials to reach the proxy: the bound one, except that a wildcard listener is
 * reached over the loopback of the same family.
 */
export function endpointFor(bound: HostPort): ProxyEndpoint {
  if (bound.host === '0.0.0.0') return { host: '127.0.0.1', port: bound.port };
  if (bound.host === '::') return { host: '::1', port: bound.port };
  return { host: bound.host, port: bound.port };
}
