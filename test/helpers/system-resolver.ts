import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A launcher (for startServe) that runs a process in a mount namespace of its own where
 * /etc/resolv.conf names `nameserver` alone: that process's system resolver (getaddrinfo, which
 * the proxy resolves with) asks the test's DNS server (test/helpers/dns-server.ts), and nothing
 * else on the machine changes. glibc waits 1 s for an answer, once. Needs root (unshare, mount).
 */
export function underNameserver(nameserver: string): (argv: readonly string[]) => readonly string[] {
  const file = join(mkdtempSync(join(tmpdir(), 'kzp-resolv-')), 'resolv.conf');
  writeFileSync(file, `nameserver ${nameserver}\noptions timeout:1 attempts:1\n`);
  return (argv) => ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind "$0" /etc/resolv.conf && exec "$@"', file, ...argv];
}
