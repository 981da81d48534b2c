import { rootCertificates } from 'node:tls';
import { certificatesIn } from './pem-file.js';

/** The default CA bundle files of Debian and Ubuntu, RHEL and Fedora, Alpine and macOS, in that order. */
export const SYSTEM_BUNDLE_FILES: readonly string[] = Object.freeze(['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem']);

/**
 * The roots a client trusts by default, which a replacing variable (SSL_CERT_FILE, CURL_CA_BUNDLE...)
 * takes away from it: OpenSSL's default file, which is the parent's SSL_CERT_FILE when set, else
 * the system's bundle file (the first of `files` that holds a certificate), so that private roots
 * installed there stay trusted. Node's bundled roots only when there is none.
 */
export async function systemRoots(parent: NodeJS.ProcessEnv, files: readonly string[] = SYSTEM_BUNDLE_FILES): Promise<readonly string[]> {
  const opensslDefault = parent['SSL_CERT_FILE'];
  const candidates = opensslDefault === undefined || opensslDefault === '' ? files : [opensslDefault, ...files];
  for (const file of candidates) {
    const certificates = await certificatesIn(file);
    if (certificates.length > 0) return certificates;
  }
  return rootCertificates;
}
