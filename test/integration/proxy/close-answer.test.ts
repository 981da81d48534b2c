import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Decision, SettledDecisionRequest } from '../../../src/contract/decision.js';
import { createFakeDecider } from '../../helpers/fake-decider.js';
import { startHoldingOrigin, type HoldingOrigin } from '../../helpers/holding-origin.js';
import { startOrigin, type Origin } from '../../helpers/origins.js';
import { RawClient } from '../../helpers/raw-client.js';
import { startProxy, type LogLine, type StartedProxy } from '../../helpers/start-proxy.js';

// A refusal on node:http's path keeps the connection when no request body is arriving, as the
// fast lane does; and an answer that does close it (RFC 9112 §9.6) is the last one processed on
// it: requests pipelined behind it are never decided nor sent, and one already sent is abandoned.

/** An IP literal: its address is known at once, so a verdict given by decideNow comes synchronously. */
const SYNC_BLOCKED = '127.0.0.2';
const fake = createFakeDecider();
const decidedAtOnce: string[] = [];
/** SYNC_BLOCKED is blocked at once (as a cached verdict or the address guard is), inside node:http's 'request'. */
const decider = {
  ...fake,
  decideNow: (request: SettledDecisionRequest): Decision | undefined => {
    if (!request.action.target.startsWith(`${SYNC_BLOCKED}:`)) return undefined;
    decidedAtOnce.push(request.action.metadata['path'] ?? '');
    return { decision: 'block', enforce: 'refuse', reason: 'blocked at once', evidence: [], source: 'local', verdictId: null, flagged: false, wouldBlock: false };
  },
};

let origin: Origin;
let holding: HoldingOrigin;
let proxy: StartedProxy;

beforeAll(async () => {
  [origin, holding] = await Promise.all([startOrigin(), startHoldingOrigin()]);
  proxy = await startProxy({ decider });
});

afterAll(async () => {
  await Promise.all([proxy.close(), origin.close(), holding.close()]);
});

function get(url: string): string {
  return `GET ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\n\r\n`;
}

/** A POST with a body: never the fast lane's, so it hands the connection to node:http. */
function post(url: string): string {
  return `POST ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\nContent-Length: 5\r\n\r\nhello`;
}

/** A chunked POST: its size unknown until it ends, a refusal of it closes the connection. */
function chunkedPost(url: string): string {
  return `POST ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`;
}

const blockedUrl = (path: string): string => `http://${SYNC_BLOCKED}:${String(origin.port)}${path}`;

/** Resolves after `ms`, to bound a wait that must end sooner. */
function guard(ms: number): Promise<'guard'> {
  return new Promise((resolve) => {
    setTimeout(() => {
      resolve('guard');
    }, ms).unref();
  });
}

/** The `n`th (from 0) `closed` line logged after the first `from` lines. */
async function nthClosed(proxy: StartedProxy, from: number, n: number): Promise<LogLine> {
  const closed = (): LogLine[] => proxy.logs.lines.slice(from).filter((line) => line.msg === 'closed');
  await proxy.logs.waitFor(() => closed().length > n);
  const line = closed()[n];
  if (line === undefined) throw new Error('no such closed line');
  return line;
}

function decided(path: string): boolean {
  return decidedAtOnce.includes(path) || fake.calls.some((call) => call.action.metadata['path'] === path);
}

describe("a refusal on node:http's path", () => {
  it('keeps the connection for a GET refused after a POST, as the README promises when no body is arriving', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(post(`${origin.url}/sha256`));
    expect((await client.readResponse()).status).toBe(200);
    client.write(get(blockedUrl('/blocked-get')));
    const denied = await client.readResponse();
    expect(denied.status).toBe(403);
    expect(denied.headers['connection']).toBe('keep-alive');
    client.write(get(`${origin.url}/after-blocked-get`));
    const after = await client.readResponse();
    expect(after.status).toBe(200);
    expect((JSON.parse(after.body) as { url: string }).url).toBe('/after-blocked-get');
    client.destroy();
  });

  it('answers every request pipelined around a refused GET, in order', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(post(`${origin.url}/sha256`) + get(blockedUrl('/pipelined-blocked-get')) + get(`${origin.url}/pipelined-after`));
    expect((await client.readResponse()).status).toBe(200);
    const denied = await client.readResponse();
    expect(denied.status).toBe(403);
    expect(denied.headers['connection']).toBe('keep-alive');
    const after = await client.readResponse();
    expect((JSON.parse(after.body) as { url: string }).url).toBe('/pipelined-after');
    client.destroy();
  });
});

describe('an answer that closes the connection', () => {
  it('is the last request processed: one pipelined behind it is neither decided nor sent', async () => {
    const client = await RawClient.open(proxy.port);
    client.write(chunkedPost(blockedUrl('/chunked-upload')) + get(`${origin.url}/behind-close`));
    const denied = await client.readResponse();
    expect(denied.status).toBe(403);
    expect(denied.headers['connection']).toBe('close');
    expect(await client.readToEnd()).toBe('');
    expect(decided('/chunked-upload')).toBe(true);
    expect(decided('/behind-close')).toBe(false);
    expect(origin.requests.some((request) => request.url === '/behind-close')).toBe(false);
  });

  it('abandons the requests relayed behind it, answered or not, and drops the ones held; logged with status 0', async () => {
    const drainingDecider = createFakeDecider();
    const draining = await startProxy({ decider: drainingDecider, limits: { drainTimeoutMs: 30_000 } });
    try {
      const client = await RawClient.open(draining.port);
      const url = (path: string): string => `http://127.0.0.1:${String(holding.port)}${path}`;
      // With `first`, 8 in flight (MAX_IN_FLIGHT): `held` waits in the pipeline.
      const behind = ['/held/answered', '/held/waiting', ...[1, 2, 3, 4, 5].map((n) => `/held/filler-${String(n)}`)];
      client.write(post(url('/held/first')) + behind.map((path) => get(url(path))).join('') + get(url('/held/held')));
      const [first, answered, waiting] = await Promise.all(['/held/first', ...behind].map((path) => holding.held(path)));
      if (first === undefined || answered === undefined || waiting === undefined) throw new Error('a request did not arrive');
      // `answered` is answered at once: its response waits, whole, behind the first one's.
      answered.end('answered early');
      await expect.poll(() => draining.server.originPool).toMatchObject({ active: 7, idle: 1 });
      const waitingGone = once(waiting, 'close');
      const from = draining.logs.lines.length;
      // A closing proxy says Connection: close on the first answer's head, relayed now.
      const closing = draining.close();
      first.writeHead(200, { 'Content-Length': '12' });
      first.write('first ');
      // `waiting`'s destination request is given up at once, not once the first answer is done.
      expect(await Promise.race([waitingGone.then(() => 'abandoned' as const), guard(2_000)])).toBe('abandoned');
      const abandoned = await Promise.all(behind.map((_, n) => nthClosed(draining, from, n)));
      expect(abandoned.map((line) => [line['kind'], line['status']])).toEqual(behind.map(() => ['http', 0]));
      first.end('answer');
      const answer = await client.readResponse();
      expect(answer).toMatchObject({ status: 200, body: 'first answer' });
      expect(answer.headers['connection']).toBe('close');
      // Nothing of the requests behind it reaches the client; the held one is never decided.
      expect(await client.readToEnd()).toBe('');
      await closing;
      expect(drainingDecider.calls.map((call) => call.action.metadata['path'])).not.toContain('/held/held');
    } finally {
      await draining.close();
    }
  });
});
