import { createHash, timingSafeEqual } from 'node:crypto';
import type { AdmittedIdentity, Authenticate, ClientIdentity } from '../contract/client-identity.js';
import type { GatewayCredential } from './credentials-file.js';

/** Base64 of a `agent:token` pair is far below this; longer headers are refused unparsed. */
const MAX_HEADER_LENGTH = 4096;
const BASIC = /^basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i;

interface Listed {
  readonly digest: Buffer;
  /** Made once: every request that proves this identity gets the same object. */
  readonly identity: AdmittedIdentity;
}

/**
 * Gateway identity: `Proxy-Authorization: Basic base64(agent:token)`, the token's SHA-256 compared
 * with the listed digest by crypto.timingSafeEqual. An unknown agent is compared against a dummy
 * digest, so the time taken does not tell which agents exist. `admits` holds an identity admitted
 * earlier against these credentials: the same agent listed with the same digest.
 */
export function createAuthenticator(credentials: readonly GatewayCredential[]): Authenticate {
  const listed = new Map<string, Listed>(
    credentials.map((entry) => [entry.agent, { digest: Buffer.from(entry.sha256, 'hex'), identity: { ok: true, agent: entry.agent, sha256: entry.sha256 } }]),
  );
  const dummy = Buffer.alloc(32);
  const authenticate = (header: string | undefined): ClientIdentity => {
    if (header === undefined || header === '') return { ok: false, reason: 'missing' };
    if (header.length > MAX_HEADER_LENGTH) return { ok: false, reason: 'malformed' };
    const match = BASIC.exec(header);
    if (match?.[1] === undefined) return { ok: false, reason: 'malformed' };
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return { ok: false, reason: 'malformed' };
    const agent = decoded.slice(0, colon);
    const presented = createHash('sha256').update(decoded.slice(colon + 1), 'utf8').digest();
    const expected = listed.get(agent);
    const equal = timingSafeEqual(presented, expected?.digest ?? dummy);
    return expected !== undefined && equal ? expected.identity : { ok: false, reason: 'rejected' };
  };
  const admits = (identity: AdmittedIdentity): boolean => listed.get(identity.agent)?.identity.sha256 === identity.sha256;
  return Object.assign(authenticate, { admits });
}
