import { createHash, timingSafeEqual } from 'node:crypto';
import type { Authenticate } from '../contract/client-identity.js';
import type { GatewayCredential } from './credentials-file.js';

/** Base64 of a `agent:token` pair is far below this; longer headers are refused unparsed. */
const MAX_HEADER_LENGTH = 4096;
const BASIC = /^basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i;

/**
 * Gateway identity: `Proxy-Authorization: Basic base64(agent:token)`, the token's SHA-256 compared
 * with the listed digest by crypto.timingSafeEqual. An unknown agent is compared against a dummy
 * digest, so the time taken does not tell which agents exist.
 */
export function createAuthenticator(credentials: readonly GatewayCredential[]): Authenticate {
  const digests = new Map(credentials.map((entry) => [entry.agent, Buffer.from(entry.sha256, 'hex')]));
  const dummy = Buffer.alloc(32);
  return (header) => {
    if (header === undefined || header === '') return { ok: false, reason: 'missing' };
    if (header.length > MAX_HEADER_LENGTH) return { ok: false, reason: 'malformed' };
    const match = BASIC.exec(header);
    if (match?.[1] === undefined) return { ok: false, reason: 'malformed' };
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) return { ok: false, reason: 'malformed' };
    const agent = decoded.slice(0, colon);
    const presented = createHash('sha256').update(decoded.slice(colon + 1), 'utf8').digest();
    const expected = digests.get(agent);
    const equal = timingSafeEqual(presented, expected ?? dummy);
    return expected !== undefined && equal ? { ok: true, agent } : { ok: false, reason: 'rejected' };
  };
}
