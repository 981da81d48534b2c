import { X509Certificate } from 'node:crypto';
import { readPemCertificates } from '../net/pem-certificates.js';
import type { ConfigErrorCode } from './types.js';

export type UpstreamCaLoad =
  | { readonly ok: true; readonly pems: readonly string[] }
  /** `where`: the CA file and the line of the block that is not a certificate ("file:line"), when it is one. */
  | { readonly ok: false; readonly code: ConfigErrorCode; readonly message: string; readonly where?: string };

/**
 * Read intercept.upstream_ca once, at load (like api_key_file): the PEM certificates it holds. A
 * file that cannot be read is KZP_ERR_CONFIG_READ; one without a certificate, or with a block that
 * does not parse as one, is KZP_ERR_CONFIG_INVALID, naming the block and its line (createSecureContext
 * skips such a block without a word, so a file of one corrupt certificate would trust nothing).
 */
export function readUpstreamCa(file: string | null): UpstreamCaLoad {
  if (file === null) return { ok: true, pems: [] };
  const read = readPemCertificates(file);
  if (!read.ok) {
    return read.unreadable
      ? { ok: false, code: 'KZP_ERR_CONFIG_READ', message: `cannot read ${file} (${read.reason})` }
      : { ok: false, code: 'KZP_ERR_CONFIG_INVALID', message: `${file} holds no PEM certificate` };
  }
  const bad = read.pems.findIndex((pem) => !isCertificate(pem));
  if (bad === -1) return { ok: true, pems: read.pems };
  return {
    ok: false,
    code: 'KZP_ERR_CONFIG_INVALID',
    where: `${file}:${String(read.lines[bad] ?? 1)}`,
    message: `certificate ${String(bad + 1)} of ${String(read.pems.length)} does not parse as an X.509 certificate`,
  };
}

function isCertificate(pem: string): boolean {
  try {
    new X509Certificate(pem);
    return true;
  } catch {
    return false;
  }
}
