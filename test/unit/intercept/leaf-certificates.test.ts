import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initCa } from '../../../src/intercept/ca-create.js';
import type { CertificateAuthority } from '../../../src/intercept/ca-load.js';
import { createCertificateCache } from '../../../src/intercept/certificate-cache.js';
import { createLeafIssuer, LEAF_VALIDITY_MS } from '../../../src/intercept/leaf-issuer.js';

describe('leaf certificates', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let caCert: X509Certificate;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-leaf-'));
    ca = await initCa(join(dir, 'ca'), { name: 'leaf test CA', days: 3, force: false });
    caCert = new X509Certificate(ca.certPem);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['api.stripe.com', 'DNS:api.stripe.com'],
    ['127.0.0.1', 'IP Address:127.0.0.1'],
    ['2001:db8::1', 'IP Address:2001:DB8:0:0:0:0:0:1'],
    ['::ffff:192.0.2.1', 'IP Address:0:0:0:0:0:FFFF:C000:201'],
  ])('%s: the SAN names the host, signed by the CA, strict X.509 (openssl -x509_strict)', async (host, san) => {
    const issuer = createLeafIssuer(ca);
    const leaf = new X509Certificate(issuer.issue(host).certPem);
    expect(leaf.subjectAltName).toBe(san);
    expect(leaf.checkIssued(caCert)).toBe(true);
    expect(leaf.verify(caCert.publicKey)).toBe(true);
    expect(host.includes(':') || /^\d/.test(host) ? leaf.checkIP(host) : leaf.checkHost(host)).toBe(host);
    expect(leaf.ca).toBe(false);
    const file = join(dir, 'leaf.pem');
    await writeFile(file, leaf.toString());
    expect(execFileSync('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', ca.certFile, file]).toString()).toContain('OK');
  });

  it('reuses one key for every host, leaves its common name out past 64 characters, and never outlives the CA', () => {
    const issuer = createLeafIssuer(ca);
    const long = `${'a'.repeat(60)}.example.com`;
    const one = new X509Certificate(issuer.issue('one.example').certPem);
    const two = new X509Certificate(issuer.issue(long).certPem);
    expect(one.publicKey.export({ type: 'spki', format: 'der' })).toEqual(two.publicKey.export({ type: 'spki', format: 'der' }));
    // An empty subject: Node 20 reports undefined, Node 24 ''. Either way, no common name.
    expect((two.subject as string | undefined) ?? '').not.toMatch(/CN=/);
    expect(two.checkHost(long)).toBe(long);
    expect(new Date(one.validTo).getTime()).toBeLessThanOrEqual(ca.notAfter.getTime());
    const later = createLeafIssuer(ca, () => ca.notAfter.getTime() - LEAF_VALIDITY_MS / 2);
    expect(later.issue('late.example').notAfter.getTime()).toBe(ca.notAfter.getTime());
  });

  it('concurrent first requests for one host mint one certificate; other hosts mint their own', async () => {
    const cache = createCertificateCache(createLeafIssuer(ca), { maxHosts: 10, ttlMs: 60_000 });
    const contexts = await Promise.all(Array.from({ length: 20 }, () => cache.contextFor('burst.example')));
    expect(new Set(contexts).size).toBe(1);
    expect(cache.minted).toBe(1);
    await cache.contextFor('other.example');
    await cache.contextFor('burst.example');
    expect(cache.minted).toBe(2);
  });

  it('keeps at most maxHosts certificates (least recently used leave first)', async () => {
    const cache = createCertificateCache(createLeafIssuer(ca), { maxHosts: 2, ttlMs: 60_000 });
    for (const host of ['a.example', 'b.example', 'c.example']) await cache.contextFor(host);
    expect(cache.size).toBe(2);
    await cache.contextFor('a.example');
    expect(cache.minted).toBe(4);
  });
});
