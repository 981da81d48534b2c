import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCaPem, initCa } from '../../../src/intercept/ca-create.js';
import type { CertificateAuthority } from '../../../src/intercept/ca-load.js';
import { prepareCaTrust, REPLACING_VARIABLES } from '../../../src/wrap/ca-trust.js';
import type { MutableEnv } from '../../../src/wrap/child-env.js';

const CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;
const fingerprints = (pem: string): string[] => (pem.match(CERTIFICATE) ?? []).map((cert) => new X509Certificate(cert).fingerprint256);

describe('wrap mode: the child trusts the interception CA', () => {
  let dir: string;
  let ca: CertificateAuthority;
  let corporate: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-trust-'));
    ca = await initCa(join(dir, 'certs'), { name: 'trust test CA', days: 2, force: false });
    corporate = createCaPem('corporate root', 2, new Date()).certPem;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('adding variables get the CA alone; replacing ones a bundle of the roots (once each) and the CA', async () => {
    const trust = await prepareCaTrust(join(dir, 'certs'), {});
    const env: MutableEnv = {};
    trust.layer.apply(env, { host: '127.0.0.1', port: 1 });
    expect(env['NODE_EXTRA_CA_CERTS']).toBe(ca.certFile);
    expect(env['DENO_CERT']).toBe(ca.certFile);
    for (const name of REPLACING_VARIABLES) expect(env[name]).toBe(trust.bundleFile);
    const bundle = fingerprints(await readFile(trust.bundleFile, 'utf8'));
    expect(new Set(bundle).size).toBe(bundle.length);
    expect(bundle).toContain(ca.fingerprint256);
    expect(bundle.length).toBe(new Set(rootCertificates.map((pem) => new X509Certificate(pem).fingerprint256)).size + 1);
    await trust.remove();
    await expect(stat(trust.bundleFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('keeps what the parent already trusted: its NODE_EXTRA_CA_CERTS gains the CA, its SSL_CERT_FILE joins the bundle', async () => {
    const extra = join(dir, 'corporate.pem');
    await writeFile(extra, corporate);
    const sslFile = join(dir, 'ssl.pem');
    // A root already in the bundle, and one only the parent has.
    await writeFile(sslFile, `${rootCertificates[0] ?? ''}\n${corporate}`);
    const trust = await prepareCaTrust(join(dir, 'certs'), { NODE_EXTRA_CA_CERTS: extra, SSL_CERT_FILE: sslFile, CURL_CA_BUNDLE: join(dir, 'missing.pem') });
    const env: MutableEnv = {};
    trust.layer.apply(env, { host: '127.0.0.1', port: 1 });
    const nodeExtra = env['NODE_EXTRA_CA_CERTS'] ?? '';
    expect(nodeExtra).not.toBe(extra);
    const corporateFingerprint = fingerprints(corporate)[0];
    expect(fingerprints(await readFile(nodeExtra, 'utf8'))).toEqual([corporateFingerprint, ca.fingerprint256]);
    expect(env['DENO_CERT']).toBe(ca.certFile);
    const bundle = fingerprints(await readFile(trust.bundleFile, 'utf8'));
    expect(bundle).toContain(corporateFingerprint);
    expect(new Set(bundle).size).toBe(bundle.length);
    await trust.remove();
  });

  it('an unusable CA is refused before anything is written', async () => {
    await expect(prepareCaTrust(join(dir, 'nowhere'), {})).rejects.toMatchObject({ code: 'KZP_ERR_CA_UNREADABLE' });
  });
});
