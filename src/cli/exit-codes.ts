import { EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND } from '../wrap/child-outcome.js';

/** Process exit codes of the kaizen-proxy command. */
export const EXIT = {
  OK: 0,
  /** Configuration invalid, or a check found a block. */
  CONFIG: 1,
  /** Command-line usage error. */
  USAGE: 2,
  /** The proxy could not start (port in use, permission). */
  START: 3,
  /** Wrap mode: the command exists but cannot be run (permission). */
  NOT_EXECUTABLE: EXIT_NOT_EXECUTABLE,
  /** Wrap mode: the command was not found. */
  NOT_FOUND: EXIT_NOT_FOUND,
} as const;
