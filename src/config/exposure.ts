import { isLoopbackHost } from '../net/loopback-host.js';
import type { FileConfig } from './schema.js';

export interface ExposureIssue {
  readonly path: readonly string[];
  readonly message: string;
}

/**
 * Listeners that would let anyone who reaches them use the proxy. The proxy port beyond loopback
 * needs gateway credentials (agents authenticate) or an explicit unsafe_open_proxy; the transparent
 * port carries no credentials at all, so beyond loopback it always needs unsafe_open_proxy.
 */
export function exposureIssues(file: FileConfig): ExposureIssue[] {
  if (file.unsafe_open_proxy) return [];
  const issues: ExposureIssue[] = [];
  if (!isLoopbackHost(file.listen.host) && file.gateway.credentials_file === null) {
    issues.push({
      path: ['listen'],
      message: `listening on ${file.listen.host} (beyond loopback) needs gateway.credentials_file, or unsafe_open_proxy: true (--unsafe-open-proxy) to let anyone who reaches the port use the proxy`,
    });
  }
  if (file.transparent !== null && !isLoopbackHost(file.transparent.host)) {
    issues.push({
      path: ['transparent'],
      message: `the transparent listener on ${file.transparent.host} (beyond loopback) takes no credentials; keep it on loopback (iptables REDIRECT delivers there) or set unsafe_open_proxy: true (--unsafe-open-proxy)`,
    });
  }
  return issues;
}
