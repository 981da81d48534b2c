import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { KaizenProxyError } from '../errors/kaizen-error.js';
import { caPaths } from './ca-files.js';
import { keyIdentifier } from './certificate-builder.js';
import { children, oid, readElement, type DerElement } from './der.js';

/** A CA read from disk and checked: usable for signing leaves right now. */
export interface CertificateAuthority {
  readonly certFile: string;
  readonly keyFile: string;
  /** The key file's mode bits as read (ca-key-exposure.ts warns when group or others may read it). */
  readonly keyMode: number;
  readonly certPem: string;
  readonly key: KeyObject;
  /** The subject Name, DER, byte for byte: the issuer of every leaf. */
  readonly subject: Buffer;
  /** Its key identifier (its own SKI extension, else computed): the leaves' authority key id. */
  readonly keyId: Buffer;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SHA-256 fingerprint, colon-separated upper-case hex (as `openssl x509 -fingerprint -sha256`). */
  readonly fingerprint256: string;
  readonly commonName: string;
}

/**
 * Read `ca.pem` and `ca-key.pem` from `dir` and refuse, with a stable code, anything the proxy
 * could not sign with: files missing or unreadable (KZP_ERR_CA_UNREADABLE), a certificate outside
 * its validity (KZP_ERR_CA_EXPIRED), a certificate that is no CA or a key that is not its key or
 * not ECDSA P-256 (KZP_ERR_CA_MISMATCH).
 */
export async function loadCa(dir: string, now: Date = new Date()): Promise<CertificateAuthority> {
  const paths = caPaths(dir);
  const certPem = await readPem(paths.cert, dir);
  const keyPem = await readPem(paths.key, dir);
  const keyMode = await modeOf(paths.key);
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certPem);
  } catch {
    throw new KaizenProxyError('KZP_ERR_CA_UNREADABLE', `${paths.cert} is not a PEM certificate`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new KaizenProxyError('KZP_ERR_CA_UNREADABLE', `${paths.key} is not a PEM private key (an unencrypted PKCS#8 or SEC1 key is expected)`);
  }
  if (!certificate.ca) throw new KaizenProxyError('KZP_ERR_CA_MISMATCH', `${paths.cert} is not a CA certificate (basicConstraints CA:FALSE)`);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new KaizenProxyError('KZP_ERR_CA_MISMATCH', `${paths.key} is not an ECDSA P-256 key; create a CA with kaizen-proxy ca init`);
  }
  if (!certificate.checkPrivateKey(key)) {
    // What a `ca init --force` killed between its two renames leaves (replace-files.ts): never used, repaired by a rerun.
    throw new KaizenProxyError('KZP_ERR_CA_MISMATCH', `${paths.key} is not the key of ${paths.cert}; if a kaizen-proxy ca init --force was interrupted, run it again (clients must then trust the new certificate)`);
  }
  const notBefore = new Date(certificate.validFrom);
  const notAfter = new Date(certificate.validTo);
  if (now.getTime() > notAfter.getTime()) {
    throw new KaizenProxyError('KZP_ERR_CA_EXPIRED', `the CA ${paths.cert} expired on ${notAfter.toISOString()}; create a new one (kaizen-proxy ca init --force) and trust it again`);
  }
  if (now.getTime() < notBefore.getTime()) {
    throw new KaizenProxyError('KZP_ERR_CA_EXPIRED', `the CA ${paths.cert} is not valid before ${notBefore.toISOString()} (is the clock right?)`);
  }
  const fields = certificateFields(certificate.raw);
  return {
    certFile: paths.cert,
    keyFile: paths.key,
    keyMode,
    certPem,
    key,
    subject: fields.subject,
    keyId: fields.keyId,
    notBefore,
    notAfter,
    fingerprint256: certificate.fingerprint256,
    commonName: /(?:^|\n)CN=([^\n]*)/.exec(certificate.subject)?.[1] ?? certificate.subject,
  };
}

async function readPem(file: string, dir: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const errno = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    const hint = errno === 'ENOENT' ? `; create a CA with kaizen-proxy ca init --dir ${dir}` : '';
    throw new KaizenProxyError('KZP_ERR_CA_UNREADABLE', `cannot read ${file} (${errno})${hint}`);
  }
}

/** The file's mode bits; 0 (nothing to warn about) in the unlikely case it went between its read and this. */
async function modeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).mode;
  } catch {
    return 0;
  }
}

const SUBJECT_KEY_ID = oid('2.5.29.14');

/** The subject Name and key identifier of a DER certificate. */
function certificateFields(der: Buffer): { subject: Buffer; keyId: Buffer } {
  const certificate = readElement(der, 0);
  const tbsElement = children(der, certificate)[0];
  if (tbsElement === undefined) throw new KaizenProxyError('KZP_ERR_CA_UNREADABLE', 'the CA certificate has no body');
  const tbs = children(der, tbsElement);
  const versioned = tbs[0]?.tag === 0xa0 ? 1 : 0;
  const subject = tbs[versioned + 4];
  const spki = tbs[versioned + 5];
  if (subject === undefined || spki === undefined) throw new KaizenProxyError('KZP_ERR_CA_UNREADABLE', 'the CA certificate is truncated');
  const extensions = tbs.find((element) => element.tag === 0xa3);
  const ski = extensions === undefined ? undefined : subjectKeyId(der, extensions);
  return { subject: slice(der, subject), keyId: ski ?? keyIdentifier(slice(der, spki)) };
}

function subjectKeyId(der: Buffer, wrapper: DerElement): Buffer | undefined {
  const list = children(der, wrapper)[0];
  if (list === undefined) return undefined;
  for (const extension of children(der, list)) {
    const parts = children(der, extension);
    const id = parts[0];
    const value = parts[parts.length - 1];
    if (id === undefined || value === undefined || !slice(der, id).equals(SUBJECT_KEY_ID)) continue;
    // extnValue is an OCTET STRING holding the DER of the key id's own OCTET STRING.
    const inner = readElement(der, value.contentStart);
    return der.subarray(inner.contentStart, inner.end);
  }
  return undefined;
}

function slice(der: Buffer, element: DerElement): Buffer {
  return der.subarray(element.start, element.end);
}
