import { readFileSync } from 'node:fs';
import { isatty } from 'node:tty';

/**
 * Whether a Ctrl-C typed at a terminal reaches the wrapper's process group: the wrapper is in the
 * foreground process group of its controlling terminal. The child shares that group, so the
 * terminal signals it too, and forwarding SIGINT would deliver it twice.
 *
 * Whether stdin is a terminal does not answer this: `cmd < file` or `echo x | kaizen-proxy -- cmd`
 * at a terminal is still in its foreground, and a process in another session still has the
 * terminal as stdin. Node has no tcgetpgrp, so on Linux the kernel's own answer is read from
 * /proc/self/stat: tpgid (the controlling terminal's foreground group, -1 without one) against
 * pgrp, no native addon and no child process. It is asked when a SIGINT arrives (rare), not at
 * start, since job control can move the wrapper between foreground and background meanwhile.
 * Without /proc, any of stdin, stdout and stderr on a terminal is taken to mean the foreground.
 */
export function inTerminalForeground(): boolean {
  let stat: string;
  try {
    stat = readFileSync('/proc/self/stat', 'utf8');
  } catch {
    return isatty(0) || isatty(1) || isatty(2);
  }
  // The fields after the command name, which is in parentheses and may itself hold spaces and ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const pgrp = Number(fields[2]);
  const tpgid = Number(fields[5]);
  return tpgid > 0 && tpgid === pgrp;
}
