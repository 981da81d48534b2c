import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A throwaway CA and a leaf for localhost, 127.0.0.1 and ::1, made with the openssl CLI (P-256: fast). */
export interface TestCa {
  readonly caPem: string;
  readonly caFile: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly dir: string;
  remove(): Promise<void>;
}

/** How the leaf may be used: `clientAuth` makes a certificate no TLS client accepts from a server (INVALID_PURPOSE). */
export interface TestCaOptions {
  readonly extendedKeyUsage?: 'serverAuth' | 'clientAuth';
}

const leafExtensions = (extraNames: readonly string[], extendedKeyUsage: string): string =>
  [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    `extendedKeyUsage=${extendedKeyUsage}`,
    `subjectAltName=${['DNS:localhost', 'IP:127.0.0.1', 'IP:::1', ...extraNames.map((name) => (/^[\d.]+$/.test(name) ? `IP:${name}` : `DNS:${name}`))].join(',')}`,
  ].join('\n');

/** `extraNames`: more DNS names or IPv4 addresses for the leaf (an intercepted origin posing as api.stripe.com, 127.0.0.2). */
export async function createTestCa(extraNames: readonly string[] = [], options: TestCaOptions = {}): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), 'kzp-test-ca-'));
  const path = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-keyout', path('ca.key'), '-out', path('ca.pem'), '-days', '2', '-subj', '/CN=kaizen-proxy test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await run('openssl', ['req', '-new', ...ec, '-keyout', path('leaf.key'), '-out', path('leaf.csr'), '-subj', '/CN=localhost']);
  await writeFile(path('leaf.ext'), leafExtensions(extraNames, options.extendedKeyUsage ?? 'serverAuth'));
  await run('openssl', ['x509', '-req', '-in', path('leaf.csr'), '-CA', path('ca.pem'), '-CAkey', path('ca.key'), '-CAcreateserial', '-out', path('leaf.pem'), '-days', '2', '-extfile', path('leaf.ext')]);
  const [caPem, certPem, keyPem] = await Promise.all([readFile(path('ca.pem'), 'utf8'), readFile(path('leaf.pem'), 'utf8'), readFile(path('leaf.key'), 'utf8')]);
  return {
    caPem,
    caFile: path('ca.pem'),
    certPem,
    keyPem,
    dir,
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
