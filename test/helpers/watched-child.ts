import { spawn } from 'node:child_process';

export interface WatchedExit {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A client process (curl, python3) whose output the test follows while it runs. */
export interface WatchedChild {
  /** Resolves once stdout contains `text`; rejects when the child exits first. */
  waitForStdout(text: string): Promise<void>;
  /** Resolves when the child has exited and its output is all in. */
  readonly exited: Promise<WatchedExit>;
}

export function watchChild(command: string, args: readonly string[]): WatchedChild {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { readonly text: string; readonly resolve: () => void }[] = [];
  child.stdout.setEncoding('latin1').on('data', (chunk: string) => {
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
    child.once('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
  return {
    exited,
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
