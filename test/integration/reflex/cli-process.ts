/** Runs the built CLI (dist/cli.js) as a real process, outside the repository so no default config is picked up. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { followChildLogLines } from '../../helpers/child-log-lines.js';

export const CLI = resolve('dist/cli.js');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Only what the CLI needs: no KAIZEN_* variable leaks in from the test runner. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tmpdir(), ...extra };
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'kzp-reflex-'));
}

export function writeFile(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** `launch` as startServe's. */
export function runCli(
  args: readonly string[],
  env: NodeJS.ProcessEnv = cleanEnv(),
  cwd = tmpdir(),
  launch: (argv: readonly string[]) => readonly string[] = (argv) => argv,
): Promise<CliResult> {
  const [command = process.execPath, ...rest] = launch([process.execPath, CLI, ...args]);
  return new Promise((done) => {
    execFile(command, rest, { env, cwd, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      done({ code, stdout, stderr });
    });
  });
}

/** A running `kaizen-proxy serve`, its JSON log lines parsed as they come. */
export interface ServeProcess {
  readonly child: ChildProcess;
  readonly port: number;
  readonly lines: Record<string, unknown>[];
  waitFor(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  stop(): Promise<number | null>;
}

/** The serve process's exit code once it has exited (null: ended by a signal), without signalling it. */
export function exitOf(proxy: ServeProcess): Promise<number | null> {
  const child = proxy.child;
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', resolve));
}

/**
 * `launch` turns the proxy's argv into the one spawned (e.g. under a resolv.conf of the test's own,
 * see test/helpers/system-resolver.ts); the argv itself by default.
 */
export async function startServe(
  args: readonly string[],
  env: NodeJS.ProcessEnv = cleanEnv(),
  cwd = tmpdir(),
  launch: (argv: readonly string[]) => readonly string[] = (argv) => argv,
): Promise<ServeProcess> {
  const [command = process.execPath, ...rest] = launch([process.execPath, CLI, 'serve', ...args]);
  const child = spawn(command, rest, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const { lines, waitFor, exited } = followChildLogLines(child, 10_000);

  const listening = await waitFor((line) => line['msg'] === 'listening');
  const port = Number(String(listening['proxy']).split(':').pop());
  return {
    child,
    port,
    lines,
    waitFor,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

/**
 * `serve` with limits.drain_timeout set (and `limits` lines of `extraLimits`, e.g. `header_timeout: 2s`),
 * no admin port, and the loopback origins opened to the address guard: for drains on SIGTERM.
 */
export function serveWithDrain(drainTimeout: string, extraLimits = ''): Promise<ServeProcess> {
  const limits = extraLimits === '' ? `drain_timeout: ${drainTimeout}` : `drain_timeout: ${drainTimeout}, ${extraLimits}`;
  const config = writeFile(tempDir(), 'drain.yaml', `limits: { ${limits} }\n`);
  return startServe(['--config', config, '--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '127.0.0.0/8']);
}

/** How a `kaizen-proxy serve` that may refuse to start ended: its exit code and stderr, or that it listened. */
export interface ServeStart {
  readonly listened: boolean;
  readonly code: number | null;
  readonly stderr: string;
}

/**
 * Runs `kaizen-proxy serve` until it exits or logs `listening` (then it is stopped with SIGTERM):
 * a configuration it should refuse shows as `listened: true` instead of hanging the test.
 */
export async function serveUntilListening(args: readonly string[], env: NodeJS.ProcessEnv = cleanEnv(), cwd = tmpdir()): Promise<ServeStart> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const { waitFor, exited, stderr } = followChildLogLines(child, 15_000);
  const listened = await waitFor((line) => line['msg'] === 'listening').then(() => true, () => false);
  if (listened) child.kill('SIGTERM');
  const code = await exited;
  return { listened, code, stderr: stderr() };
}
