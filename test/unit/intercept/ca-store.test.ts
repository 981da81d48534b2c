import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCaPem, initCa } from '../../../src/intercept/ca-create.js';
import { caPaths } from '../../../src/intercept/ca-files.js';
import { loadCa } from '../../../src/intercept/ca-load.js';

describe('interception CA: ca init and loading', () => {
  let root: string;
  let cases = 0;
  const fresh = (): string => join(root, `case-${++cases}`);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'kzp-ca-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function writeCa(dir: string, certPem: string, keyPem: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    await writeFile(caPaths(dir).cert, certPem);
    await writeFile(caPaths(dir).key, keyPem);
  }

  it('creates an ECDSA P-256 CA with the name and validity asked for, the key 0600, and a .gitignore', async () => {
    const dir = fresh();
    const now = new Date('2030-01-01T00:00:00Z');
    const ca = await initCa(dir, { name: 'Acme agents CA', days: 90, force: false, now });
    const cert = new X509Certificate(await readFile(ca.certFile));
    expect(cert.ca).toBe(true);
    expect(cert.subject).toContain('CN=Acme agents CA');
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(new Date(cert.validTo).getTime()).toBe(now.getTime() + 90 * 86_400_000);
    expect((await stat(ca.keyFile)).mode & 0o777).toBe(0o600);
    expect(await readFile(join(dir, '.gitignore'), 'utf8')).toContain('*');
    expect(ca.fingerprint256).toBe(cert.fingerprint256);
    // openssl agrees it is a well-formed self-signed CA.
    expect(execFileSync('openssl', ['verify', '-x509_strict', '-no_check_time', '-CAfile', ca.certFile, ca.certFile]).toString()).toContain('OK');
  });

  it('keeps an existing CA unless forced (KZP_ERR_CA_EXISTS), and --force replaces it', async () => {
    const dir = fresh();
    const first = await initCa(dir, { name: 'one', days: 1, force: false });
    await expect(initCa(dir, { name: 'two', days: 1, force: false })).rejects.toMatchObject({ code: 'KZP_ERR_CA_EXISTS' });
    const second = await initCa(dir, { name: 'two', days: 1, force: true });
    expect(second.fingerprint256).not.toBe(first.fingerprint256);
    expect((await stat(second.keyFile)).mode & 0o777).toBe(0o600);
  });

  it('refuses a missing or unreadable CA with KZP_ERR_CA_UNREADABLE and says how to make one', async () => {
    const dir = fresh();
    await expect(loadCa(dir)).rejects.toMatchObject({ code: 'KZP_ERR_CA_UNREADABLE', message: expect.stringContaining('kaizen-proxy ca init') as unknown });
    const { keyPem } = createCaPem('x', 1, new Date());
    await writeCa(dir, 'not a certificate', keyPem);
    await expect(loadCa(dir)).rejects.toMatchObject({ code: 'KZP_ERR_CA_UNREADABLE' });
  });

  it('refuses an expired or not yet valid CA with KZP_ERR_CA_EXPIRED', async () => {
    const dir = fresh();
    const old = createCaPem('old', 1, new Date('2020-01-01T00:00:00Z'));
    await writeCa(dir, old.certPem, old.keyPem);
    await expect(loadCa(dir)).rejects.toMatchObject({ code: 'KZP_ERR_CA_EXPIRED', message: expect.stringContaining('expired') as unknown });
    await expect(loadCa(dir, new Date('2019-12-01T00:00:00Z'))).rejects.toMatchObject({ code: 'KZP_ERR_CA_EXPIRED' });
  });

  it('refuses a key that is not the certificate\'s, and a certificate that is no CA, with KZP_ERR_CA_MISMATCH', async () => {
    const dir = fresh();
    const a = createCaPem('a', 1, new Date());
    const b = createCaPem('b', 1, new Date());
    await writeCa(dir, a.certPem, b.keyPem);
    await expect(loadCa(dir)).rejects.toMatchObject({ code: 'KZP_ERR_CA_MISMATCH', message: expect.stringContaining('is not the key') as unknown });

    const leafDir = fresh();
    await mkdir(leafDir, { recursive: true });
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', caPaths(leafDir).key, '-out', caPaths(leafDir).cert, '-days', '1', '-subj', '/CN=leaf', '-addext', 'basicConstraints=critical,CA:FALSE'], { stdio: 'ignore' });
    await expect(loadCa(leafDir)).rejects.toMatchObject({ code: 'KZP_ERR_CA_MISMATCH', message: expect.stringContaining('not a CA') as unknown });
  });

  it('loads a CA made by openssl (its own subject key identifier becomes the leaves\' authority key id)', async () => {
    const dir = fresh();
    await mkdir(dir, { recursive: true });
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', caPaths(dir).key, '-out', caPaths(dir).cert, '-days', '1', '-subj', '/CN=corp CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign', '-addext', 'subjectKeyIdentifier=0102030405'], { stdio: 'ignore' });
    const ca = await loadCa(dir);
    expect(ca.keyId.toString('hex')).toBe('0102030405');
    expect(ca.commonName).toBe('corp CA');
  });
});
