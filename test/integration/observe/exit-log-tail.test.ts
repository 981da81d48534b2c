import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync } from 'node:fs';
import { request, Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { makeFifo, type Fifo } from '../../helpers/fifo.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';

// `kaizen-proxy serve` (dist/cli.js) with its stdout a real pipe that this test stops reading while
// the proxy logs some 1.4 MB, several times what the pipe holds, so a batch write is stuck in it
// when SIGTERM comes. Two kinds of pipe: the socket pair node:child_process makes, and a FIFO
// (mkfifo), which is what Docker and containerd give a container.

const CLI = resolve('dist/cli.js');
const REQUESTS = 3_000;
/** How long the reader of stdout stays away after SIGTERM: well past the drain of an idle proxy. */
const READER_AWAY_MS = 500;

let origin: Origin | null = null;
let child: ChildProcess | null = null;
let fifo: Fifo | null = null;

afterEach(async () => {
  child?.kill('SIGKILL');
  child = null;
  fifo?.remove();
  fifo = null;
  await origin?.close();
  origin = null;
});

/** Resolves with the proxy's port once its "listening" line came, keeping every byte read so far. */
function listeningPort(stdout: Readable, chunks: Buffer[]): Promise<number> {
  return new Promise((done, fail) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      text += chunk.toString('utf8');
      const line = text.split('\n').find((l) => l.includes('"msg":"listening"'));
      const port = line === undefined ? undefined : /"proxy":"127\.0\.0\.1:(\d+)"/.exec(line)?.[1];
      if (port === undefined) return;
      stdout.pause(); // nobody reads stdout from here on
      stdout.off('data', onData);
      stdout.off('end', onEnd);
      done(Number(port));
    };
    const onEnd = (): void => {
      fail(new Error(`the proxy ended before listening: ${text}`));
    };
    stdout.on('data', onData);
    stdout.once('end', onEnd);
  });
}

function get(port: number, agent: Agent, url: string): Promise<number> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port, path: url, agent, headers: { host: new URL(url).host } }, (res) => {
      res.resume();
      res.once('end', () => {
        done(res.statusCode ?? 0);
      });
    });
    req.once('error', fail);
    req.end();
  });
}

interface Served {
  readonly proxy: ChildProcess;
  /** The read end of the proxy's stdout, paused since "listening". */
  readonly stdout: Readable;
  readonly exited: Promise<[number | null, NodeJS.Signals | null]>;
  readonly stderr: () => string;
}

/**
 * `serve` with stdout a socket pair or a FIFO, after REQUESTS requests through it; `chunks` holds
 * what was read. `readerGone`: the reader closes its end once "listening" came, before the requests.
 */
async function servedAndLogged(kind: 'socketpair' | 'fifo', chunks: Buffer[], readerGone = false): Promise<Served> {
  const target = await startOrigin();
  origin = target;
  const made = kind === 'fifo' ? makeFifo() : null;
  fifo = made;
  const stdio = made === null ? 'pipe' : made.writeFd;
  const proxy = spawn(process.execPath, [CLI, 'serve', '--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '127.0.0.0/8'], {
    cwd: tmpdir(),
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tmpdir() },
    stdio: ['ignore', stdio, 'pipe'],
  });
  child = proxy;
  if (typeof stdio === 'number') closeSync(stdio);
  const stdout = made?.reader ?? proxy.stdout;
  if (stdout === null || proxy.stderr === null) throw new Error('no pipes');
  let stderr = '';
  proxy.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(proxy, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const port = await listeningPort(stdout, chunks);
  if (readerGone) stdout.destroy();

  // With stdout unread, its pipe fills and the proxy's log writes wait in it.
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const url = `http://127.0.0.1:${String(target.port)}/log-tail/${'p'.repeat(200)}`;
  let next = 0;
  const statuses: number[] = [];
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (next < REQUESTS) {
      next++;
      statuses.push(await get(port, agent, url));
    }
  }));
  agent.destroy();
  expect(statuses.filter((s) => s === 200)).toHaveLength(REQUESTS);
  return { proxy, stdout, exited, stderr: () => stderr };
}

describe('the log at exit', () => {
  for (const kind of ['socketpair', 'fifo'] as const) {
    it(`writes every line whole to a slow reader of stdout (a ${kind}) before the process exits`, async () => {
      const chunks: Buffer[] = [];
      const { proxy, stdout, exited, stderr } = await servedAndLogged(kind, chunks);
      proxy.kill('SIGTERM');
      await delay(READER_AWAY_MS); // a slow reader, not a wait for readiness: the proxy is never told
      stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
      stdout.resume();
      const [[code]] = await Promise.all([exited, once(stdout, 'end')]);

      expect(stderr()).toBe('');
      expect(code).toBe(0);
      const text = Buffer.concat(chunks).toString('utf8');
      expect(text.endsWith('\n')).toBe(true);
      const lines = text.split('\n').slice(0, -1).map((line) => JSON.parse(line) as { msg?: string; kind?: string });
      expect(lines.filter((l) => l.msg === 'decision' && l.kind === 'http')).toHaveLength(REQUESTS);
      expect(lines.filter((l) => l.msg === 'closed' && l.kind === 'http')).toHaveLength(REQUESTS);
      expect(lines.at(-1)?.msg).toBe('stopped');
    });
  }

  it('exits 0 on SIGTERM when its stdout FIFO is never read again', async () => {
    const chunks: Buffer[] = [];
    const { proxy, stdout, exited, stderr } = await servedAndLogged('fifo', chunks);
    proxy.kill('SIGTERM');
    // A blocking write of a batch into the full FIFO held a thread-pool thread, and Node joins the
    // pool on exit: the process drained, then hung until SIGKILL.
    const [code, signal] = await exited;
    expect({ code, signal, stderr: stderr() }).toEqual({ code: 0, signal: null, stderr: '' });
    // What the FIFO holds is whole lines in order, bar a batch the full pipe cut at its end.
    stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    stdout.resume();
    await once(stdout, 'end');
    const lines = Buffer.concat(chunks).toString('utf8').split('\n').slice(0, -1);
    expect(lines.length).toBeGreaterThan(100);
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
  }, 40_000);

  it('keeps serving when the reader of its stdout FIFO goes away, and exits 0', async () => {
    // Every log write now fails with EPIPE (SIGPIPE is ignored): the lines are dropped, nothing else.
    const { proxy, exited, stderr } = await servedAndLogged('fifo', [], true);
    proxy.kill('SIGTERM');
    const [code, signal] = await exited;
    expect({ code, signal, stderr: stderr() }).toEqual({ code: 0, signal: null, stderr: '' });
  });
});
