import { generateKeyPairSync } from 'node:crypto';
import { toPem } from './ca-create.js';
import type { CertificateAuthority } from './ca-load.js';
import { buildCertificate, distinguishedName, keyIdentifier, leafExtensions } from './certificate-builder.js';

/** Issues server certificates for intercepted hosts, all on one P-256 key made at start. */
export interface LeafIssuer {
  /** The shared leaf key, PEM (PKCS#8): never written to disk. */
  readonly keyPem: string;
  /** A certificate (PEM) for one canonical host: a DNS name or an IP literal. */
  issue(host: string): LeafCertificate;
}

export interface LeafCertificate {
  readonly certPem: string;
  readonly notAfter: Date;
}

/** Long enough to outlive the cache entry, short enough to stay under every client's limit (398 days). */
export const LEAF_VALIDITY_MS = 7 * 86_400_000;
const BACKDATE_MS = 60 * 60 * 1000;
/** Longest common name X.520 allows; longer hosts get an empty subject (the SAN names them). */
const MAX_COMMON_NAME = 64;

/**
 * One ECDSA P-256 key for every leaf: generating a key per host costs far more than signing
 * (RSA-2048 per host: hundreds of ms), and the key never leaves the process. A leaf never
 * outlives its CA.
 */
export function createLeafIssuer(ca: CertificateAuthority, now: () => number = Date.now): LeafIssuer {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const subjectKeyId = keyIdentifier(spki);
  const keyPem = String(privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return {
    keyPem,
    issue(host) {
      const at = now();
      const notAfter = new Date(Math.min(at + LEAF_VALIDITY_MS, ca.notAfter.getTime()));
      const commonName = host.length <= MAX_COMMON_NAME ? host : null;
      const der = buildCertificate({
        subject: distinguishedName(commonName),
        issuer: ca.subject,
        notBefore: new Date(at - BACKDATE_MS),
        notAfter,
        spki,
        extensions: leafExtensions(host, subjectKeyId, ca.keyId, commonName === null),
        signingKey: ca.key,
      });
      return { certPem: toPem('CERTIFICATE', der), notAfter };
    },
  };
}
