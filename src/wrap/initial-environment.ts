import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';

/** Fields 50 and 51 of /proc/PID/stat (env_start, env_end), counted from field 3, the one after the command name. */
const ENV_START_INDEX = 50 - 3;
const ENV_END_INDEX = 51 - 3;
/** An environment block past this is not one the kernel would have passed (ARG_MAX is far below). */
const MAX_BLOCK_BYTES = 64 * 1024 * 1024;

/**
 * Blank the values of the variables `select` picks in the environment this process was started
 * with, where the kernel shows it to every process of the same user: /proc/PID/environ, and so
 * `ps e`. Deleting one from process.env does not: that block is the one execve copied onto the
 * stack, and it stays as it came. A value's bytes are overwritten with NULs through /proc/self/mem
 * (the variable then reads as empty here too); its name stays. Linux only; returns the names
 * blanked (none when not Linux or /proc/self/mem refused), never throws.
 */
export function blankInitialVariables(select: (name: string, value: string) => boolean): string[] {
  if (process.platform !== 'linux') return [];
  const blanked: string[] = [];
  try {
    const block = environmentBlock();
    if (block === null) return blanked;
    const fd = openSync('/proc/self/mem', 'r+');
    try {
      const bytes = Buffer.alloc(block.end - block.start);
      if (readSync(fd, bytes, 0, bytes.length, block.start) !== bytes.length) return blanked;
      for (const variable of variablesOf(bytes)) {
        if (!select(variable.name, bytes.toString('latin1', variable.from, variable.to))) continue;
        bytes.fill(0, variable.from, variable.to);
        writeSync(fd, bytes, variable.from, variable.to - variable.from, block.start + variable.from);
        blanked.push(variable.name);
      }
    } finally {
      closeSync(fd);
    }
  } catch {
    // Best effort: the variables stay readable where they were.
  }
  return blanked;
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

/** Each `NAME=value` string of a block of NUL-terminated strings: its name, and where its (non-empty) value lies. */
function* variablesOf(bytes: Buffer): Generator<{ readonly name: string; readonly from: number; readonly to: number }> {
  let at = 0;
  while (at < bytes.length) {
    const nul = bytes.indexOf(0, at);
    const stop = nul === -1 ? bytes.length : nul;
    const equals = bytes.indexOf(0x3d, at);
    if (equals > at && equals + 1 < stop) yield { name: bytes.toString('latin1', at, equals), from: equals + 1, to: stop };
    at = stop + 1;
  }
}
