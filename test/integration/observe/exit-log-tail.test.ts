import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { request, Agent } from 'node:http';
import { tmpdir } from 'node:os';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { startOrigin, type Origin } from '../../helpers/origins.js';

// `kaizen-proxy serve` (dist/cli.js) with its stdout a real pipe that this test stops reading while
// the proxy logs some 1.4 MB, several times what the pipe holds, so a batch write is stuck in it
// when SIGTERM comes. The reader comes back only after the proxy has finished its drain: every
// line must still arrive whole, the shutdown lines last. (It exited 50 ms after the drain, and the
// batch in flight was cut.)

const CLI = resolve('dist/cli.js');
const REQUESTS = 3_000;
/** How long the reader of stdout stays away after SIGTERM: well past the drain of an idle proxy. */
const READER_AWAY_MS = 500;

let origin: Origin | null = null;
let child: ChildProcessByStdio<null, Readable, Readable> | null = null;

afterEach(async () => {
  child?.kill('SIGKILL');
  child = null;
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

describe('the log at exit', () => {
  it('writes every line whole to a slow reader of stdout before the process exits', async () => {
    origin = await startOrigin();
    const started = spawn(process.execPath, [CLI, 'serve', '--listen', '127.0.0.1:0', '--admin', 'off', '--allow-private', '127.0.0.0/8'], {
      cwd: tmpdir(),
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: tmpdir() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    let stderr = '';
    started.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(started, 'exit');
    const chunks: Buffer[] = [];
    const port = await listeningPort(started.stdout, chunks);

    // With stdout unread, its pipe fills and the proxy's log writes wait in it.
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const url = `http://127.0.0.1:${String(origin.port)}/log-tail/${'p'.repeat(200)}`;
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

    started.kill('SIGTERM');
    await delay(READER_AWAY_MS); // a slow reader, not a wait for readiness: the proxy is never told
    started.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    started.stdout.resume();
    const [[code]] = await Promise.all([exited, once(started.stdout, 'end')]) as [[number | null], unknown];

    expect(stderr).toBe('');
    expect(code).toBe(0);
    const text = Buffer.concat(chunks).toString('utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text.split('\n').slice(0, -1).map((line) => JSON.parse(line) as { msg?: string; kind?: string });
    expect(lines.filter((l) => l.msg === 'decision' && l.kind === 'http')).toHaveLength(REQUESTS);
    expect(lines.filter((l) => l.msg === 'closed' && l.kind === 'http')).toHaveLength(REQUESTS);
    expect(lines.at(-1)?.msg).toBe('stopped');
  });
});
