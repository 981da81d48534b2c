import { describe, expect, it } from 'vitest';
import { runWrapper, startWrapper } from './run-wrapper.js';

/** The wrapper runs argv as given, passes signals on, and exits as the child did. */
describe('wrap mode supervision', () => {
  it('exits 0 with the child, its stdout untouched', async () => {
    const run = await runWrapper(['--', 'node', '-e', 'process.stdout.write("only the child")']);
    expect(run).toMatchObject({ code: 0, stdout: 'only the child', stderr: '' });
  });

  it("exits with the child's own code", async () => {
    const run = await runWrapper(['--', 'node', '-e', 'process.exit(3)']);
    expect(run.code).toBe(3);
  });

  it('exits 127 with one line when the command does not exist', async () => {
    const run = await runWrapper(['--', 'kaizen-no-such-command-here', '--flag']);
    expect(run.code).toBe(127);
    expect(run.stderr).toBe('kaizen-proxy: command not found: kaizen-no-such-command-here\n');
  });

  it('exits 128+signal when the child is killed by one (143 for SIGTERM)', async () => {
    const run = await runWrapper(['--', 'node', '-e', 'process.kill(process.pid, "SIGTERM")']);
    expect(run).toMatchObject({ code: 143, signal: null });
  });

  it('passes argv verbatim: no shell, no re-splitting, no expansion', async () => {
    const tricky = ['two words', '$HOME', '*', '; echo injected', "'quoted'"];
    const run = await runWrapper(['--', 'node', '-e', 'process.stdout.write(JSON.stringify(process.argv.slice(1)))', ...tricky]);
    expect(JSON.parse(run.stdout)).toEqual(tricky);
  });

  it('forwards SIGTERM to the child and waits for its answer', async () => {
    const child = startWrapper([
      '--',
      'node',
      '-e',
      'process.on("SIGTERM", () => { process.stdout.write("child got SIGTERM\\n"); process.exit(7); }); process.stdout.write("ready\\n"); setInterval(() => {}, 1000);',
    ]);
    await child.waitForStdout('ready\n');
    child.process.kill('SIGTERM');
    const run = await child.output;
    expect(run).toMatchObject({ code: 7, stdout: 'ready\nchild got SIGTERM\n' });
  });

  it('a child that does not handle the forwarded SIGTERM makes the wrapper exit 143', async () => {
    const child = startWrapper(['--', 'node', '-e', 'process.stdout.write("ready\\n"); setInterval(() => {}, 1000);']);
    await child.waitForStdout('ready\n');
    child.process.kill('SIGTERM');
    expect((await child.output).code).toBe(143);
  });

  it('forwards SIGHUP, and SIGINT when not on a terminal', async () => {
    const script = [
      'let seen = [];',
      'for (const s of ["SIGHUP", "SIGINT"]) process.on(s, () => { seen.push(s); process.stdout.write(seen.join(",") + "\\n"); if (seen.length === 2) process.exit(0); });',
      'process.stdout.write("ready\\n"); setInterval(() => {}, 1000);',
    ].join(' ');
    const child = startWrapper(['--', 'node', '-e', script], { newSession: true });
    await child.waitForStdout('ready\n');
    child.process.kill('SIGHUP');
    await child.waitForStdout('SIGHUP\n'); // heard before the next is sent, so the two cannot merge
    child.process.kill('SIGINT');
    const run = await child.output;
    expect(run).toMatchObject({ code: 0, stdout: 'ready\nSIGHUP\nSIGHUP,SIGINT\n' });
  });

  // tini and dumb-init forward these too. Unforwarded, SIGQUIT and SIGUSR2 killed the wrapper and left
  // the command running without its proxy; SIGUSR1 opened Node's inspector in the wrapper.
  it.each(['SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const)('forwards %s, survives it and exits with the child, summary printed', async (signal) => {
    const script = [
      `process.on("${signal}", () => { process.stdout.write("child got ${signal}\\n"); process.exit(5); });`,
      'process.stdout.write("ready\\n"); setTimeout(() => process.exit(1), 10000);',
    ].join(' ');
    const child = startWrapper(['--summary', '--', 'node', '-e', script], { newSession: true });
    await child.waitForStdout('ready\n');
    child.process.kill(signal);
    const run = await child.output;
    expect(run).toMatchObject({ code: 5, signal: null, stdout: `ready\nchild got ${signal}\n` });
    expect(run.stderr).toContain('kaizen-proxy: agent node: no traffic went through the proxy');
    expect(run.stderr).not.toContain('Debugger listening');
  });

  it('a SIGTERM aimed at the wrapper alone reaches the child once', async () => {
    // The child reports 300 ms after its first SIGTERM: a duplicate would follow within milliseconds.
    const script = [
      'let count = 0;',
      'process.on("SIGTERM", () => { if (count++ === 0) setTimeout(() => { process.stdout.write("SIGTERM x" + count + "\\n"); process.exit(0); }, 300); });',
      'process.stdout.write("ready\\n"); setTimeout(() => process.exit(1), 10000);',
    ].join(' ');
    const child = startWrapper(['--', 'node', '-e', script], { newSession: true });
    await child.waitForStdout('ready\n');
    child.process.kill('SIGTERM');
    expect(await child.output).toMatchObject({ code: 0, stdout: 'ready\nSIGTERM x1\n' });
  });

  it('refuses -- without a command, and wrap flags without --', async () => {
    const empty = await runWrapper(['--']);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain('expected a command after --');
    const misplaced = await runWrapper(['--summary']);
    expect(misplaced.code).toBe(2);
    expect(misplaced.stderr).toContain('--summary applies to wrap mode only');
  });
});
