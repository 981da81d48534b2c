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

interface TerminalOptions {
  /** Typed into the terminal once the child shows `ready`. */
  readonly typeWhenReady?: string;
  /** Called with the screen so far once the child shows its `ready` line. */
  readonly whenReady?: (screen: string) => void;
  /** Shell words before the wrapper (`setsid -w`) and after its command (`< /dev/null`). */
  readonly before?: string;
  readonly after?: string;
  /** Shell words between `--` and the child (`setsid`: the child leaves the wrapper's process group). */
  readonly through?: string;
}

/** Runs the wrapper on a pseudo-terminal (in its foreground process group unless `before` moves it). */
function onTerminal(childScript: string, options: TerminalOptions = {}): Promise<TerminalRun> {
  const wrapper = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} -- ${options.through ?? ''} node -e ${JSON.stringify(childScript)}`;
  const command = `exec ${options.before ?? ''} ${wrapper} ${options.after ?? ''}`;
  const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let screen = '';
  let ready = false;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    screen += chunk;
    if (!ready && /ready[^\n]*\n/.test(screen)) {
      ready = true;
      if (options.typeWhenReady !== undefined) child.stdin.write(options.typeWhenReady);
      options.whenReady?.(screen);
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
    const run = await onTerminal(script, { typeWhenReady: '\x03' });
    expect(run.screen).toContain('child got SIGINT');
    expect(run.code).toBe(9);
  });

  /**
   * The child counts the signals that reach it and reports 300 ms after the first: a forwarded
   * duplicate follows the terminal's own within a few milliseconds of the same keystroke. Its ready
   * line names its parent, the wrapper (no shell between them). It gives up after 10 s.
   */
  const countSignals = (signal: NodeJS.Signals): string =>
    [
      'let count = 0;',
      `process.on("${signal}", () => { if (count++ === 0) setTimeout(() => { process.stdout.write("${signal} x" + count + "\\n"); process.exit(9); }, 300); });`,
      `process.stdout.write("ready " + process.ppid + "\\n"); setTimeout(() => { process.stdout.write("no ${signal}\\n"); process.exit(1); }, 10000);`,
    ].join(' ');
  const COUNT_SIGINTS = countSignals('SIGINT');

  it('Ctrl-C reaches the child once when stdin is redirected (the wrapper is still in the foreground)', async () => {
    const run = await onTerminal(COUNT_SIGINTS, { typeWhenReady: '\x03', after: '< /dev/null' });
    expect(run.screen).toContain('SIGINT x1\r\n');
    expect(run.code).toBe(9);
  });

  it('forwards SIGINT when the terminal is stdin but the wrapper is in no terminal foreground (setsid)', async () => {
    const run = await onTerminal(COUNT_SIGINTS, {
      before: 'setsid -w',
      whenReady: (screen) => {
        const wrapper = /ready (\d+)/.exec(screen)?.[1];
        if (wrapper !== undefined) process.kill(Number(wrapper), 'SIGINT');
      },
    });
    expect(run.screen).toContain('SIGINT x1\r\n');
    expect(run.code).toBe(9);
  });

  it('Ctrl-\\ reaches the child once through the terminal; the wrapper survives it and exits with the child', async () => {
    const run = await onTerminal(countSignals('SIGQUIT'), { typeWhenReady: '\x1c' });
    expect(run.screen).toContain('SIGQUIT x1\r\n');
    expect(run.code).toBe(9);
  });

  // setsid, GNU timeout and some supervisors move the command out of the wrapper's process group:
  // the terminal's Ctrl-C then reaches the wrapper alone, which must pass it on.
  it("Ctrl-C reaches a child that left the wrapper's process group, once", async () => {
    const run = await onTerminal(COUNT_SIGINTS, { typeWhenReady: '\x03', through: 'setsid' });
    expect(run.screen).toContain('SIGINT x1\r\n');
    expect(run.code).toBe(9);
  });
});
