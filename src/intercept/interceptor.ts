import type { Interceptor } from '../contract/interceptor.js';
import type { Target } from '../contract/target.js';
import type { CertificateAuthority } from './ca-load.js';
import { createCertificateCache } from './certificate-cache.js';
import { createLeafIssuer, LEAF_VALIDITY_MS } from './leaf-issuer.js';

export interface InterceptorOptions {
  readonly ca: CertificateAuthority;
  /** intercept.hosts as a predicate (the policies' domain matcher, built by the caller). */
  readonly intercepts: (target: Target) => boolean;
  readonly maxHosts?: number;
  readonly now?: () => number;
}

export interface CaInterceptor extends Interceptor {
  readonly stats: { readonly minted: number; readonly cached: number };
}

const DEFAULT_MAX_HOSTS = 1_000;
/** Re-mint daily: a long-running proxy never serves a leaf close to its end. */
const REUSE_MS = Math.min(86_400_000, LEAF_VALIDITY_MS / 2);

export function createInterceptor(options: InterceptorOptions): CaInterceptor {
  const issuer = createLeafIssuer(options.ca, options.now);
  const certificates = createCertificateCache(issuer, { maxHosts: options.maxHosts ?? DEFAULT_MAX_HOSTS, ttlMs: REUSE_MS });
  return {
    caFile: options.ca.certFile,
    intercepts: options.intercepts,
    secureContext: (target) => certificates.contextFor(target.host),
    stats: {
      get minted() {
        return certificates.minted;
      },
      get cached() {
        return certificates.size;
      },
    },
  };
}
