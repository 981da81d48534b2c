import { isDotSegment } from '../contract/agent-name.js';

/**
 * The gateway's credentials file: one `agent:sha256hex(token)` per line; blank lines and lines
 * starting with `#` are ignored. Only digests are stored, never tokens, so the file (a mounted
 * Secret) does not hand out working credentials when read.
 */
export interface GatewayCredential {
  readonly agent: string;
  /** Lower-case hex SHA-256 of the token (64 characters). */
  readonly sha256: string;
}

export type CredentialsParse =
  | { readonly ok: true; readonly credentials: readonly GatewayCredential[] }
  | { readonly ok: false; readonly line: number; readonly message: string };

const AGENT = /^[^\s/\\:]{1,200}$/;
const DIGEST = /^[0-9a-fA-F]{64}$/;

export function parseCredentialsFile(text: string): CredentialsParse {
  const credentials: GatewayCredential[] = [];
  const seen = new Set<string>();
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const line = (lines[index] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.lastIndexOf(':');
    const agent = colon < 0 ? '' : line.slice(0, colon);
    const digest = colon < 0 ? '' : line.slice(colon + 1);
    if (!AGENT.test(agent)) return { ok: false, line: index + 1, message: 'expected agent:sha256hex, with an agent name without spaces, slashes or colons' };
    if (isDotSegment(agent)) return { ok: false, line: index + 1, message: 'expected agent:sha256hex, with an agent name other than . or ..' };
    if (!DIGEST.test(digest)) return { ok: false, line: index + 1, message: `expected the token's SHA-256 as 64 hex characters after "${agent}:"` };
    if (seen.has(agent)) return { ok: false, line: index + 1, message: `agent ${agent} is listed twice` };
    seen.add(agent);
    credentials.push({ agent, sha256: digest.toLowerCase() });
  }
  if (credentials.length === 0) return { ok: false, line: 1, message: 'the file lists no agent:sha256 line' };
  return { ok: true, credentials };
}
