import { readFileSync } from 'node:fs';

/** One PEM certificate, armour included. */
export const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** A file's PEM certificates (each ending in a newline) and the line each begins on (from 1), or why it gave none. */
export type PemFile =
  | { readonly ok: true; readonly pems: readonly string[]; readonly lines: readonly number[] }
  | { readonly ok: false; readonly unreadable: boolean; readonly reason: string };

/**
 * The PEM certificates of a CA file read whole (intercept.upstream_ca at load, NODE_EXTRA_CA_CERTS at
 * start): `unreadable` with the read error's code when it cannot be read, 'no PEM certificate' when
 * it holds none. Only the armour is looked for here: whether each block is a certificate is the
 * caller's question.
 */
export function readPemCertificates(file: string): PemFile {
  let text: string;
  try {
    text = readFileSync(file, 'latin1');
  } catch (error) {
    return { ok: false, unreadable: true, reason: error instanceof Error && 'code' in error ? String(error.code) : 'unreadable' };
  }
  const pems: string[] = [];
  const lines: number[] = [];
  let line = 1;
  let counted = 0;
  for (const found of text.matchAll(PEM_CERTIFICATE)) {
    line += newlines(text, counted, found.index);
    counted = found.index;
    pems.push(`${found[0]}\n`);
    lines.push(line);
  }
  if (pems.length === 0) return { ok: false, unreadable: false, reason: 'no PEM certificate' };
  return { ok: true, pems, lines };
}

function newlines(text: string, from: number, to: number): number {
  let count = 0;
  for (let at = text.indexOf('\n', from); at !== -1 && at < to; at = text.indexOf('\n', at + 1)) count++;
  return count;
}
