import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { ConfigErrorCode, ConfigIssue } from './types.js';

/**
 * The most a configuration file may hold. Parsing runs on the main thread, at start and on every
 * reload: 10,000 policies (the most the schema takes) are under 1 MB, while a 16 MB file held every
 * connection for 17 s and kept 1.7 GB before the schema refused it.
 */
export const MAX_CONFIG_FILE_BYTES = 2 * 1024 * 1024;
const MAX_SHOWN = '2 MiB';

const CHUNK_BYTES = 64 * 1024;

/** The first bytes of a file, and its size when it is a regular file (null for a pipe or a device). */
export interface FileHead {
  readonly bytes: Buffer;
  readonly size: number | null;
}

/** At most `limit` bytes from the start of `file`, whatever its size; throws what fs throws. */
export function readFileHead(file: string, limit: number): FileHead {
  const fd = openSync(file, 'r');
  try {
    const stat = fstatSync(fd);
    const chunks: Buffer[] = [];
    let total = 0;
    while (total < limit) {
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, limit - total));
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      chunks.push(chunk.subarray(0, read));
      total += read;
    }
    return { bytes: Buffer.concat(chunks, total), size: stat.isFile() ? stat.size : null };
  } finally {
    closeSync(fd);
  }
}

export type ConfigFileText = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly code: ConfigErrorCode; readonly issue: ConfigIssue };

/**
 * The configuration file as text: refused past MAX_CONFIG_FILE_BYTES before any parse (no more than
 * one byte past the cap is read, a pipe included).
 */
export function readConfigFile(file: string): ConfigFileText {
  let head: FileHead;
  try {
    head = readFileHead(file, MAX_CONFIG_FILE_BYTES + 1);
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    return { ok: false, code: 'KZP_ERR_CONFIG_READ', issue: { where: file, key: '(file)', message: `cannot read the configuration file (${reason})` } };
  }
  const { bytes, size } = head;
  if (bytes.length > MAX_CONFIG_FILE_BYTES || (size ?? 0) > MAX_CONFIG_FILE_BYTES) {
    const shown = size === null ? `more than ${String(MAX_CONFIG_FILE_BYTES)}` : String(Math.max(size, bytes.length));
    const message = `the file is ${shown} bytes: a configuration file may hold at most ${MAX_SHOWN} (${String(MAX_CONFIG_FILE_BYTES)} bytes)`;
    return { ok: false, code: 'KZP_ERR_CONFIG_INVALID', issue: { where: file, key: '(file)', message } };
  }
  return { ok: true, text: bytes.toString('utf8') };
}
