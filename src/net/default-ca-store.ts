import * as tls from 'node:tls';
import { readPemCertificates } from './pem-certificates.js';

/** The process's default CA store as PEM, and a NODE_EXTRA_CA_CERTS file left out because it could not be used. */
export interface DefaultCaStore {
  readonly pems: readonly string[];
  readonly ignored: { readonly file: string; readonly reason: string } | null;
}

/** `tls.getCACertificates` (Node >= 22.15 and 23.10): absent from Node 20's typings, so looked up. */
type GetCaCertificates = (type: 'default') => string[];

/**
 * What Node trusts when a TLS client names no `ca`: its bundled roots plus the certificates of
 * NODE_EXTRA_CA_CERTS. A `ca` option replaces that store instead of adding to it, so TLS that
 * must trust more CAs starts from this list. Where Node can list its store it is asked;
 * elsewhere the bundled roots and the PEM certificates of NODE_EXTRA_CA_CERTS are read here (the
 * upstream pool calls this once, at start). A file that cannot be read, or holds no certificate, is
 * ignored as Node ignores it, and named in `ignored` so the caller can warn.
 */
export function defaultCaStore(env: NodeJS.ProcessEnv = process.env): DefaultCaStore {
  const getCaCertificates = (tls as { readonly getCACertificates?: GetCaCertificates }).getCACertificates;
  const file = env['NODE_EXTRA_CA_CERTS'];
  const extra = file === undefined || file === '' ? null : readPemCertificates(file);
  const ignored = file !== undefined && extra !== null && !extra.ok ? { file, reason: extra.reason } : null;
  // Where Node lists its own store it has read the file already (and warned on stderr when it could
  // not); the file is still read here, so the log names one it left out, on every runtime alike.
  if (typeof getCaCertificates === 'function') return { pems: getCaCertificates('default'), ignored };
  if (extra === null || !extra.ok) return { pems: tls.rootCertificates, ignored };
  return { pems: [...tls.rootCertificates, ...extra.pems], ignored: null };
}
