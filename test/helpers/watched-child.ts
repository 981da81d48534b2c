import { spawn, type ChildProcess } from 'node:child_process';

export interface WatchedExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A process (curl, python3, the CLI) whose output the test follows while it runs. */
export interface WatchedChild {
  readonly process: ChildProcess;
  /** Resolves once stdout contains `text`; rejects when the child exits first. */
  readonly waitForStdout: (text: string) => Promise<void>;
  /** The child's stdout so far. */
  readonly stdout: () => string;
  /** Resolves when the child has exited and its output is all in. */
  readonly exited: Promise<WatchedExit>;
}

export interface WatchOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string | undefined;
  /** In a session of its own (no terminal's foreground group). */
  readonly detached?: boolean;
  /** stdout as bytes (latin1, the default: a client's download) or as text (utf8). */
  readonly stdoutEncoding?: 'latin1' | 'utf8';
}

export function watchChild(command: string, args: readonly string[], options: WatchOptions = {}): WatchedChild {
  const child = spawn(command, args, { env: options.env, cwd: options.cwd, detached: options.detached === true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { readonly text: string; readonly resolve: () => void }[] = [];
  child.stdout.setEncoding(options.stdoutEncoding ?? 'latin1').on('data', (chunk: string) => {
    stdout += chunk;
    for (const waiter of waiters.filter((w) => stdout.includes(w.text))) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<WatchedExit>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    process: child,
    exited,
    stdout: () => stdout,
    waitForStdout: (text) =>
      stdout.includes(text)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            waiters.push({ text, resolve });
            exited.then(() => {
              reject(new Error(`${command} exited before printing ${JSON.stringify(text)}; stdout: ${stdout}; stderr: ${stderr}`));
            }, reject);
          }),
  };
}
