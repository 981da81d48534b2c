import { lookup } from 'node:dns/promises';
import type { Resolution } from '../contract/decision.js';
import type { Target } from '../contract/target.js';

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
export async function lookupAll(host: string): Promise<Resolution> {
  try {
    const found = await lookup(host, { all: true, verbatim: true });
    if (found.length === 0) return { ok: false, code: 'KZP_ERR_DNS', message: 'no addresses' };
    return { ok: true, addresses: found.map((entry) => entry.address) };
  } catch (error: unknown) {
    return { ok: false, code: 'KZP_ERR_DNS', message: `lookup failed: ${errorCode(error)}` };
  }
}

function errorCode(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return 'unknown';
}
