import { Resolver } from 'node:dns/promises';
import type { Resolution } from '../contract/decision.js';
import type { Target } from '../contract/target.js';
import { createFamilyOrder, type FamilyOrder } from './family-order.js';
import { createHostsFile, type HostsFile } from './hosts-file.js';
import { lookupWithin, type NameLookup } from './lookup-deadline.js';
import { pollFile, type PolledFile } from './polled-file.js';

/** A lookup that found no address, and whether that is the name's answer or no answer at all. */
export interface FailedLookup {
  readonly ok: false;
  readonly code: 'KZP_ERR_DNS';
  readonly message: string;
  /**
   * true: the resolver answered that the name has no address (NXDOMAIN, or NODATA: no A/AAAA
   * record; RFC 2308), an answer like any other. false: no answer was had (the resolver failed,
   * refused, could not be reached or timed out), the only failure RFC 8767 serves stale for.
   */
  readonly negative: boolean;
}

/** What a lookup gives the DNS cache: a Resolution, with the kind of failure kept. */
export type LookupResult = Extract<Resolution, { ok: true }> | FailedLookup;

/** c-ares' answers that the name has no address: NXDOMAIN (ENOTFOUND), NODATA (ENODATA). */
const NO_SUCH_NAME = 'ENOTFOUND';
const NO_ADDRESS = 'ENODATA';

/**
 * c-ares' timing: each query waits this long for the first try of a server, and is sent this many
 * times (later tries wait longer), about 6 s in all with one nameserver; network.dns_timeout
 * (dns-cache.ts) may cut it shorter. resolv.conf's `timeout` and `attempts` do not apply.
 */
const QUERY_TIMEOUT_MS = 2_000;
const QUERY_TRIES = 2;

/**
 * Addresses kept of each family's answer, in the resolver's order; the rest are never judged nor
 * dialled. A name's zone is the agent's to write: one answer over TCP carries about 4,000 A records,
 * and each kept answer cost about 170 KB of heap in the lookup cache (10,000 names: gigabytes),
 * while one CONNECT dialled every address in turn (4,000 SYNs). Round-robin names carry far fewer.
 */
export const MAX_ADDRESSES_PER_FAMILY = 16;

export interface NameResolverOptions {
  /** /etc/hosts by default. */
  readonly hostsFile?: HostsFile;
  /** Where the nameservers are: a new c-ares channel reads them when this file changes. /etc/resolv.conf by default. */
  readonly resolvConfPath?: string;
  /** How the families are ordered (family-order.ts, on this host's interface addresses, by default). */
  readonly familyOrder?: FamilyOrder;
  /** Nameservers to ask instead of resolv.conf's (tests name their own DNS server). */
  readonly servers?: readonly string[];
}

/**
 * How the proxy finds a name's addresses: the name as written, nothing added. A name the hosts
 * file lists has its addresses (nsswitch's `files`, first); any other is asked of DNS as an
 * absolute name (`name.`), A and AAAA, through c-ares (node:dns Resolver: asynchronous, its own
 * timeout and tries, never on libuv's thread pool, where getaddrinfo blocked a worker per slow
 * name). So resolv.conf's `search` list and `ndots` never apply: the name a policy decided is the
 * name resolved, `db` is not db.corp.test (Squid's dns_defnames off), and a single-label name the
 * hosts file does not list is no such name. Told its deadline has come (lookup-deadline.ts), it
 * answers with the family that has answered, if any. Never rejects.
 */
export function createNameResolver(options: NameResolverOptions = {}): NameLookup {
  const hosts = options.hostsFile ?? createHostsFile();
  const familyOrder = options.familyOrder ?? createFamilyOrder();
  const channel: PolledFile<Resolver> = pollFile(options.resolvConfPath ?? '/etc/resolv.conf', () => {
    const resolver = new Resolver({ timeout: QUERY_TIMEOUT_MS, tries: QUERY_TRIES });
    if (options.servers !== undefined) resolver.setServers(options.servers);
    return resolver;
  });
  const lookup = async (host: string, deadline?: AbortSignal): Promise<LookupResult> => {
    const name = host.toLowerCase().replace(/\.$/, '');
    const listed = hosts.addressesOf(name);
    if (listed !== undefined) {
      return { ok: true, addresses: familyOrder(firstOf(listed.filter((address) => !address.includes(':'))), firstOf(listed.filter((address) => address.includes(':')))) };
    }
    const resolver = channel.current();
    const absolute = `${name}.`;
    const [ipv4, ipv6] = await bothFamilies(resolver.resolve4(absolute), resolver.resolve6(absolute), deadline);
    const addresses = familyOrder(ipv4.status === 'fulfilled' ? firstOf(ipv4.value) : [], ipv6.status === 'fulfilled' ? firstOf(ipv6.value) : []);
    if (addresses.length > 0) return { ok: true, addresses };
    return failure(errorCode(ipv4), errorCode(ipv6));
  };
  return (host, deadline) => lookup(host, deadline).catch((error: unknown) => failed(errorCode({ status: 'rejected', reason: error }), false));
}

/** One family's addresses, at most MAX_ADDRESSES_PER_FAMILY of them (copied only when cut). */
function firstOf(addresses: readonly string[]): readonly string[] {
  return addresses.length > MAX_ADDRESSES_PER_FAMILY ? addresses.slice(0, MAX_ADDRESSES_PER_FAMILY) : addresses;
}

type Answer = PromiseSettledResult<readonly string[]>;

/** A query still unanswered at the deadline, as c-ares reports one that times out. */
const UNANSWERED: Answer = { status: 'rejected', reason: { code: 'ETIMEOUT' } };

/**
 * Both queries' answers. When `deadline` aborts after one has answered and before the other, what
 * there is, the other as timed out; with neither answered, nothing (the deadline's own answer).
 */
function bothFamilies(ipv4: Promise<string[]>, ipv6: Promise<string[]>, deadline: AbortSignal | undefined): Promise<[Answer, Answer]> {
  const both = Promise.allSettled([ipv4, ipv6]);
  if (deadline === undefined) return both;
  let v4: Answer | null = null;
  let v6: Answer | null = null;
  const keep = (promise: Promise<string[]>, store: (answer: Answer) => void): void => {
    promise.then(
      (value) => {
        store({ status: 'fulfilled', value });
      },
      (reason: unknown) => {
        store({ status: 'rejected', reason });
      },
    );
  };
  keep(ipv4, (answer) => (v4 = answer));
  keep(ipv6, (answer) => (v6 = answer));
  return new Promise((resolve) => {
    const onDeadline = (): void => {
      if (v4 !== null || v6 !== null) resolve([v4 ?? UNANSWERED, v6 ?? UNANSWERED]);
    };
    deadline.addEventListener('abort', onDeadline, { once: true });
    void both.then((answers) => {
      deadline.removeEventListener('abort', onDeadline);
      resolve(answers);
    });
  });
}

/**
 * Neither family had an address. NXDOMAIN for either query is the name's answer (it does not
 * exist, whatever the type); NODATA for both is too (it has no address). Anything else (SERVFAIL,
 * REFUSED, a timeout, no server reachable) for one of them means no answer was had.
 */
function failure(ipv4: string, ipv6: string): FailedLookup {
  if (ipv4 === NO_SUCH_NAME || ipv6 === NO_SUCH_NAME) return failed(NO_SUCH_NAME, true);
  if (ipv4 === NO_ADDRESS && ipv6 === NO_ADDRESS) return failed(NO_ADDRESS, true);
  return failed(ipv4 === NO_ADDRESS ? ipv6 : ipv4, false);
}

function failed(code: string, negative: boolean): FailedLookup {
  return { ok: false, code: 'KZP_ERR_DNS', message: `lookup failed: ${code}`, negative };
}

/** A query's c-ares code; ENODATA for an answer with no address. */
function errorCode(result: PromiseSettledResult<readonly string[]>): string {
  if (result.status === 'fulfilled') return NO_ADDRESS;
  const error: unknown = result.reason;
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code;
  return 'unknown';
}

let systemResolver: NameLookup | undefined;

/** The system's name resolver (createNameResolver on /etc/hosts and /etc/resolv.conf), one per process. */
export function lookupAll(host: string, deadline?: AbortSignal): Promise<LookupResult> {
  systemResolver ??= createNameResolver();
  return systemResolver(host, deadline);
}

/**
 * Resolve a canonical target once, within `timeoutMs` (network.dns_timeout; 0: the resolver's own
 * timing), without the cache: `kaizen-proxy check` answers as serve would for a name not yet held.
 * Never rejects: a failure is a `KZP_ERR_DNS` resolution.
 */
export function resolveTarget(target: Target, timeoutMs = 0): Promise<Resolution> {
  if (target.hostType !== 'dns') return Promise.resolve({ ok: true, addresses: [target.host] });
  return lookupWithin(lookupAll, target.host, timeoutMs);
}
