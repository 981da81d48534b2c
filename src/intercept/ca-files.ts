import { join } from 'node:path';

/** Where a CA lives inside its directory (`intercept.ca_dir`, `ca init --dir`). */
export interface CaPaths {
  readonly dir: string;
  /** The CA certificate (PEM): the file clients trust. */
  readonly cert: string;
  /** The CA's private key (PEM, PKCS#8), mode 0600. */
  readonly key: string;
}

export const DEFAULT_CA_DIR = 'certs';

export function caPaths(dir: string): CaPaths {
  return { dir, cert: join(dir, 'ca.pem'), key: join(dir, 'ca-key.pem') };
}

/** Written beside a new CA when the directory has none, so generated keys stay out of git. */
export const CA_DIR_GITIGNORE = '# Generated CA material stays on the machine that made it.\n*\n!.gitignore\n';
