import { isLoopbackHost } from '../net/loopback-host.js';
import type { FileConfig } from './schema.js';

export interface ExposureIssue {
  readonly path: readonly string[];
  readonly message: string;
}

/** What can open a listener beyond loopback in this run (wrap mode narrows both). */
export interface ExposureRemedies {
  /** gateway.credentials_file can be set (false in wrap mode, which drops it). */
  readonly gateway: boolean;
  /** The file's unsafe_open_proxy counts (false in wrap mode: only --unsafe-open-proxy does). */
  readonly fileSwitch: boolean;
}

const ALL_REMEDIES: ExposureRemedies = { gateway: true, fileSwitch: true };

/**
 * Listeners that would let anyone who reaches them use the proxy. The proxy port beyond loopback
 * needs gateway credentials (agents authenticate) or an explicit unsafe_open_proxy; the transparent
 * port carries no credentials at all, so beyond loopback it always needs unsafe_open_proxy. The
 * messages name only the remedies this run can use.
 */
export function exposureIssues(file: FileConfig, remedies: ExposureRemedies = ALL_REMEDIES): ExposureIssue[] {
  if (file.unsafe_open_proxy) return [];
  const openSwitch = remedies.fileSwitch ? 'unsafe_open_proxy: true (--unsafe-open-proxy)' : '--unsafe-open-proxy';
  const issues: ExposureIssue[] = [];
  if (!isLoopbackHost(file.listen.host) && file.gateway.credentials_file === null) {
    const needs = remedies.gateway ? `gateway.credentials_file, or ${openSwitch}` : openSwitch;
    const note = remedies.gateway ? '' : ' (wrap mode takes no gateway credentials)';
    issues.push({
      path: ['listen'],
      message: `listening on ${file.listen.host} (beyond loopback) needs ${needs} to let anyone who reaches the port use the proxy${note}`,
    });
  }
  if (file.transparent !== null && !isLoopbackHost(file.transparent.host)) {
    issues.push({
      path: ['transparent'],
      message: `the transparent listener on ${file.transparent.host} (beyond loopback) takes no credentials; keep it on loopback (iptables REDIRECT delivers there) or ${remedies.fileSwitch ? 'set' : 'pass'} ${openSwitch}`,
    });
  }
  return issues;
}
