import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
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
const readable = (file: string): Promise<string | null> => readFile(file, 'utf8').catch(() => null);

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
    // No system bundle file: the bundle starts from Node's bundled roots.
    const trust = await prepareCaTrust(join(dir, 'certs'), {}, { systemBundles: [join(dir, 'no-system-bundle.pem')] });
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

  it("starts the bundle from the system's bundle file, the first that holds certificates", async () => {
    const system = join(dir, 'system-bundle.pem');
    const privateRoot = createCaPem('private root in the system store', 2, new Date()).certPem;
    await writeFile(system, `${rootCertificates[1] ?? ''}\n${privateRoot}`);
    await writeFile(join(dir, 'empty.pem'), '');
    const trust = await prepareCaTrust(join(dir, 'certs'), {}, { systemBundles: [join(dir, 'missing.pem'), join(dir, 'empty.pem'), system] });
    const bundle = fingerprints(await readFile(trust.bundleFile, 'utf8'));
    // The system's roots, private ones included, then the CA: not Node's bundled roots.
    expect(bundle).toEqual([...fingerprints(rootCertificates[1] ?? ''), ...fingerprints(privateRoot), ca.fingerprint256]);
    await trust.remove();
  });

  it("on this machine: every root of the system's default bundle file is in the bundle", async () => {
    // The default bundle files of Debian, RHEL, Alpine and macOS, in the order the README gives.
    let systemPem: string | null = null;
    for (const file of ['/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem']) {
      systemPem = await readable(file);
      if (systemPem?.includes('-----BEGIN CERTIFICATE-----') === true) break;
      systemPem = null;
    }
    const trust = await prepareCaTrust(join(dir, 'certs'), {});
    const bundle = new Set(fingerprints(await readFile(trust.bundleFile, 'utf8')));
    await trust.remove();
    const expected = systemPem === null ? rootCertificates.flatMap(fingerprints) : fingerprints(systemPem);
    expect(expected.filter((fingerprint) => !bundle.has(fingerprint))).toEqual([]);
    expect(bundle.has(ca.fingerprint256)).toBe(true);
  });

  it("wget: WGETRC names a file of the user's ~/.wgetrc, then ca_certificate = the bundle, which keeps the user's own CA file", async () => {
    const home = join(dir, 'wget-home');
    await mkdir(home, { recursive: true });
    // A UTF-8 file name ending in 'à' (c3 a0: that a0 is no blank to trim).
    await writeFile(join(home, 'corpà'), corporate);
    // wget's names ignore case, '-' and '_'; ~/ is the home directory; the last setting wins.
    // The copy keeps every byte, a Latin-1 one (e4, not UTF-8) included.
    const own = Buffer.concat([
      Buffer.from('# mine\nCa-Certificate = /nowhere.pem\nca_certificate = ~/corpà\n'),
      Buffer.from('header = X-Name: p\xe4ss\ntries = 3', 'latin1'),
    ]);
    await writeFile(join(home, '.wgetrc'), own);
    const trust = await prepareCaTrust(join(dir, 'certs'), { HOME: home }, { systemWgetrc: join(dir, 'no-system-wgetrc') });
    const env: MutableEnv = {};
    trust.layer.apply(env, { host: '127.0.0.1', port: 1 });
    const wgetrc = env['WGETRC'] ?? '';
    expect(wgetrc).not.toBe('');
    // latin1: one character per byte, so the comparison is byte for byte.
    expect(await readFile(wgetrc, 'latin1')).toBe(`${own.toString('latin1')}\nca_certificate = ${trust.bundleFile}\n`);
    expect((await stat(wgetrc)).mode & 0o777).toBe(0o600);
    expect(fingerprints(await readFile(trust.bundleFile, 'utf8'))).toEqual(expect.arrayContaining([fingerprints(corporate)[0], ca.fingerprint256]));
    await trust.remove();
    await expect(stat(wgetrc)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it("wget: $WGETRC replaces ~/.wgetrc, and the system wgetrc's CA file is kept as well", async () => {
    const own = join(dir, 'own-wgetrc');
    await writeFile(own, 'timeout = 5\n');
    const system = join(dir, 'system-wgetrc');
    const systemCa = join(dir, 'system-wget-ca.pem');
    const systemRoot = createCaPem('root named by the system wgetrc', 2, new Date()).certPem;
    await writeFile(systemCa, systemRoot);
    await writeFile(system, `ca_certificate = ${systemCa}\n`);
    const trust = await prepareCaTrust(join(dir, 'certs'), { WGETRC: own, HOME: join(dir, 'wget-home') }, { systemWgetrc: system });
    const env: MutableEnv = {};
    trust.layer.apply(env, { host: '127.0.0.1', port: 1 });
    expect(await readFile(env['WGETRC'] ?? '', 'utf8')).toBe(`timeout = 5\nca_certificate = ${trust.bundleFile}\n`);
    expect(fingerprints(await readFile(trust.bundleFile, 'utf8'))).toContain(fingerprints(systemRoot)[0]);
    await trust.remove();
  });

  it('wget: a $WGETRC that cannot be read is left to wget, which reports it', async () => {
    const trust = await prepareCaTrust(join(dir, 'certs'), { WGETRC: join(dir, 'missing-wgetrc') });
    const env: MutableEnv = {};
    trust.layer.apply(env, { host: '127.0.0.1', port: 1 });
    expect(env).not.toHaveProperty('WGETRC');
    await trust.remove();
  });

  it('an unusable CA is refused before anything is written', async () => {
    await expect(prepareCaTrust(join(dir, 'nowhere'), {})).rejects.toMatchObject({ code: 'KZP_ERR_CA_UNREADABLE' });
  });
});
