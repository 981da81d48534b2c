import { readFileSync } from 'node:fs';
import { formatIpv4, formatIpv6, parseIpv4, parseIpv6 } from './ip-address.js';
import { pollFile, type PolledFileOptions } from './polled-file.js';

/** Names the hosts file lists, lower-case, without a trailing dot, each with its addresses in file order. */
export type HostsTable = ReadonlyMap<string, readonly string[]>;

export interface HostsFile {
  /** The addresses the file lists for a canonical name (lower-case, no trailing dot); undefined when it lists none. */
  addressesOf(name: string): readonly string[] | undefined;
}

/** Where the system keeps it. */
export const HOSTS_PATH = '/etc/hosts';

/**
 * The hosts file as nsswitch's `files` source reads it before DNS (Kubernetes' hostAliases and
 * Docker's --add-host live there): read again when it changes (polled-file.ts), a missing or
 * unreadable file lists nothing.
 */
export function createHostsFile(path: string = HOSTS_PATH, options: PolledFileOptions = {}): HostsFile {
  const table = pollFile(path, readHosts, options);
  return {
    addressesOf(name) {
      return table.current().get(name);
    },
  };
}

function readHosts(path: string): HostsTable {
  try {
    return parseHosts(readFileSync(path, 'utf8'));
  } catch {
    return new Map();
  }
}

/**
 * hosts(5): per line an address, then the canonical name and its aliases, separated by blanks;
 * `#` starts a comment. Names match case-insensitively; a name on several lines gets every line's
 * addresses, in file order, once each (glibc's getaddrinfo gathers them all), written as a
 * resolver writes them. A line whose first field is not an IP address (strict: dotted-quad IPv4,
 * IPv6 without a zone, as `fe80::1%eth0` names no address a dial could use alone) is skipped.
 */
export function parseHosts(text: string): HostsTable {
  const table = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const fields = line.replace(/#.*/, '').trim().split(/\s+/);
    const [address = '', ...names] = fields;
    const canonical = canonicalAddress(address);
    if (canonical === undefined) continue;
    for (const name of names) {
      const key = name.toLowerCase().replace(/\.$/, '');
      if (key === '') continue;
      const addresses = table.get(key) ?? [];
      if (!addresses.includes(canonical)) addresses.push(canonical);
      table.set(key, addresses);
    }
  }
  return table;
}

function canonicalAddress(text: string): string | undefined {
  if (text.includes(':')) {
    const words = parseIpv6(text);
    return words === undefined ? undefined : formatIpv6(words);
  }
  const value = parseIpv4(text);
  return value === undefined ? undefined : formatIpv4(value);
}
