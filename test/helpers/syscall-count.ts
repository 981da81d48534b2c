import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** `strace -c` attached to a running process: the system calls it makes until stop(). */
export interface SyscallCount {
  /** Detaches and resolves with the number of calls of each traced system call (0 for those never made). */
  stop(): Promise<Record<string, number>>;
}

/**
 * Attaches `strace -c -f` (every thread) to `pid`, counting `syscalls`; resolves once strace says it
 * is attached, so what the test does next is counted.
 */
export async function countSyscalls(pid: number, syscalls: readonly string[]): Promise<SyscallCount> {
  const dir = mkdtempSync(join(tmpdir(), 'kzp-strace-'));
  const file = join(dir, 'summary');
  const strace = spawn('strace', ['-c', '-f', '-e', `trace=${syscalls.join(',')}`, '-o', file, '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve, reject) => {
    strace.once('error', reject);
    strace.once('close', () => {
      resolve();
    });
  });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    strace.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (/Process \d+ attached/.test(stderr)) resolve();
    });
    exited.then(() => {
      reject(new Error(`strace exited before attaching: ${stderr}`));
    }, reject);
  });
  return {
    async stop() {
      strace.kill('SIGINT');
      await exited;
      const summary = readFileSync(file, 'utf8');
      rmSync(dir, { recursive: true, force: true });
      const counts: Record<string, number> = {};
      for (const name of syscalls) {
        // A row: % time, seconds, usecs/call, calls, [errors,] syscall.
        const row = new RegExp(`^\\s*[\\d.]+\\s+[\\d.]+\\s+\\d+\\s+(\\d+)\\s+(?:\\d+\\s+)?${name}$`, 'm').exec(summary);
        counts[name] = Number(row?.[1] ?? 0);
      }
      return counts;
    },
  };
}
