import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUpstreamConnector } from '../../../src/app/upstream-setup.js';
import { parseUpstreamProxyUrl } from '../../../src/net/upstream-proxy.js';
import { createLogger } from '../../../src/observe/logger.js';
import { CapturedLogs, startProxy, type StartedProxy } from '../../helpers/start-proxy.js';
import { headOrigin, type HeadOrigin } from '../../helpers/head-origin.js';
import { RawClient } from '../../helpers/raw-client.js';

// RFC 9110 §6.6.1: a recipient with a clock adds `Date` to a response it forwards without one;
// one the destination sent is relayed as it is, alone.

const ORIGIN_DATE = 'Sun, 06 Nov 1994 08:49:37 GMT';
const IMF_FIXDATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/;

let origin: HeadOrigin;
let direct: StartedProxy;
let chained: StartedProxy;
/** The request target of each head the origin read. */
const targets: string[] = [];

beforeAll(async () => {
  // Answers `/dated` with a Date of its own, anything else without one. It also serves as the
  // upstream proxy of `chained` (its request targets are then absolute: matched by their end).
  origin = await headOrigin((socket, head) => {
    const target = head.split(' ')[1] ?? '';
    targets.push(target);
    const date = target.endsWith('/dated') ? `Date: ${ORIGIN_DATE}\r\n` : '';
    socket.write(`HTTP/1.1 200 OK\r\n${date}Content-Length: 2\r\n\r\nok`);
  });
  direct = await startProxy();
  const via = parseUpstreamProxyUrl(`http://127.0.0.1:${String(origin.port)}`);
  if (typeof via === 'string') throw new Error(via);
  const upstreamProxy = { source: 'config' as const, https: via, http: via, noProxy: [], ignored: [] };
  chained = await startProxy({ connector: createUpstreamConnector({ upstreamProxy }, createLogger({ level: 'info', destination: new CapturedLogs() })) });
});

afterAll(async () => {
  await Promise.all([direct.close(), chained.close(), origin.close()]);
});

/** The answer's head lines for one request (GET: the fast lane; POST with a body: node:http). */
async function answer(proxy: StartedProxy, method: 'GET' | 'POST', path: string): Promise<{ status: number; dates: string[] }> {
  const client = await RawClient.open(proxy.port);
  const url = `http://127.0.0.1:${String(origin.port)}${path}`;
  client.write(method === 'GET' ? `GET ${url} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n` : `POST ${url} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\n\r\nx`);
  const response = await client.readResponse();
  client.destroy();
  const dates = response.head
    .split('\r\n')
    .filter((line) => line.toLowerCase().startsWith('date:'))
    .map((line) => line.slice(5).trim());
  return { status: response.status, dates };
}

describe.each([
  { route: 'the fast lane', method: 'GET' as const, proxy: (): StartedProxy => direct, sent: '/' },
  { route: 'node:http', method: 'POST' as const, proxy: (): StartedProxy => direct, sent: '/' },
  { route: 'an upstream proxy', method: 'GET' as const, proxy: (): StartedProxy => chained, sent: 'http://' },
])('the Date of a relayed response ($route)', ({ method, proxy, sent }) => {
  it('is added, the current time, when the destination sent none', async () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const got = await answer(proxy(), method, '/undated');
    expect(got.status).toBe(200);
    // Origin-form straight to the destination, absolute-form to an upstream proxy.
    expect(targets.at(-1)?.startsWith(sent)).toBe(true);
    expect(got.dates).toHaveLength(1);
    const [date = ''] = got.dates;
    expect(date).toMatch(IMF_FIXDATE);
    expect(Date.parse(date)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(date)).toBeLessThanOrEqual(Date.now());
  });

  it("is the destination's own, alone, when it sent one", async () => {
    const got = await answer(proxy(), method, '/dated');
    expect(got).toEqual({ status: 200, dates: [ORIGIN_DATE] });
  });
});
