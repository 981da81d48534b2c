import { lookup } from 'node:dns/promises';
import type { Resolution } from '../contract/decision.js';
import type { Target } from '../contract/target.js';

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

/**
 * getaddrinfo's answers that the name has no address: Node reports EAI_NONAME and EAI_NODATA as
 * ENOTFOUND (c-ares: ENOTFOUND, ENODATA). EAI_AGAIN (SERVFAIL, timeout, resolver unreachable),
 * EAI_FAIL (REFUSED, FORMERR) and anything else are failures to get an answer.
 */
const NEGATIVE_CODES: ReadonlySet<string> = new Set(['ENOTFOUND', 'ENODATA', 'EAI_NONAME', 'EAI_NODATA']);

/**
 * Resolve a canonical target once. The transport starts this before asking for a verdict (DNS
 * overlaps the decision), hands the promise to the Decider, and later dials only these addresses.
 * Never rejects: a failure is a `KZP_ERR_DNS` resolution.
 */
export function resolveTarget(target: Target): Promise<Resolution> {
  if (target.hostType !== 'dns') return Promise.resolve({ ok: true, addresses: [target.host] });
  return lookupAll(target.host);
}

/** `dns.lookup` of one name, every address in the order the system gives. Never rejects. */
export async function lookupAll(host: string): Promise<LookupResult> {
  try {
    const found = await lookup(host, { all: true, verbatim: true });
    if (found.length === 0) return { ok: false, code: 'KZP_ERR_DNS', message: 'no addresses', negative: true };
    return { ok: true, addresses: found.map((entry) => entry.address) };
  } catch (error: unknown) {
    const code = errorCode(error);
    return { ok: false, code: 'KZP_ERR_DNS', message: `lookup failed: ${code}`, negative: NEGATIVE_CODES.has(code) };
  }
}

function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return 'unknown';
}
