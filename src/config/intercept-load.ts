import { readFileSync } from 'node:fs';
import type { ConfigErrorCode } from './types.js';

export type UpstreamCaLoad = { readonly ok: true; readonly pems: readonly string[] } | { readonly ok: false; readonly code: ConfigErrorCode; readonly message: string };

const CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * Read intercept.upstream_ca once, at load (like api_key_file): the PEM certificates it holds. A
 * file that cannot be read is KZP_ERR_CONFIG_READ, one without a certificate KZP_ERR_CONFIG_INVALID.
 */
export function readUpstreamCa(file: string | null): UpstreamCaLoad {
  if (file === null) return { ok: true, pems: [] };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    return { ok: false, code: 'KZP_ERR_CONFIG_READ', message: `cannot read ${file} (${reason})` };
  }
  const pems = text.match(CERTIFICATE) ?? [];
  if (pems.length === 0) return { ok: false, code: 'KZP_ERR_CONFIG_INVALID', message: `${file} holds no PEM certificate` };
  return { ok: true, pems: pems.map((pem) => `${pem}\n`) };
}
