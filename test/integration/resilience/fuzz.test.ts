import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Resolution } from '../../../src/contract/decision.js';
import { createFakeDecider, type FakeDecider } from '../../helpers/fake-decider.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { startProxy, type StartedProxy } from '../../helpers/start-proxy.js';
import { chunkedBody, connectAuthority, headers, requestLine, type FuzzCase } from './fuzz-arbitraries.js';
import { viaProxy } from './resilience-support.js';

const SEED = 20_251_128;
const RUNS = 1_000;
const CASE_TIMEOUT_MS = 10_000;

let proxy: StartedProxy;
let origin: Origin;
let decider: FakeDecider;
let nextId = 0;
const FAILED: Resolution = { ok: false, code: 'KZP_ERR_DNS', message: 'fuzz: only the origin resolves' };

beforeAll(async () => {
  origin = await startOrigin();
  decider = createFakeDecider();
  // Nothing but the origin ever resolves: no fuzzed name reaches DNS or any other local port.
  proxy = await startProxy({
    decider,
    limits: { headerTimeoutMs: 2_000 },
    resolve: (target) => Promise.resolve(target.host === '127.0.0.1' && target.port === origin.port ? { ok: true, addresses: ['127.0.0.1'] } : FAILED),
  });
});

afterAll(async () => {
  await proxy.close();
  await origin.close();
});

/** Sends the bytes, half-closes, and returns everything the proxy wrote until it closed. */
function exchange(bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(proxy.port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', () => undefined);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${CASE_TIMEOUT_MS}ms for ${JSON.stringify(bytes.slice(0, 200))}; got ${JSON.stringify(answer.slice(0, 100))}`));
    }, CASE_TIMEOUT_MS);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.once('connect', () => socket.end(Buffer.from(bytes, 'latin1')));
  });
}

const statusOf = (answer: string): number => (answer.startsWith('HTTP/1.1 ') ? Number(answer.slice(9, 12)) : 0);

/** The property shared by the HTTP cases: a malformed request is answered 4xx or closed, and never reaches the origin. */
async function check(fuzz: FuzzCase): Promise<void> {
  const id = `c${++nextId}`;
  const answer = await exchange(fuzz.text.replaceAll('{id}', id));
  const status = statusOf(answer);
  const forwarded = origin.requests.some((seen) => seen.url.includes(`/fz/${id}`));
  if (!fuzz.valid) {
    expect({ forwarded, status: status === 0 || (status >= 400 && status < 500) ? 'refused' : status, text: fuzz.text }).toEqual({ forwarded: false, status: 'refused', text: fuzz.text });
  }
  expect(answer === '' || /^HTTP\/1\.1 \d{3} /.test(answer)).toBe(true);
}

/** A well-behaved client, served all along. */
function steadyClient(): { stop(): Promise<number[]> } {
  let running = true;
  const keepGoing = (): boolean => running;
  const statuses: number[] = [];
  const loop = (async () => {
    while (keepGoing()) {
      statuses.push((await viaProxy(proxy.port, `${origin.url}/steady/${statuses.length}`)).status);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return statuses;
    },
  };
}

describe('fuzz (raw bytes, fixed seed)', () => {
  it(`request lines, headers, chunked bodies and CONNECT authorities: ${4 * RUNS} cases, 4xx or close, nothing malformed forwarded, a well-behaved client served throughout`, async () => {
    const steady = steadyClient();
    await fc.assert(fc.asyncProperty(requestLine(origin.url), check), { seed: SEED, numRuns: RUNS });
    await fc.assert(fc.asyncProperty(headers(origin.url), check), { seed: SEED + 1, numRuns: RUNS });
    await fc.assert(fc.asyncProperty(chunkedBody(origin.url), check), { seed: SEED + 2, numRuns: RUNS });

    const good = `127.0.0.1:${origin.port}`;
    await fc.assert(
      fc.asyncProperty(connectAuthority(good), async (authority) => {
        const callsBefore = decider.calls.length;
        const answer = await exchange(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
        const status = statusOf(answer);
        // 400 (malformed), 502 (nothing but the origin resolves) or closed; 200 only for a tunnel to the origin.
        expect([0, 200, 400, 502]).toContain(status);
        const tunnels = decider.calls.slice(callsBefore).filter((call) => call.action.kind === 'connect').map((call) => call.action.target);
        if (status === 200) expect(tunnels).toContain(good);
        if (status === 400) expect(tunnels).toEqual([]);
      }),
      { seed: SEED + 3, numRuns: RUNS },
    );

    const statuses = await steady.stop();
    expect(statuses.length).toBeGreaterThan(10);
    expect(new Set(statuses)).toEqual(new Set([200]));
    expect(proxy.logs.lines.filter((line) => line['level'] === 'error' || line['level'] === 'fatal')).toEqual([]);
  }, 300_000);
});
