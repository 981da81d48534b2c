import { readFileSync } from 'node:fs';
import { isatty } from 'node:tty';

/**
 * Whether a signal a terminal sends to its foreground process group (Ctrl-C, Ctrl-\, a resize)
 * reached the command as well as the wrapper: the command is in the wrapper's process group and
 * that group is the foreground group of the wrapper's controlling terminal. Forwarding it then
 * would deliver it twice. A command that left the group (setsid, GNU timeout and some supervisors
 * call setpgid or setsid) got nothing from the terminal and must be forwarded the signal; so must
 * a command whose own group took the foreground from a wrapper left in the background, since the
 * wrapper's signal cannot have come from the terminal then.
 *
 * Whether stdin is a terminal does not answer this: `cmd < file` or `echo x | kaizen-proxy -- cmd`
 * at a terminal is still in its foreground, and a process in another session still has the
 * terminal as stdin. Node has no tcgetpgrp, so on Linux the kernel's own answer is read from
 * /proc: tpgid (the controlling terminal's foreground group, -1 without one) and pgrp of the
 * wrapper, pgrp of the command; no native addon and no child process. It is asked when such a
 * signal arrives, not at start, since job control and the command itself can move either between
 * groups meanwhile. Without /proc, any of stdin, stdout and stderr on a terminal is taken to mean
 * the foreground, and the command to be in the wrapper's group, where it was started.
 */
export function sharesTerminalForeground(childPid: number): boolean {
  const self = groupsOf('self');
  if (self === null) return isatty(0) || isatty(1) || isatty(2);
  if (self.tpgid <= 0 || self.tpgid !== self.pgrp) return false;
  // Unreadable: the command has just been reaped, and nothing is left to forward to either way.
  const child = groupsOf(String(childPid));
  return child === null || child.pgrp === self.tpgid;
}

/** pgrp and tpgid from /proc/<pid>/stat, null where it cannot be read. */
function groupsOf(pid: string): { readonly pgrp: number; readonly tpgid: number } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The fields after the command name, which is in parentheses and may itself hold spaces and ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { pgrp: Number(fields[2]), tpgid: Number(fields[5]) };
}
