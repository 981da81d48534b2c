import { readFile } from 'node:fs/promises';
import { PEM_CERTIFICATE } from '../net/pem-certificates.js';

/** The PEM certificates of a file; none when it cannot be read (a stale variable must not stop the run). */
export async function certificatesIn(file: string): Promise<string[]> {
  try {
    return (await readFile(file, 'utf8')).match(PEM_CERTIFICATE) ?? [];
  } catch {
    return [];
  }
}
