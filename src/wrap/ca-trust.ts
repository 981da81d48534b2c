import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProxyConfig } from '../config/types.js';
import { loadCa } from '../intercept/ca-load.js';
import type { ChildEnvLayer } from './child-env.js';
import { PEM_CERTIFICATE } from '../net/pem-certificates.js';
import { certificatesIn } from './pem-file.js';
import { SYSTEM_BUNDLE_FILES, systemRoots } from './system-roots.js';
import { readWgetSettings, SYSTEM_WGETRC, wgetrcWith } from './wget-config.js';

/** Variables that add to a client's default roots: they get the CA (plus what the parent already added there). */
export const ADDING_VARIABLES = ['NODE_EXTRA_CA_CERTS', 'DENO_CERT'] as const;
/** Variables that replace a client's roots: they get the combined bundle. */
export const REPLACING_VARIABLES = ['SSL_CERT_FILE', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'GIT_SSL_CAINFO', 'PIP_CERT', 'AWS_CA_BUNDLE'] as const;

export interface CaTrust {
  /** Sets the variables in the child's environment. */
  readonly layer: ChildEnvLayer;
  /** The combined bundle: the system's roots, the CA, and every CA the parent already trusted. */
  readonly bundleFile: string;
  /** Deletes the files written for this run. */
  remove(): Promise<void>;
}

export interface CaTrustOptions {
  /** Where the system's default roots are looked for (SYSTEM_BUNDLE_FILES). */
  readonly systemBundles?: readonly string[];
  /** wget's system-wide settings file (SYSTEM_WGETRC). */
  readonly systemWgetrc?: string;
}

/**
 * Wrap mode with interception: the child must trust the interception CA, without losing any CA it
 * trusted before. Adding variables get the CA alone (or, when the parent set one, its file plus
 * the CA); replacing ones get a bundle written at start: the system's default roots (systemRoots:
 * private roots installed there included), the CA, and the certificates of every file the parent
 * named in these variables, each certificate once. wget, which ignores those variables when built
 * with GnuTLS, gets WGETRC: a copy of the user's own wgetrc plus ca_certificate = the bundle, which
 * then also holds the CA file wget was told to trust (readWgetSettings). The CA is checked first
 * (expired, unreadable, mismatched: its KZP_ERR_CA_* code). `caDir` must be absolute (config load makes it so): the
 * child resolves the CA file against its own working directory.
 */
export async function prepareCaTrust(caDir: string, parent: NodeJS.ProcessEnv, options: CaTrustOptions = {}): Promise<CaTrust> {
  const ca = await loadCa(caDir);
  const roots = await systemRoots(parent, options.systemBundles ?? SYSTEM_BUNDLE_FILES);
  const parentCerts = new Map<string, readonly string[]>();
  for (const name of [...ADDING_VARIABLES, ...REPLACING_VARIABLES]) {
    const file = parent[name];
    if (file !== undefined && file !== '') parentCerts.set(name, await certificatesIn(file));
  }
  const dir = await mkdtemp(join(tmpdir(), 'kaizen-proxy-trust-'));
  const bundleFile = join(dir, 'ca-bundle.pem');
  const wget = await readWgetSettings(parent, options.systemWgetrc ?? SYSTEM_WGETRC);
  const wgetCerts = wget?.caCertificate == null ? [] : await certificatesIn(wget.caCertificate);
  const inherited = [...parentCerts.values()].flat();
  await writeFile(bundleFile, joinUnique([...roots, ca.certPem, ...inherited, ...wgetCerts]));
  let wgetrc: string | null = null;
  if (wget !== null) {
    // A copy of the user's wgetrc may hold passwords: readable by the user only (the directory is too).
    wgetrc = join(dir, 'wgetrc');
    await writeFile(wgetrc, wgetrcWith(wget.userBytes, bundleFile), { mode: 0o600 });
  }
  const adding = new Map<string, string>();
  for (const name of ADDING_VARIABLES) {
    const own = parentCerts.get(name);
    if (own === undefined || own.length === 0) {
      adding.set(name, ca.certFile);
      continue;
    }
    const file = join(dir, `${name.toLowerCase()}.pem`);
    await writeFile(file, joinUnique([...own, ca.certPem]));
    adding.set(name, file);
  }
  return {
    bundleFile,
    layer: {
      name: 'ca-trust',
      apply(env) {
        for (const [name, file] of adding) env[name] = file;
        for (const name of REPLACING_VARIABLES) env[name] = bundleFile;
        if (wgetrc !== null) env['WGETRC'] = wgetrc;
      },
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** The child's CA trust when interception is on (intercept.hosts set); null otherwise. */
export function caTrustFor(config: ProxyConfig, parent: NodeJS.ProcessEnv): Promise<CaTrust | null> {
  return config.intercept.hosts.length === 0 ? Promise.resolve(null) : prepareCaTrust(config.intercept.caDir, parent);
}

/** One PEM per certificate, compared on its base64 body, in first-seen order. */
function joinUnique(pems: readonly string[]): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const pem of pems) {
    for (const cert of pem.match(PEM_CERTIFICATE) ?? []) {
      const body = cert.replace(/-----[A-Z ]+-----|\s/g, '');
      if (seen.has(body)) continue;
      seen.add(body);
      out.push(cert);
    }
  }
  return `${out.join('\n')}\n`;
}
