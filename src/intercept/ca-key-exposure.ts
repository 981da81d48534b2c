import type { CertificateAuthority } from './ca-load.js';

/** A CA key file others than its owner can read, as the warning names it. */
export interface ExposedKey {
  readonly keyFile: string;
  /** Its permission bits in octal, "0644". */
  readonly mode: string;
}

/** Permission bits for the key file's group and everyone else to read it. */
const READABLE_BY_OTHERS = 0o044;

export const EXPOSED_KEY_HINT = 'anyone who can read it can impersonate every intercepted host';

/**
 * The CA's key file when its group or others may read it (ca init writes it 0600; a copy, an
 * unpacked archive or a umask can widen it). The CA is still used: the warning says so, naming the
 * file and its mode, in serve's start, check-config and ca show.
 */
export function exposedKey(ca: CertificateAuthority): ExposedKey | null {
  if ((ca.keyMode & READABLE_BY_OTHERS) === 0) return null;
  return { keyFile: ca.keyFile, mode: `0${(ca.keyMode & 0o777).toString(8).padStart(3, '0')}` };
}
