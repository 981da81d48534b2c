import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What the namespace's resolver files say besides `nameserver`. */
export interface ResolverFiles {
  /** resolv.conf's `search` list (none by default). */
  readonly search?: readonly string[];
  /** resolv.conf's `options` line: `timeout:1 attempts:1` by default. */
  readonly options?: string;
  /** The namespace's /etc/hosts, bind-mounted over the machine's (the machine's by default). */
  readonly hosts?: string;
}

/**
 * A launcher (for startServe) that runs a process in a mount namespace of its own where
 * /etc/resolv.conf names `nameserver` alone (with `files.search` and `files.options`), and
 * /etc/hosts is `files.hosts` when given: that process's resolvers (the proxy's c-ares, and
 * getaddrinfo) ask the test's DNS server (test/helpers/dns-server.ts), and nothing else on the
 * machine changes. glibc waits 1 s for an answer, once, by default. Needs root (unshare, mount).
 */
export function underNameserver(nameserver: string, files: ResolverFiles = {}): (argv: readonly string[]) => readonly string[] {
  const dir = mkdtempSync(join(tmpdir(), 'kzp-resolv-'));
  const resolvConf = join(dir, 'resolv.conf');
  const search = files.search === undefined || files.search.length === 0 ? '' : `search ${files.search.join(' ')}\n`;
  writeFileSync(resolvConf, `nameserver ${nameserver}\n${search}options ${files.options ?? 'timeout:1 attempts:1'}\n`);
  const hosts = files.hosts === undefined ? undefined : join(dir, 'hosts');
  if (hosts !== undefined) writeFileSync(hosts, files.hosts ?? '');
  const mounts = hosts === undefined ? 'mount --bind "$0" /etc/resolv.conf' : 'mount --bind "$0" /etc/resolv.conf && mount --bind "$1" /etc/hosts && shift';
  return (argv) => ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `${mounts} && exec "$@"`, resolvConf, ...(hosts === undefined ? [] : [hosts]), ...argv];
}
