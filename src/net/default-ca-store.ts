import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';

/** The process's default CA store as PEM, and a NODE_EXTRA_CA_CERTS file left out because it could not be used. */
export interface DefaultCaStore {
  readonly pems: readonly string[];
  readonly ignored: { readonly file: string; readonly reason: string } | null;
}

/** `tls.getCACertificates` (Node >= 22.15 and 23.10): absent from Node 20's typings, so looked up. */
type GetCaCertificates = (type: 'default') => string[];

const CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * What Node trusts when a TLS client names no `ca`: its bundled roots plus the certificates of
 * NODE_EXTRA_CA_CERTS. A `ca` option replaces that store instead of adding to it, so TLS that
 * must trust more CAs starts from this list. Where Node can list its store it is asked;
 * elsewhere the bundled roots and the PEM certificates of NODE_EXTRA_CA_CERTS are read here (the
 * upstream pool calls this once, at start). A file that cannot be read, or holds no certificate, is
 * ignored as Node ignores it,
 * and named in `ignored` so the caller can warn.
 */
export function defaultCaStore(env: NodeJS.ProcessEnv = process.env): DefaultCaStore {
  const getCaCertificates = (tls as { readonly getCACertificates?: GetCaCertificates }).getCACertificates;
  const file = env['NODE_EXTRA_CA_CERTS'];
  const extra = file === undefined || file === '' ? null : readExtra(file);
  const ignored = extra !== null && 'reason' in extra ? { file: extra.file, reason: extra.reason } : null;
  // Where Node lists its own store it has read the file already (and warned on stderr when it could
  // not); the file is still read here, so the log names one it left out, on every runtime alike.
  if (typeof getCaCertificates === 'function') return { pems: getCaCertificates('default'), ignored };
  if (extra === null || 'reason' in extra) return { pems: tls.rootCertificates, ignored };
  return { pems: [...tls.rootCertificates, ...extra.pems], ignored: null };
}

function readExtra(file: string): { readonly pems: readonly string[] } | { readonly file: string; readonly reason: string } {
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch (error) {
    return { file, reason: error instanceof Error && 'code' in error ? String(error.code) : 'unreadable' };
  }
  const found = text.match(CERTIFICATE) ?? [];
  if (found.length === 0) return { file, reason: 'no PEM certificate' };
  return { pems: found.map((pem) => `${pem}\n`) };
}
