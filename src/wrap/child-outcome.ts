import { constants } from 'node:os';

/** How the wrapped command ended. */
export type ChildOutcome =
  | { readonly kind: 'exited'; readonly code: number }
  | { readonly kind: 'signalled'; readonly signal: NodeJS.Signals }
  /** The command could not be started: ENOENT (not found), EACCES (not executable)... */
  | { readonly kind: 'not-started'; readonly errno: string };

/** Not found: the shells' 127. Found but not executable: their 126. */
export const EXIT_NOT_FOUND = 127;
export const EXIT_NOT_EXECUTABLE = 126;

/** The wrapper's exit code: the child's own, or 128+signal as a shell reports a killed child. */
export function exitCodeOf(outcome: ChildOutcome): number {
  switch (outcome.kind) {
    case 'exited':
      return outcome.code;
    case 'signalled':
      return 128 + (constants.signals[outcome.signal] as number | undefined ?? 0);
    case 'not-started':
      return outcome.errno === 'ENOENT' ? EXIT_NOT_FOUND : EXIT_NOT_EXECUTABLE;
  }
}

/** One line for the operator when the command did not start. */
export function notStartedMessage(command: string, errno: string): string {
  switch (errno) {
    case 'ENOENT':
      return `command not found: ${command}`;
    case 'EACCES':
      return `permission denied: ${command}`;
    default:
      return `cannot run ${command} (${errno})`;
  }
}
