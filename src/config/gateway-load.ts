import { readFileSync } from 'node:fs';
import { parseCredentialsFile, type GatewayCredential } from '../gateway/credentials-file.js';
import type { ConfigErrorCode } from './types.js';

export type GatewayLoad =
  | { readonly ok: true; readonly credentials: readonly GatewayCredential[] }
  | { readonly ok: false; readonly code: ConfigErrorCode; readonly where: string | null; readonly message: string };

/**
 * Read gateway.credentials_file once, at load (like api_key_file); none means no authentication.
 * A file that cannot be read is KZP_ERR_CONFIG_READ, one read but not usable KZP_ERR_CONFIG_INVALID.
 */
export function readGatewayCredentials(file: string | null): GatewayLoad {
  if (file === null) return { ok: true, credentials: [] };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    return { ok: false, code: 'KZP_ERR_CONFIG_READ', where: null, message: `cannot read ${file} (${reason})` };
  }
  const parsed = parseCredentialsFile(text);
  if (!parsed.ok) return { ok: false, code: 'KZP_ERR_CONFIG_INVALID', where: `${file}:${parsed.line}`, message: parsed.message };
  return { ok: true, credentials: parsed.credentials };
}
