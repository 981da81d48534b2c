import { readFileSync } from 'node:fs';

/** One PEM certificate, armour included. */
export const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** A file's PEM certificates (each ending in a newline), or why it gave none. */
export type PemFile =
  | { readonly ok: true; readonly pems: readonly string[] }
  | { readonly ok: false; readonly unreadable: boolean; readonly reason: string };

/**
 * The PEM certificates of a CA file read whole (intercept.upstream_ca at load, NODE_EXTRA_CA_CERTS at
 * start): `unreadable` with the read error's code when it cannot be read, 'no PEM certificate' when
 * it holds none.
 */
export function readPemCertificates(file: string): PemFile {
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch (error) {
    return { ok: false, unreadable: true, reason: error instanceof Error && 'code' in error ? String(error.code) : 'unreadable' };
  }
  const found = text.match(PEM_CERTIFICATE) ?? [];
  if (found.length === 0) return { ok: false, unreadable: false, reason: 'no PEM certificate' };
  return { ok: true, pems: found.map((pem) => `${pem}\n`) };
}
