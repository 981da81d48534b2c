import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObservedRecord } from './observed-record.js';
import { parseRecord, recordToWire } from './record-wire.js';

/** The folder under data_dir that holds one record per agent. */
export const OBSERVED_DIR = 'observed';
/** Encoded names longer than this are shortened and made unique with a digest (file names stop at 255 bytes). */
const MAX_NAME = 200;

/**
 * An agent name as a file name: percent-encoded (so `/`, `\`, `%`, NUL and friends cannot escape
 * the folder or collide), a leading dot encoded too (no hidden files, no `..`), long names cut and
 * suffixed with a digest of the whole name. The file itself holds the real name.
 */
export function agentFileName(agent: string): string {
  let encoded = encodeURIComponent(agent)
    .replace(/[!'()*~]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/^\./, '%2E');
  if (encoded.length > MAX_NAME) {
    const digest = createHash('sha256').update(agent).digest('hex').slice(0, 16);
    encoded = `${encoded.slice(0, MAX_NAME - 20).replace(/%[0-9A-F]?$/, '')}~${digest}`;
  }
  return `${encoded}.json`;
}

export function recordPath(dataDir: string, agent: string): string {
  return join(dataDir, OBSERVED_DIR, agentFileName(agent));
}

export type ReadRecord =
  | { readonly kind: 'found'; readonly record: ObservedRecord }
  | { readonly kind: 'missing' }
  | { readonly kind: 'invalid'; readonly message: string };

export async function readRecord(file: string): Promise<ReadRecord> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (errnoOf(error) === 'ENOENT') return { kind: 'missing' };
    return { kind: 'invalid', message: `cannot read it (${errnoOf(error)})` };
  }
  const parsed = parseRecord(text);
  return parsed.ok ? { kind: 'found', record: parsed.record } : { kind: 'invalid', message: parsed.message };
}

let sequence = 0;

/**
 * Replace the file atomically: a temporary file beside it (same folder, so the rename never crosses
 * file systems), then rename over it. A reader sees the old record or the new one, never half.
 */
export async function writeRecordAtomically(file: string, record: ObservedRecord, now: number): Promise<void> {
  const folder = join(file, '..');
  await mkdir(folder, { recursive: true, mode: 0o700 });
  const temporary = `${file}.${process.pid}.${++sequence}.tmp`;
  try {
    await writeFile(temporary, `${JSON.stringify(recordToWire(record, now), null, 1)}\n`, { mode: 0o600 });
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
}

export function errnoOf(error: unknown): string {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.name : 'unknown';
}
