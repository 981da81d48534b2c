import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { looksLikeApiKey } from './key-file-unreadable.js';
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
  return readOpened(openSync(file, 'r'), limit, false) ?? { bytes: Buffer.alloc(0), size: null };
}

/**
 * readFileHead for a running proxy, whose main thread must never wait on the file: opened without
 * waiting (open(2) of a FIFO waits for a writer, for ever if none comes) and null when it is not a
 * regular file (a FIFO, a device, a directory), which is then not read at all.
 */
export function readRegularFileHead(file: string, limit: number): FileHead | null {
  return readOpened(openSync(file, constants.O_RDONLY | constants.O_NONBLOCK), limit, true);
}

function readOpened(fd: number, limit: number, regularOnly: boolean): FileHead | null {
  try {
    const stat = fstatSync(fd);
    if (regularOnly && !stat.isFile()) return null;
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
 * one byte past the cap is read, a pipe included), and unless it is UTF-8 (a UTF-8 byte order mark
 * is dropped), naming the line and the byte, or the UTF-16/32 byte order mark it starts with.
 */
export function readConfigFile(file: string, regularOnly = false): ConfigFileText {
  let head: FileHead | null;
  try {
    head = regularOnly ? readRegularFileHead(file, MAX_CONFIG_FILE_BYTES + 1) : readFileHead(file, MAX_CONFIG_FILE_BYTES + 1);
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    // A key pasted as the path (--config kz_live_...) is named as that mistake, never echoed to stderr.
    if (looksLikeApiKey(file)) {
      const message = `cannot read the configuration file (${reason}): its path looks like an API key (kz_...); the key belongs in KAIZEN_API_KEY or control_plane.api_key_file`;
      return { ok: false, code: 'KZP_ERR_CONFIG_READ', issue: { where: '(config path)', key: '(file)', message } };
    }
    return { ok: false, code: 'KZP_ERR_CONFIG_READ', issue: { where: file, key: '(file)', message: `cannot read the configuration file (${reason})` } };
  }
  if (head === null) {
    const message = 'cannot read the configuration file (not a regular file: a running proxy does not wait on a FIFO or a device)';
    return { ok: false, code: 'KZP_ERR_CONFIG_READ', issue: { where: file, key: '(file)', message } };
  }
  const { bytes, size } = head;
  if (bytes.length > MAX_CONFIG_FILE_BYTES || (size ?? 0) > MAX_CONFIG_FILE_BYTES) {
    const shown = size === null ? `more than ${String(MAX_CONFIG_FILE_BYTES)}` : String(Math.max(size, bytes.length));
    const message = `the file is ${shown} bytes: a configuration file may hold at most ${MAX_SHOWN} (${String(MAX_CONFIG_FILE_BYTES)} bytes)`;
    return { ok: false, code: 'KZP_ERR_CONFIG_INVALID', issue: { where: file, key: '(file)', message } };
  }
  const bom = otherByteOrderMark(bytes);
  if (bom !== null) {
    const message = `the file is ${bom.encoding} (it starts with the byte order mark ${bom.shown}): save it as UTF-8`;
    return { ok: false, code: 'KZP_ERR_CONFIG_INVALID', issue: { where: `${file}:1`, key: '(file)', message } };
  }
  try {
    return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    const offset = firstInvalidByte(bytes);
    const line = lineOf(bytes, offset);
    const byte = `0x${(bytes[offset] ?? 0).toString(16).toUpperCase().padStart(2, '0')}`;
    const message = `the file is not UTF-8: byte ${byte} (offset ${String(offset)}) is not valid there; save it as UTF-8`;
    return { ok: false, code: 'KZP_ERR_CONFIG_INVALID', issue: { where: `${file}:${String(line)}`, key: '(file)', message } };
  }
}

/** UTF-32 before UTF-16: FF FE 00 00 starts with UTF-16 LE's mark. */
const BYTE_ORDER_MARKS = [
  { encoding: 'UTF-32 LE', bytes: [0xff, 0xfe, 0x00, 0x00] },
  { encoding: 'UTF-32 BE', bytes: [0x00, 0x00, 0xfe, 0xff] },
  { encoding: 'UTF-16 LE', bytes: [0xff, 0xfe] },
  { encoding: 'UTF-16 BE', bytes: [0xfe, 0xff] },
] as const;

function otherByteOrderMark(bytes: Buffer): { readonly encoding: string; readonly shown: string } | null {
  const mark = BYTE_ORDER_MARKS.find((candidate) => candidate.bytes.every((byte, index) => bytes[index] === byte));
  if (mark === undefined) return null;
  return { encoding: mark.encoding, shown: mark.bytes.map((byte) => byte.toString(16).toUpperCase().padStart(2, '0')).join(' ') };
}

/**
 * The offset of the first byte that does not decode. The lenient decoder turns it into U+FFFD, as
 * it does every invalid sequence; a U+FFFD the file spells out (EF BF BD) is skipped. Everything
 * before the first invalid byte decoded, so string and byte positions advance together up to it.
 */
function firstInvalidByte(bytes: Buffer): number {
  const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
  let offset = 0;
  let from = 0;
  for (let at = text.indexOf('\uFFFD'); at !== -1; at = text.indexOf('\uFFFD', at + 1)) {
    offset += Buffer.byteLength(text.slice(from, at));
    if (bytes[offset] !== 0xef || bytes[offset + 1] !== 0xbf || bytes[offset + 2] !== 0xbd) return offset;
    offset += 3;
    from = at + 1;
  }
  return offset;
}

function lineOf(bytes: Buffer, offset: number): number {
  let line = 1;
  for (let at = bytes.indexOf(0x0a); at !== -1 && at < offset; at = bytes.indexOf(0x0a, at + 1)) line += 1;
  return line;
}
