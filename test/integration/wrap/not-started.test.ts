import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWrapper } from './run-wrapper.js';

/**
 * A command that exec refuses with ENOENT although the file is there: its #! line names a program
 * that does not exist. Exit 127 as in bash, but the line on stderr must not send the operator
 * looking for a file that is right there.
 */
describe('wrap mode: a script whose interpreter is missing', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kzp-wrap-interp-'));
    await writeFile(join(dir, 'badinterp'), '#!/nonexistent/interp -x\necho never\n', { mode: 0o755 });
    // Saved with Windows line endings: the interpreter is "/bin/sh\r".
    await writeFile(join(dir, 'crlf'), '#!/bin/sh\r\necho never\r\n', { mode: 0o755 });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is reported as a bad interpreter, by path, exit 127', async () => {
    const run = await runWrapper(['--', './badinterp'], { cwd: dir });
    expect(run).toMatchObject({ code: 127, stdout: '', stderr: 'kaizen-proxy: ./badinterp: bad interpreter "/nonexistent/interp": not found\n' });
  });

  it('is reported as a bad interpreter when found through PATH, the interpreter shown as written', async () => {
    const run = await runWrapper(['--', 'crlf'], { env: { PATH: `${dir}:${process.env['PATH'] ?? ''}` } });
    expect(run).toMatchObject({ code: 127, stderr: 'kaizen-proxy: crlf: bad interpreter "/bin/sh\\r": not found\n' });
  });

  it('a program whose ELF loader is missing is not "command not found" either', async () => {
    // A copy of the real `true` whose PT_INTERP names a loader that does not exist (same length).
    const elf = await readFile('/bin/true');
    const text = elf.toString('latin1');
    const loader = /\/lib[^\0]*\/ld-[^\0]+/.exec(text)?.[0];
    expect(loader).toBeDefined();
    const missing = `${(loader ?? '').slice(0, -1)}#`;
    await writeFile(join(dir, 'noloader'), Buffer.from(text.replace(loader ?? '', missing), 'latin1'), { mode: 0o755 });
    const run = await runWrapper(['--', './noloader'], { cwd: dir });
    expect(run).toMatchObject({ code: 127, stderr: 'kaizen-proxy: cannot run ./noloader: an interpreter or loader it needs is missing\n' });
  });

  it('a command that is not there is still "command not found"', async () => {
    const run = await runWrapper(['--', './no-such-script'], { cwd: dir });
    expect(run).toMatchObject({ code: 127, stderr: 'kaizen-proxy: command not found: ./no-such-script\n' });
  });
});
