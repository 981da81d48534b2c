import { LRUCache } from 'lru-cache';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { LeafIssuer } from './leaf-issuer.js';

/** Server TLS contexts per intercepted host, minted on first use and kept in an LRU. */
export interface CertificateCache {
  /** The context for a canonical host; concurrent first calls for one host share one mint. */
  contextFor(host: string): Promise<SecureContext>;
  /** Certificates minted so far (the coalescing test and the bench read it). */
  readonly minted: number;
  readonly size: number;
}

export interface CertificateCacheOptions {
  readonly maxHosts: number;
  /** How long a minted certificate is reused; below the leaf's validity, so none is served expired. */
  readonly ttlMs: number;
}

export function createCertificateCache(issuer: LeafIssuer, options: CertificateCacheOptions): CertificateCache {
  let minted = 0;
  const cache = new LRUCache<string, SecureContext>({
    max: options.maxHosts,
    ttl: options.ttlMs,
    // fetchMethod: a miss starts one mint; every caller asking meanwhile awaits that same one.
    fetchMethod: (host) => {
      minted++;
      const leaf = issuer.issue(host);
      return Promise.resolve(createSecureContext({ key: issuer.keyPem, cert: leaf.certPem, minVersion: 'TLSv1.2' }));
    },
  });
  return {
    async contextFor(host) {
      const context = await cache.fetch(host);
      if (context === undefined) throw new Error(`no certificate for ${host}`);
      return context;
    },
    get minted() {
      return minted;
    },
    get size() {
      return cache.size;
    },
  };
}
