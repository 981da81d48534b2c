import { spawn } from 'node:child_process';
import type { ChildOutcome } from './child-outcome.js';
import { sharesTerminalForeground } from './terminal-foreground.js';

export interface SuperviseOptions {
  /** The command and its arguments, run as given: no shell, so nothing is re-split or expanded. */
  readonly argv: readonly [string, ...string[]];
  readonly env: NodeJS.ProcessEnv;
}

/**
 * Passed on to the command, as tini and dumb-init do: unhandled, SIGQUIT and SIGUSR2 would kill the
 * wrapper and leave the command running without its proxy, and SIGUSR1 would open Node's inspector
 * in the wrapper (see keepInspectorClosed).
 */
const FORWARDED: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

/** What a terminal sends its foreground group for Ctrl-C, Ctrl-\ and a resize. */
const TERMINAL_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set<NodeJS.Signals>(['SIGINT', 'SIGQUIT', 'SIGWINCH']);

/**
 * Run the command in the wrapper's own process group with inherited stdio (so prompts, TTY modes and
 * job control work), and resolve with how it ended. While it runs, SIGTERM, SIGHUP, SIGUSR1 and
 * SIGUSR2 are forwarded to it; SIGINT, SIGQUIT and SIGWINCH too, unless the command shares the
 * wrapper's group and that group is a terminal's foreground (the terminal signalled the command
 * itself: sharesTerminalForeground). The wrapper itself never dies of those signals while the child
 * lives: it waits for the child's answer to them.
 *
 * A signal sent to the whole process group (a shell's `kill %1`, `timeout`, `kill -TERM -PGID`)
 * reaches the command, which shares the group, and the forward delivers it again. Nothing tells it
 * from one aimed at the wrapper alone (`docker stop`, `kill PID`), which must be forwarded, and Node
 * cannot start the command in a group of its own without setsid, which would take its terminal.
 */
export function supervise(options: SuperviseOptions): Promise<ChildOutcome> {
  const [command, ...args] = options.argv;
  return new Promise<ChildOutcome>((resolve) => {
    const child = spawn(command, args, { stdio: 'inherit', env: options.env, shell: false, detached: false });
    const forward = (signal: NodeJS.Signals): void => {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      if (TERMINAL_SIGNALS.has(signal) && sharesTerminalForeground(child.pid)) return;
      child.kill(signal);
    };
    for (const signal of FORWARDED) process.on(signal, forward);
    let settled = false;
    const settle = (outcome: ChildOutcome): void => {
      if (settled) return;
      settled = true;
      for (const signal of FORWARDED) process.off(signal, forward);
      resolve(outcome);
    };
    child.on('error', (error: NodeJS.ErrnoException) => {
      // Only a failed spawn leaves the child without a pid; a kill() error on a live child is ignored.
      if (child.pid === undefined) settle({ kind: 'not-started', errno: error.code ?? 'EUNKNOWN' });
    });
    child.once('exit', (code, signal) => {
      settle(signal !== null ? { kind: 'signalled', signal } : { kind: 'exited', code: code ?? 0 });
    });
  });
}
