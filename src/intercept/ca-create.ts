import { generateKeyPairSync } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KaizenProxyError } from '../errors/kaizen-error.js';
import { caPaths, CA_DIR_GITIGNORE } from './ca-files.js';
import { loadCa, type CertificateAuthority } from './ca-load.js';
import { buildCertificate, caExtensions, distinguishedName, keyIdentifier } from './certificate-builder.js';
import { replaceFiles } from './replace-files.js';

export interface CaInitOptions {
  /** The CA's common name, as clients show it in trust stores. */
  readonly name: string;
  readonly days: number;
  /** Replace a CA that already exists (clients that trusted the old one stop trusting the proxy). */
  readonly force: boolean;
  readonly now?: Date;
}

export const DEFAULT_CA_NAME = 'kaizen-proxy interception CA';
export const DEFAULT_CA_DAYS = 365;
export const MAX_CA_DAYS = 3650;
/** X.520 upper bound for a common name. */
export const MAX_CA_NAME = 64;
/** Valid from a little earlier than now, for clients whose clocks run behind. */
const BACKDATE_MS = 60 * 60 * 1000;

/** A new self-signed ECDSA P-256 CA, in PEM (certificate and PKCS#8 key). */
export function createCaPem(name: string, days: number, now: Date): { readonly certPem: string; readonly keyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const subject = distinguishedName(name, 'kaizen-proxy');
  const der = buildCertificate({
    subject,
    issuer: subject,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + days * 86_400_000),
    spki,
    extensions: caExtensions(keyIdentifier(spki)),
    signingKey: privateKey,
  });
  return { certPem: toPem('CERTIFICATE', der), keyPem: String(privateKey.export({ type: 'pkcs8', format: 'pem' })) };
}

/**
 * `kaizen-proxy ca init`: create the directory (0700), write the certificate and the key (0600) as
 * new files renamed into place, add a `.gitignore` when the directory has none, then load what was
 * written as the proxy would.
 * An existing CA is kept unless `force`: replacing it breaks every client that trusts it.
 * A directory that cannot be made (a file in its place or above it, no permission) or written is
 * KZP_ERR_CA_UNREADABLE, naming the path and the errno.
 */
export async function initCa(dir: string, options: CaInitOptions): Promise<CertificateAuthority> {
  const paths = caPaths(dir);
  if (!options.force && ((await exists(paths.cert)) || (await exists(paths.key)))) {
    throw new KaizenProxyError('KZP_ERR_CA_EXISTS', `a CA already exists in ${dir}; keep it, or replace it with --force (clients that trust it must then trust the new one)`);
  }
  const now = options.now ?? new Date();
  const { certPem, keyPem } = createCaPem(options.name, options.days, now);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new KaizenProxyError('KZP_ERR_CA_UNREADABLE', `cannot create the CA directory ${dir} (${errnoOf(error)}): --dir (or intercept.ca_dir) must be a directory, or a path where one can be made`, { cause: error });
  }
  try {
    const ignore = join(dir, '.gitignore');
    if (!(await exists(ignore))) await writeFile(ignore, CA_DIR_GITIGNORE);
    // Never written into the old files (--force): a replaced file keeps its mode and its readers'
    // open descriptors. New files, renamed over the old ones (replace-files.ts): the key first, the
    // certificate last. The certificate is what clients and wrap mode pick up, so once it is new the
    // key is too; a crash between the two leaves the old certificate with a key that is not its
    // own, which no one loads (KZP_ERR_CA_MISMATCH) and which the next --force replaces. The other
    // order would leave the new private key in a stray temporary file and a new certificate that
    // clients could trust before the proxy can sign with its key.
    await replaceFiles([
      { path: paths.key, data: keyPem, mode: 0o600 },
      { path: paths.cert, data: certPem, mode: 0o644 },
    ]);
  } catch (error) {
    throw new KaizenProxyError('KZP_ERR_CA_UNREADABLE', `cannot write the CA in ${dir} (${errnoOf(error)})`, { cause: error });
  }
  return loadCa(dir, now);
}

function errnoOf(error: unknown): string {
  return error instanceof Error && 'code' in error ? String(error.code) : 'unknown';
}

export function toPem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
