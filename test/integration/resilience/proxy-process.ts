/** `kaizen-proxy serve` (the built dist/cli.js) as a child process: its port, its log, its RSS, kill -9. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { followChildLogLines } from '../../helpers/child-log-lines.js';

export const CLI = resolve('dist/cli.js');

export interface ProxyProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** The admin listener's port, or null when admin is off. */
  readonly adminPort: number | null;
  readonly lines: Record<string, unknown>[];
  /** Resident set size of the proxy process in bytes (Linux /proc). */
  rss(): number;
  waitFor(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGTERM and wait (graceful); SIGKILL after 15s. */
  stop(): Promise<void>;
  /** kill -9, and wait for the exit. */
  kill9(): Promise<void>;
}

export interface SpawnOptions {
  /** The YAML configuration, written to a temp file. */
  readonly yaml: string;
  readonly env?: Record<string, string>;
  /** Raise the descriptor limit of the child (prlimit; at most the hard limit). */
  readonly nofile?: number;
}

export async function spawnProxy(options: SpawnOptions): Promise<ProxyProcess> {
  const file = join(tmpdir(), `kzp-${process.pid}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, options.yaml);
  const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tmpdir(), ...options.env };
  const args = [CLI, 'serve', '--config', file];
  const child =
    options.nofile === undefined
      ? spawn(process.execPath, args, { env, cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('prlimit', [`--nofile=${options.nofile}:${options.nofile}`, '--', process.execPath, ...args], { env, cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
  const { lines, waitFor, exited } = followChildLogLines(child, 20_000);

  const listening = await waitFor((line) => line['msg'] === 'listening');
  const port = Number(String(listening['proxy']).split(':').pop());
  const admin = listening['admin'];
  const pid = child.pid ?? 0;
  return {
    child,
    port,
    adminPort: typeof admin === 'string' ? Number(admin.split(':').pop()) : null,
    lines,
    waitFor,
    rss() {
      // Under prlimit the proxy is prlimit's exec'd image: the same pid.
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
      return Number(kb ?? 0) * 1024;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
    async kill9() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
