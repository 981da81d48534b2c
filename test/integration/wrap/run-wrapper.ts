import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { watchChild } from '../../helpers/watched-child.js';

/** The built CLI (npm test builds first; run `npm run build` before vitest by hand). */
export const CLI = fileURLToPath(new URL('../../../dist/cli.js', import.meta.url));

/** Opens the test origins (127.0.0.2) to the address guard; everything else keeps its default. */
export const OPEN_LOOPBACK = ['--allow-private', '127.0.0.0/8'] as const;

export interface WrapperRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface WrapperOptions {
  /** Added to (or, with undefined values, removed from) the test's environment. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /**
   * Start the wrapper in a session of its own, away from any terminal the test runner has: a
   * wrapper in a terminal's foreground group leaves SIGINT to the terminal and does not forward it.
   */
  readonly newSession?: boolean;
  /** Run the wrapper under `prlimit --nofile=N:N`. */
  readonly nofile?: number;
}

/** A wrapper process with its output collected; `output` resolves when it exits. */
export interface RunningWrapper {
  readonly process: ChildProcess;
  readonly output: Promise<WrapperRun>;
  /** The child's stdout so far. */
  stdout(): string;
  /** Resolves once stdout contains `text`. */
  waitForStdout(text: string): Promise<void>;
}

export function startWrapper(args: readonly string[], options: WrapperOptions = {}): RunningWrapper {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // The test runner's own settings must not leak into the wrapper or the child.
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'all_proxy', 'no_proxy', 'NODE_OPTIONS', 'KAIZEN_AGENT', 'KAIZEN_API_KEY', 'LOG_LEVEL']) {
    env[name] = undefined;
  }
  for (const [name, value] of Object.entries(options.env ?? {})) env[name] = value;
  const command = options.nofile === undefined ? [process.execPath, CLI, ...args] : ['prlimit', `--nofile=${options.nofile}:${options.nofile}`, process.execPath, CLI, ...args];
  const watched = watchChild(command[0] ?? process.execPath, command.slice(1), { env, cwd: options.cwd, detached: options.newSession === true, stdoutEncoding: 'utf8' });
  return { process: watched.process, output: watched.exited, stdout: watched.stdout, waitForStdout: watched.waitForStdout };
}

export function runWrapper(args: readonly string[], options: WrapperOptions = {}): Promise<WrapperRun> {
  return startWrapper(args, options).output;
}

/** The --summary-json document, as the tests read it. */
export interface SummaryJson {
  readonly agent: string;
  readonly exit_code: number;
  readonly signal: string | null;
  readonly destinations: readonly {
    readonly kind: string;
    readonly target: string;
    readonly decision: string;
    readonly count: number;
    readonly allowed: number;
    readonly blocked: number;
    readonly reason: string | null;
    readonly bytes_up: number;
    readonly bytes_down: number;
  }[];
  /** Clients refused before any decision (an origin-form request, a connection limit). */
  readonly refused: readonly { readonly code: string; readonly reason: string; readonly count: number }[];
}

export async function readSummary(file: string): Promise<SummaryJson> {
  return JSON.parse(await readFile(file, 'utf8')) as SummaryJson;
}
