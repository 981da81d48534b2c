import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { makeFifo } from '../../helpers/fifo.js';

// The log destination (src/observe/stdout-destination.ts, built into dist/ by npm test) in a child
// process whose standard output is a real pipe that this test leaves unread until the child has
// written everything: the pipe fills, the child's non-blocking stdout answers EAGAIN, and every line
// must still arrive, in order, whether the child waits for flush() or exits at once. Two kinds of
// pipe: the socket pair node:child_process makes (written from the thread pool), and a FIFO, which
// the destination reopens non-blocking and writes from the main thread (nonblocking-pipe.ts).

type PipeKind = 'socketpair' | 'fifo';

const DEST = pathToFileURL(join(process.cwd(), 'dist', 'observe', 'stdout-destination.js')).href;

interface Run {
  readonly lines: string[];
  readonly stderr: string;
  readonly code: number | null;
}

/** Runs `body` in a child (with `dest` and `line(i)` in scope); reads its stdout only after it printed "written" on stderr. */
async function runChild(kind: PipeKind, body: string): Promise<Run> {
  const script = `
    const { createStdoutDestination } = await import(${JSON.stringify(DEST)});
    void process.stdout; // node:net wraps the pipe: fd 1 is non-blocking from here on
    const line = (i) => JSON.stringify({ level: 'info', seq: i, pad: 'x'.repeat(80) }) + '\\n';
    ${body}
  `;
  const fifo = kind === 'fifo' ? makeFifo() : null;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', fifo?.writeFd ?? 'pipe', 'pipe'] });
  if (fifo !== null) closeSync(fifo.writeFd);
  const stdout = fifo?.reader ?? child.stdout;
  const errors = child.stderr;
  if (stdout === null || errors === null) throw new Error('no pipes');
  let stderr = '';
  errors.setEncoding('utf8');
  const written = new Promise<void>((resolve) => {
    errors.on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.includes('written')) resolve();
    });
  });
  stdout.pause();
  const exited = once(child, 'exit');
  await Promise.race([written, exited]);
  const chunks: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  stdout.resume();
  await Promise.all([exited, once(stdout, 'end')]);
  fifo?.remove();
  const [code] = (await exited) as [number | null];
  return { lines: Buffer.concat(chunks).toString('utf8').split('\n').filter((l) => l.length > 0), stderr, code };
}

function seqs(lines: readonly string[]): number[] {
  return lines.map((l) => (JSON.parse(l) as { seq?: number }).seq).filter((s): s is number => typeof s === 'number');
}

describe.each(['socketpair', 'fifo'] as const)('stdout destination, stdout a %s', (kind) => {
  it('delivers 20,000 lines in order through a full non-blocking pipe, then calls back', async () => {
    const run = await runChild(kind, `
      const dest = createStdoutDestination(1);
      for (let i = 0; i < 20000; i++) dest.write(line(i));
      process.stderr.write('written\\n');
      dest.flush((error) => { process.stderr.write(error ? 'flush failed' : 'flushed'); process.exitCode = 0; });
    `);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('flushed');
    expect(seqs(run.lines)).toEqual(Array.from({ length: 20000 }, (_, i) => i));
  });

  it('writes what it holds at exit, waiting out a full pipe', async () => {
    const run = await runChild(kind, `
      const dest = createStdoutDestination(1);
      for (let i = 0; i < 20000; i++) dest.write(line(i));
      process.stderr.write('written\\n');
      process.exit(0);
    `);
    expect(run.code).toBe(0);
    const got = seqs(run.lines);
    // The batch in flight at exit may land after the ones written synchronously; none is lost or doubled.
    expect(got).toHaveLength(20000);
    expect([...got].sort((a, b) => a - b)).toEqual(Array.from({ length: 20000 }, (_, i) => i));
  });

  it('at exit, first finishes the batch that a full pipe turned back, from where it stopped', async () => {
    // 100 ms after the lines: the pipe took the first batches and a write of the next one met
    // EAGAIN and waits for its retry. That batch lived only in the retry's closure, and was lost.
    const run = await runChild(kind, `
      const dest = createStdoutDestination(1);
      for (let i = 0; i < 20000; i++) dest.write(line(i));
      setTimeout(() => {
        process.stderr.write('written\\n');
        process.exit(0);
      }, 100);
    `);
    expect(run.code).toBe(0);
    expect(seqs(run.lines)).toEqual(Array.from({ length: 20000 }, (_, i) => i));
  });

  it('drops lines past its bound while nobody reads, counts them, and keeps the rest in order', async () => {
    const run = await runChild(kind, `
      const dest = createStdoutDestination(1, { minWriteChars: 4096, maxPendingChars: 200000 });
      let i = 0;
      // Keep writing until the pipe is full and the bound is reached (a line is refused).
      while (dest.write(line(i))) i++;
      for (let k = 1; k <= 99; k++) dest.write(line(i + k));
      process.stderr.write('written\\n');
      dest.flush(() => { process.exitCode = 0; });
    `);
    expect(run.code).toBe(0);
    const got = seqs(run.lines);
    const dropped = run.lines.map((l) => JSON.parse(l) as { code?: string; dropped?: number }).find((l) => l.code === 'KZP_ERR_LOG_DROPPED');
    // The refused line and the 99 after it (the loop is synchronous: nothing drains meanwhile).
    expect(dropped?.dropped).toBe(100);
    // Everything accepted arrived, in order; the dropped lines are the newest.
    expect(got.length).toBeGreaterThan(1000);
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i));
  });
});
