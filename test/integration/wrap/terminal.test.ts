import { execFileSync, spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI } from './run-wrapper.js';

/** `script` gives the wrapper a real terminal (util-linux; skipped where it is missing). */
const hasScript = ((): boolean => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

interface TerminalRun {
  readonly code: number | null;
  /** Everything the terminal showed (stdout and stderr together, \r\n line ends). */
  readonly screen: string;
}

/** Runs the wrapper on a pseudo-terminal; `typeWhenReady` is typed into it once `ready` is shown. */
function onTerminal(childScript: string, typeWhenReady?: string): Promise<TerminalRun> {
  const command = `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} -- node -e ${JSON.stringify(childScript)}`;
  const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let screen = '';
  let typed = false;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    screen += chunk;
    if (typeWhenReady !== undefined && !typed && screen.includes('ready')) {
      typed = true;
      child.stdin.write(typeWhenReady);
    }
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code, screen });
    });
  });
}

describe('wrap mode on a terminal', () => {
  // util-linux's script(1) gives the wrapper a real terminal; .ci/run installs util-linux.
  it('has script(1) to make a terminal', () => {
    expect(hasScript).toBe(true);
  });

  it('prints the summary without --summary when stderr is a terminal', async () => {
    const run = await onTerminal('process.stdout.write("done\\n")');
    expect(run.code).toBe(0);
    expect(run.screen).toContain('done\r\nkaizen-proxy: agent node: no traffic went through the proxy');
  });

  it('Ctrl-C reaches the child through the terminal; the wrapper survives it and exits with the child', async () => {
    const script = [
      'process.on("SIGINT", () => { process.stdout.write("child got SIGINT\\n"); setTimeout(() => process.exit(9), 200); });',
      'process.stdout.write("ready\\n"); setInterval(() => {}, 1000);',
    ].join(' ');
    const run = await onTerminal(script, '\x03');
    expect(run.screen).toContain('child got SIGINT');
    expect(run.code).toBe(9);
  });
});
