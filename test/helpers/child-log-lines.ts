import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export type LogLine = Record<string, unknown>;

/** The JSON log lines of a child proxy (its stdout), parsed as they come, and its stderr. */
export interface ChildLogLines {
  readonly lines: LogLine[];
  readonly stderr: () => string;
  /** The first line matching `predicate`; rejects at the timeout or when the child exits first. */
  readonly waitFor: (predicate: (line: LogLine) => boolean, timeoutMs?: number) => Promise<LogLine>;
  /** Resolves when the child has exited, with its code (null after a signal). */
  readonly exited: Promise<number | null>;
}

export function followChildLogLines(child: ChildProcess, defaultTimeoutMs: number): ChildLogLines {
  if (child.stdout === null || child.stderr === null) throw new Error('the child needs piped stdout and stderr');
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on('line', (text) => {
    try {
      lines.push(JSON.parse(text) as LogLine);
    } catch {
      return;
    }
    for (const wake of waiters) wake();
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => {
    done(code);
  }));

  function waitFor(predicate: (line: LogLine) => boolean, timeoutMs = defaultTimeoutMs): Promise<LogLine> {
    const found = lines.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((done, fail) => {
      const settle = (outcome: () => void): void => {
        clearTimeout(timer);
        waiters.delete(check);
        outcome();
      };
      const timer = setTimeout(() => {
        settle(() => {
          fail(new Error(`no matching log line within ${timeoutMs}ms; stderr: ${stderr.slice(0, 500)}; last lines: ${JSON.stringify(lines.slice(-5))}`));
        });
      }, timeoutMs);
      const check = (): void => {
        const line = lines.find(predicate);
        if (line !== undefined) settle(() => {
          done(line);
        });
      };
      waiters.add(check);
      void exited.then(() => {
        if (waiters.has(check)) settle(() => {
          fail(new Error(`proxy exited (${child.exitCode ?? child.signalCode ?? '?'}); stderr: ${stderr.slice(0, 500)}`));
        });
      });
    });
  }

  return { lines, stderr: () => stderr, waitFor, exited };
}
