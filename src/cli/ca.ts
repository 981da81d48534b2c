import { formatConfigFailure, loadConfig } from '../config/load.js';
import { isKaizenProxyError } from '../errors/kaizen-error.js';
import { initCa } from '../intercept/ca-create.js';
import { EXPOSED_KEY_HINT, exposedKey } from '../intercept/ca-key-exposure.js';
import { loadCa, type CertificateAuthority } from '../intercept/ca-load.js';
import type { CaCommand } from './ca-args.js';
import { EXIT } from './exit-codes.js';

/**
 * `kaizen-proxy ca init` creates the interception CA (ECDSA P-256, key 0600, kept out of git);
 * `kaizen-proxy ca show` prints where it is and its SHA-256 fingerprint. A CA that is missing,
 * unreadable, expired or mismatched is one line on stderr with its code, exit 1; a key file group
 * or others can read is shown all the same, with a warning on stderr.
 */
export async function ca(command: CaCommand): Promise<number> {
  let dir = command.dir;
  if (dir === null) {
    const loaded = loadConfig({ flags: command.config === null ? {} : { config: command.config } });
    if (!loaded.ok) {
      process.stderr.write(formatConfigFailure(loaded));
      return EXIT.CONFIG;
    }
    dir = loaded.config.intercept.caDir;
  }
  try {
    if (command.action === 'init') {
      const created = await initCa(dir, { name: command.caName, days: command.days, force: command.force });
      process.stdout.write(`created the interception CA in ${dir}\n${describe(created)}`);
      process.stdout.write(`Clients trust it through ${created.certFile} (wrap mode sets NODE_EXTRA_CA_CERTS, SSL_CERT_FILE and the like by itself).\n`);
      process.stdout.write(`Keep ${created.keyFile} private: anyone holding it can impersonate every intercepted host.\n`);
    } else {
      const loaded = await loadCa(dir);
      process.stdout.write(describe(loaded));
      const exposed = exposedKey(loaded);
      if (exposed !== null) {
        process.stderr.write(`kaizen-proxy: warning: ${exposed.keyFile} (mode ${exposed.mode}) is readable by group or others: ${EXPOSED_KEY_HINT}; chmod 600 ${exposed.keyFile}\n`);
      }
    }
    return EXIT.OK;
  } catch (error) {
    if (!isKaizenProxyError(error)) throw error;
    process.stderr.write(`kaizen-proxy: ${error.code}: ${error.message}\n`);
    return EXIT.CONFIG;
  }
}

function describe(authority: CertificateAuthority): string {
  return [
    `certificate  ${authority.certFile}`,
    `sha256       ${authority.fingerprint256}`,
    `subject      ${authority.commonName}`,
    `valid        ${authority.notBefore.toISOString()} to ${authority.notAfter.toISOString()}`,
    `key          ${authority.keyFile}`,
    '',
  ].join('\n');
}
