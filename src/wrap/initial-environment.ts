import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';

/** Fields 50 and 51 of /proc/PID/stat (env_start, env_end), counted from field 3, the one after the command name. */
const ENV_START_INDEX = 50 - 3;
const ENV_END_INDEX = 51 - 3;
/** An environment block past this is not one the kernel would have passed (ARG_MAX is far below). */
const MAX_BLOCK_BYTES = 64 * 1024 * 1024;

/**
 * Blank the value of `name` in the environment this process was started with, where the kernel
 * shows it to every process of the same user: /proc/PID/environ, and so `ps e`. Deleting it from
 * process.env does not: that block is the one execve copied onto the stack, and it stays as it
 * came. The value's bytes are overwritten with NULs through /proc/self/mem (the variable then
 * reads as empty here too); its name stays. Linux only; false when nothing was blanked (not Linux,
 * no such variable, or /proc/self/mem refused), never a throw.
 */
export function blankInitialVariable(name: string): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const block = environmentBlock();
    if (block === null) return false;
    const fd = openSync('/proc/self/mem', 'r+');
    try {
      const bytes = Buffer.alloc(block.end - block.start);
      if (readSync(fd, bytes, 0, bytes.length, block.start) !== bytes.length) return false;
      let blanked = false;
      for (const value of valuesOf(bytes, Buffer.from(`${name}=`, 'latin1'))) {
        bytes.fill(0, value.from, value.to);
        writeSync(fd, bytes, value.from, value.to - value.from, block.start + value.from);
        blanked = true;
      }
      return blanked;
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

function environmentBlock(): { readonly start: number; readonly end: number } | null {
  const stat = readFileSync('/proc/self/stat', 'latin1');
  // The command name (field 2) is in parentheses and may hold spaces and parentheses itself.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = Number(fields[ENV_START_INDEX]);
  const end = Number(fields[ENV_END_INDEX]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start <= 0 || end <= start || end - start > MAX_BLOCK_BYTES) return null;
  return { start, end };
}

/** Where each `NAME=value` string's value lies in a block of NUL-terminated strings (non-empty values only). */
function* valuesOf(bytes: Buffer, prefix: Buffer): Generator<{ readonly from: number; readonly to: number }> {
  let at = 0;
  while (at < bytes.length) {
    const nul = bytes.indexOf(0, at);
    const stop = nul === -1 ? bytes.length : nul;
    const from = at + prefix.length;
    if (stop > from && bytes.subarray(at, from).equals(prefix)) yield { from, to: stop };
    at = stop + 1;
  }
}
