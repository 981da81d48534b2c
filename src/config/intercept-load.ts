import { readPemCertificates } from '../net/pem-certificates.js';
import type { ConfigErrorCode } from './types.js';

export type UpstreamCaLoad = { readonly ok: true; readonly pems: readonly string[] } | { readonly ok: false; readonly code: ConfigErrorCode; readonly message: string };

/**
 * Read intercept.upstream_ca once, at load (like api_key_file): the PEM certificates it holds. A
 * file that cannot be read is KZP_ERR_CONFIG_READ, one without a certificate KZP_ERR_CONFIG_INVALID.
 */
export function readUpstreamCa(file: string | null): UpstreamCaLoad {
  if (file === null) return { ok: true, pems: [] };
  const read = readPemCertificates(file);
  if (read.ok) return read;
  return read.unreadable
    ? { ok: false, code: 'KZP_ERR_CONFIG_READ', message: `cannot read ${file} (${read.reason})` }
    : { ok: false, code: 'KZP_ERR_CONFIG_INVALID', message: `${file} holds no PEM certificate` };
}
