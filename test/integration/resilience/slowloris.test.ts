import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';
import { eventually, viaProxy } from './resilience-support.js';

const SLOW_CLIENTS = 1_000;
const HEADER_TIMEOUT_MS = 2_000;

let proxy: StartedProxy;
let origin: Origin;

beforeAll(async () => {
  origin = await startOrigin();
  proxy = await startProxy({ limits: { maxConnections: SLOW_CLIENTS + 100, headerTimeoutMs: HEADER_TIMEOUT_MS } });
});

afterAll(async () => {
  await proxy.close();
  await origin.close();
});

interface Trickle {
  readonly socket: Socket;
  /** Resolves when the proxy closed the connection: what it answered, and when. */
  readonly outcome: Promise<{ readonly answer: string; readonly ms: number }>;
}

/** A client that sends a request line, then one header byte every 300 ms, forever. */
function trickle(target: string): Trickle {
  const started = performance.now();
  const socket = connect(proxy.port, '127.0.0.1');
  socket.setEncoding('latin1');
  let answer = '';
  socket.on('data', (chunk: string) => (answer += chunk));
  socket.on('error', () => undefined);
  const header = 'X-Slow: ' + 'a'.repeat(10_000);
  let at = 0;
  let timer: NodeJS.Timeout | undefined;
  socket.once('connect', () => {
    socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\n`);
    timer = setInterval(() => {
      if (!socket.destroyed && socket.writable) socket.write(header[at++ % header.length] ?? 'a');
    }, 300);
  });
  const outcome = new Promise<{ answer: string; ms: number }>((resolve) => {
    socket.once('close', () => {
      clearInterval(timer);
      resolve({ answer, ms: performance.now() - started });
    });
  });
  return { socket, outcome };
}

describe('slowloris', () => {
  it(`drops ${SLOW_CLIENTS} clients trickling headers at the header timeout while others are served`, async () => {
    const slow = Array.from({ length: SLOW_CLIENTS }, () => trickle(`${origin.url}/slow`));
    const outcomes = Promise.all(slow.map((client) => client.outcome));
    let finished = false;
    void outcomes.then(() => (finished = true));
    const done = (): boolean => finished;

    const served: number[] = [];
    while (!done()) {
      const answer = await viaProxy(proxy.port, `${origin.url}/steady/${served.length}`);
      expect(answer.status).toBe(200);
      // The trickling clients never delay a well-behaved one by anything close to the header timeout.
      expect(answer.ms).toBeLessThan(HEADER_TIMEOUT_MS);
      served.push(answer.ms);
    }
    const results = await outcomes;
    expect(served.length).toBeGreaterThan(5);
    for (const { answer, ms } of results) {
      // Never served, never dropped early, and gone well before a second header timeout could pass.
      expect(answer === '' || answer.startsWith('HTTP/1.1 408 ') ? 'ok' : answer.slice(0, 200)).toBe('ok');
      expect(ms).toBeGreaterThanOrEqual(HEADER_TIMEOUT_MS - 100);
      expect(ms).toBeLessThan(HEADER_TIMEOUT_MS + 8_000);
    }
    expect(results.filter((result) => result.answer.startsWith('HTTP/1.1 408 '))).not.toHaveLength(0);
    expect(origin.requests.filter((seen) => seen.url === '/slow')).toHaveLength(0);
    await eventually(() => proxy.server.activeConnections === 0, 10_000, 'every connection closed');
  }, 60_000);
});
