import { open, stat } from 'node:fs/promises';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { notStartedMessage } from './child-outcome.js';

/** Linux reads at most this much of a file for its #! line (BINPRM_BUF_SIZE). */
const SHEBANG_BYTES = 256;

/**
 * The line for the operator when the command did not start. exec answers ENOENT both for a file
 * that is not there and for one whose #! interpreter (or ELF loader) is missing: the second is
 * told apart by finding the file as exec did (by its path, else through the child's PATH), so
 * that "command not found" does not send the operator looking for a file that is right there.
 */
export async function notStartedLine(command: string, errno: string, env: NodeJS.ProcessEnv, cwd: string = process.cwd()): Promise<string> {
  if (errno !== 'ENOENT') return notStartedMessage(command, errno);
  const file = await locate(command, env['PATH'], cwd);
  if (file === null) return notStartedMessage(command, errno);
  const interpreter = await shebangInterpreter(file);
  // JSON quoting shows what the #! line holds, a carriage return of a file saved on Windows included.
  if (interpreter !== null) return `${command}: bad interpreter ${JSON.stringify(interpreter)}: not found`;
  return `cannot run ${command}: an interpreter or loader it needs is missing`;
}

/** Where exec found the command: a name with a slash as a path, else the first executable file on PATH. */
async function locate(command: string, path: string | undefined, cwd: string): Promise<string | null> {
  if (command.includes('/')) return (await isFile(resolve(cwd, command), false)) ? command : null;
  for (const dir of (path ?? '').split(delimiter)) {
    const candidate = join(dir === '' ? cwd : isAbsolute(dir) ? dir : resolve(cwd, dir), command);
    if (await isFile(candidate, true)) return candidate;
  }
  return null;
}

async function isFile(file: string, executable: boolean): Promise<boolean> {
  try {
    const info = await stat(file);
    return info.isFile() && (!executable || (info.mode & 0o111) !== 0);
  } catch {
    return false;
  }
}

/** The program named by the file's #! line, as the kernel takes it (up to a space or tab); null without one. */
async function shebangInterpreter(file: string): Promise<string | null> {
  let head: string;
  try {
    const handle = await open(file, 'r');
    try {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(SHEBANG_BYTES), 0, SHEBANG_BYTES, 0);
      head = buffer.subarray(0, bytesRead).toString('latin1');
    } finally {
      await handle.close();
    }
  } catch {
    return null;
  }
  if (!head.startsWith('#!')) return null;
  const interpreter = (head.slice(2).split('\n')[0] ?? '').replace(/^[ \t]+/, '').split(/[ \t]/)[0] ?? '';
  return interpreter === '' ? null : interpreter;
}
