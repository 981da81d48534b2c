import { readFile } from 'node:fs/promises';

/** One PEM certificate, armour included. */
export const CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The PEM certificates of a file; none when it cannot be read (a stale variable must not stop the run). */
export async function certificatesIn(file: string): Promise<string[]> {
  try {
    return (await readFile(file, 'utf8')).match(CERTIFICATE) ?? [];
  } catch {
    return [];
  }
}
