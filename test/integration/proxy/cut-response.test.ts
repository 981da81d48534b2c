import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClosedEvent } from '../../../src/contract/observer.js';
import { headOrigin, type HeadOrigin } from '../../helpers/head-origin.js';
import { startProxy, type LogLine, type StartedProxy } from '../../helpers/start-proxy.js';

// A destination that fails once its answer has begun (src/proxy/upstream-dispatch.ts): the client
// must not take it for a success, and neither must the `closed` line nor the observers. While not
// a byte of the answer has reached the client, it still gets a 502 with the code instead of nothing.

const run = promisify(execFile);

/** curl's exit code, status and X-Kaizen-Error, without throwing on failure. */
async function curl(args: readonly string[]): Promise<{ code: number; status: string; error: string }> {
  const argv = ['-sS', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code} %header{x-kaizen-error}', ...args];
  try {
    const { stdout } = await run('curl', argv);
    return { code: 0, ...written(stdout) };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string };
    return { code: failed.code ?? -1, ...written(failed.stdout ?? '') };
  }
}

function written(stdout: string): { status: string; error: string } {
  const [status = '', error = ''] = stdout.split(' ');
  return { status, error };
}

const HALF_BODY = 'x'.repeat(50);

let origin: HeadOrigin;
let proxy: StartedProxy;
const closedEvents: ClosedEvent[] = [];

beforeAll(async () => {
  origin = await headOrigin((socket, head) => {
    const path = head.split(' ')[1] ?? '';
    const promised = `HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n${HALF_BODY}`;
    if (path === '/short') socket.end(promised);
    else if (path === '/stall') socket.write(promised);
    else if (path === '/huge-chunk') socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n');
    else if (path === '/negative-chunk') socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n');
    // Two good chunks, then a bad size, all in the head's write (and so, here, its read).
    else if (path === '/later-bad-chunk') socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n1\r\nb\r\nZZ\r\n');
  });
  // The idle timeout is what cuts the stalled body.
  proxy = await startProxy({
    network: { idleTimeoutMs: 1_000 },
    observer: {
      closed: (event) => {
        closedEvents.push(event);
      },
    },
  });
});

afterAll(async () => {
  await Promise.all([proxy.close(), origin.close()]);
});

/** The first `closed` line logged after the first `from` lines (one request at a time here). */
function closedAfter(from: number): Promise<LogLine> {
  return proxy.logs.waitFor((line) => line.msg === 'closed' && proxy.logs.lines.indexOf(line) >= from);
}

// GET is the fast lane's; a POST with a body is node:http's.
const paths = [
  { lane: 'fast lane', extra: [] as string[] },
  { lane: 'node:http', extra: ['--data', 'x'] },
];

describe.each(paths)('a destination failing mid-answer ($lane)', ({ extra }) => {
  const url = (path: string): string => `http://127.0.0.1:${String(origin.port)}${path}`;

  it.each([
    { path: '/short', code: 'KZP_ERR_UPSTREAM_PROTOCOL', what: 'closes after 50 of its 100 bytes' },
    { path: '/stall', code: 'KZP_ERR_UPSTREAM_TIMEOUT', what: 'stalls after 50 of its 100 bytes' },
  ])('$path: the client reads a cut response and the closed line says $code ($what)', async ({ path, code }) => {
    closedEvents.length = 0;
    const from = proxy.logs.lines.length;
    const got = await curl(['-x', proxy.url, ...extra, url(path)]);
    // curl: (56) Recv failure: Connection reset by peer, after the head and 50 bytes (cut-response.ts resets the client).
    expect(got).toMatchObject({ code: 56, status: '200' });
    const line = await closedAfter(from);
    expect(line).toMatchObject({ kind: 'http', status: 200, bytes_down: 50, code });
    await expect.poll(() => closedEvents.find((e) => e.action.metadata['path'] === path)).toMatchObject({ status: 200, bytesDown: 50, error: code });
  });

  it.each(['/huge-chunk', '/negative-chunk', '/later-bad-chunk'])('%s: a bad chunk size in the head\'s read, before any byte reached the client, is a 502 KZP_ERR_UPSTREAM_PROTOCOL', async (path) => {
    closedEvents.length = 0;
    const from = proxy.logs.lines.length;
    const got = await curl(['-x', proxy.url, ...extra, url(path)]);
    expect(got).toEqual({ code: 0, status: '502', error: 'KZP_ERR_UPSTREAM_PROTOCOL' });
    const line = await closedAfter(from);
    expect(line).toMatchObject({ kind: 'http', status: 502, bytes_down: 0, code: 'KZP_ERR_UPSTREAM_PROTOCOL' });
    await expect.poll(() => closedEvents.find((e) => e.action.metadata['path'] === path)).toMatchObject({ status: 502, error: 'KZP_ERR_UPSTREAM_PROTOCOL' });
  });
});
